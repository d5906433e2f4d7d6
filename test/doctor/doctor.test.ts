import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { runDoctor, checkConfiguration } from '../../src/doctor/index.js';
import { useServer } from '../helpers/server.js';
import { runCli } from '../helpers/cli.js';

describe('doctor: configuration checks (no network)', () => {
  test('the seed preset passes the pool checks it was written for and flags what it misses', () => {
    const { checks } = checkConfiguration('mongodb://localhost:27017/', { preset: 'seed' });
    const byId = Object.fromEntries(checks.map((c) => [c.id, c]));
    assert.equal(byId['max-pool-size'].status, 'pass');
    assert.equal(byId['min-pool-size'].status, 'pass');
    assert.equal(byId['wait-queue-timeout'].status, 'pass');
    assert.equal(byId.retries.status, 'pass');
    assert.equal(byId['idle-time'].status, 'pass', 'seed maxIdleTimeMS 30000 is below network idle cut-offs');
    assert.equal(byId['app-name'].status, 'warn');
  });

  test('unbounded pools, disabled retries and endless waits are flagged with a fix', () => {
    const { checks } = checkConfiguration('mongodb://localhost/?retryWrites=false', { maxPoolSize: 0 });
    const byId = Object.fromEntries(checks.map((c) => [c.id, c]));
    assert.equal(byId['max-pool-size'].status, 'fail');
    assert.match(byId['max-pool-size'].fix ?? '', /advise/);
    assert.equal(byId.retries.status, 'warn');
    assert.match(byId.retries.reason, /retryWrites/);
    assert.equal(byId['wait-queue-timeout'].status, 'warn');
  });

  test('an invalid option is a single fail naming the option', () => {
    const { checks } = checkConfiguration('mongodb://localhost/', { maxPoolSiz: 10 });
    assert.equal(checks.length, 1);
    assert.equal(checks[0].status, 'fail');
    assert.match(checks[0].reason, /maxPoolSiz/);
  });
});

describe('doctor: live deployment', () => {
  const server = useServer();

  test('reports reachability, latency, version, standalone topology and headroom from the server', async () => {
    const report = await runDoctor(server().uri, { options: { maxPoolSize: 20, appName: 'svc' }, pings: 3 });
    const byId = Object.fromEntries(report.checks.map((c) => [c.id, c]));
    assert.equal(byId.reachable.status, 'pass');
    assert.equal(typeof byId.latency.data?.pingMedianMS, 'number');
    assert.match(byId.version.reason, /server 7\.0\.0/);
    assert.equal(byId.topology.status, 'warn');
    assert.equal(byId['retryable-writes'].status, 'warn');
    assert.equal(byId.headroom.status, 'pass');
    assert.equal(byId.headroom.data?.needed, 22);
    assert.equal(report.ok, true);
  });

  test('too little connection headroom for the fleet is a fail', async () => {
    const report = await runDoctor(server().uri, { options: { maxPoolSize: 600_000 }, processes: 2, pings: 1 });
    const headroom = report.checks.find((c) => c.id === 'headroom');
    assert.equal(headroom?.status, 'fail');
    assert.equal(report.ok, false);
  });

  test('an unreachable deployment fails without throwing and never shows the password', async () => {
    const report = await runDoctor('mongodb://alice:s3cret@127.0.0.1:1/', { timeoutMS: 300 });
    assert.equal(report.checks[0].id, 'reachable');
    assert.equal(report.checks[0].status, 'fail');
    assert.ok(!JSON.stringify(report).includes('s3cret'));
    assert.match(report.uri, /alice:\*\*\*\*@/);
  });

  test('invalid application options fail their check but the deployment is still checked', async () => {
    const report = await runDoctor(server().uri, { options: { maxPoolSise: 5 }, timeoutMS: 2000, pings: 2 });
    const byId = new Map(report.checks.map((c) => [c.id, c]));
    assert.equal(byId.get('options-valid')?.status, 'fail');
    assert.match(byId.get('options-valid')!.reason, /maxPoolSise.*did you mean maxPoolSize/);
    assert.equal(byId.get('reachable')?.status, 'pass');
    assert.equal(report.ok, false);
  });

  test('CLI: --json is JSON only; exit 1 on a fail, 2 on a usage error', async () => {
    const failed = await runCli(['doctor', '--uri', server().uri, '--options', '{"maxPoolSize":0}', '--json']);
    assert.equal(failed.code, 1);
    const report = JSON.parse(failed.stdout);
    assert.equal(report.ok, false);
    const usage = await runCli(['doctor', '--processes', 'many']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--processes/);
    const badJson = await runCli(['doctor', '--uri', server().uri, '--options', '{nope']);
    assert.equal(badJson.code, 2);
    assert.match(badJson.stderr, /--options: invalid JSON/);
  });
});
