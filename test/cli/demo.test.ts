import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers/cli.js';
import { startServer } from '../../src/server/index.js';

test('poolkit demo walks every seed section on the embedded server, exit 0, under a minute', async () => {
  const { code, stdout, stderr } = await runCli(['demo', '--json'], { timeoutMS: 90_000 });
  assert.equal(code, 0, stderr);
  const r = JSON.parse(stdout);
  assert.equal(r.configuration.options.maxPoolSize, 50);
  assert.equal(r.poolStatistics.queries, 25);
  const pool = Object.values(r.poolStatistics.client.servers)[0] as { total: number };
  // Server-side connections = the pool + the driver's monitoring connection(s) (+ none else: one client).
  const monitoring = r.poolStatistics.server.current - pool.total;
  assert.ok(monitoring >= 1 && monitoring <= 2, `server current ${r.poolStatistics.server.current} vs pool ${pool.total}`);
  assert.equal(r.healthCheck.ok, true);
  assert.ok(r.healthCheck.latencyMS > 0);
  assert.ok(r.reconnection.attempts >= 2, 'the server was down for the first attempt');
  assert.equal(r.reconnection.healthyAfter, true);
  assert.deepEqual(r.poolSizeComparison.map((c: { label: string }) => c.label), ['5/1', '20/5', '50/10']);
  for (const c of r.poolSizeComparison) assert.ok(c.throughput > 0);
  assert.equal(r.poolSizeAdvice.seedFormula, 10);
  assert.ok(r.poolSizeAdvice.seedExample.maxPoolSize >= 20, 'Little: 200/s × 100 ms = 20 busy');
  assert.ok(r.poolSizeAdvice.advice.maxPoolSize >= 1 && r.poolSizeAdvice.advice.maxPoolSize <= 8, 'capped by the embedded server capacity');
  assert.equal(r.retry.recovered, true);
  assert.equal(r.retry.duplicateKeyAttempts, 1);
  assert.equal(r.bestPractices.ok, true);
  assert.equal(r.shutdown.completed, 20);
  assert.equal(r.shutdown.interrupted, 0);
  assert.ok(r.elapsedS < 60, `took ${r.elapsedS} s`);
});

test('poolkit demo --uri skips the steps that need test commands on a server without them', async () => {
  const server = await startServer({ testCommands: false });
  try {
    const { code, stdout, stderr } = await runCli(['demo', '--uri', server.uri, '--json'], { timeoutMS: 90_000 });
    assert.equal(code, 0, stderr);
    const r = JSON.parse(stdout);
    assert.match(r.reconnection.skipped, /embedded server/);
    assert.match(r.retry.skipped, /test commands/);
    assert.equal(r.shutdown.interrupted, 0);
    assert.equal(r.healthCheck.ok, true);
  } finally {
    await server.stop();
  }
});
