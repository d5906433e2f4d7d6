import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MongoClient } from 'mongodb';
import { Registry, register as defaultRegister } from 'prom-client';
import { PoolMonitor, type PoolSnapshot } from '../../src/monitor/index.js';
import { registerPrometheus } from '../../src/exporters/prometheus.js';
import { DEFAULT_BUCKETS_SECONDS } from '../../src/exporters/buckets.js';
import { PoolConfigError, PoolMonitorError } from '../../src/errors.js';
import { startReplicaSet } from '../../src/server/index.js';
import { useServer } from '../helpers/server.js';
import { assertBucketsMatchSummary, collectWaits, exactCumulative, type Cumulative } from './histograms.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A strict parser of the Prometheus text format (0.0.4): every line must be a comment or a sample. */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (gauge|counter|histogram|summary|untyped)$/.exec(line);
    if (type) {
      types.set(type[1], type[2]);
      continue;
    }
    if (/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+$/.test(line)) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+-]+|\+Inf|NaN)$/.exec(line);
    assert.ok(sample, `unparseable line: ${line}`);
    const labels: Record<string, string> = {};
    const labelText = sample[2] ?? '';
    const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;
    let m: RegExpExecArray | null;
    let consumed = 0;
    while ((m = labelRe.exec(labelText)) !== null) {
      labels[m[1]] = m[2].replace(/\\(.)/g, '$1');
      consumed = labelRe.lastIndex;
    }
    assert.equal(consumed, labelText.length, `bad labels: ${line}`);
    const family = sample[1].replace(/_(bucket|sum|count)$/, '');
    assert.ok(types.has(sample[1]) || types.has(family), `sample before its TYPE: ${line}`);
    samples.push({ name: sample[1], labels, value: Number(sample[3]) });
  }
  return { samples, types };
}

/** The finite cumulative buckets of one histogram series (every label but `le` must match). */
function bucketsOf(samples: Sample[], metric: string, labels: Record<string, string>): Cumulative[] {
  const series = samples.filter(
    (s) => s.name === `${metric}_bucket` && s.labels.le !== '+Inf' && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  return series.map((s) => ({ le: Number(s.labels.le), count: s.value }));
}

function pick(samples: Sample[], name: string, labels: Record<string, string>): number {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  assert.equal(found.length, 1, `${name} ${JSON.stringify(labels)}: ${found.length} samples`);
  return found[0].value;
}

describe('registerPrometheus', () => {
  const srv = useServer();
  const address = () => `${srv().host}:${srv().port}`;

  test('text output parses and its values equal the snapshot, for two pools on one registry', async () => {
    const orders = new MongoClient(srv().uri, { maxPoolSize: 4, minPoolSize: 1 });
    const billing = new MongoClient(srv().uri, { maxPoolSize: 3 });
    const ordersMonitor = PoolMonitor.attach(orders, { name: 'orders', commands: true });
    const billingMonitor = PoolMonitor.attach(billing, { name: 'billing' });
    const registry = new Registry();
    const ordersWaits = collectWaits(orders); // the driver's own wait times: an oracle for the buckets
    let held: Promise<unknown> | undefined;
    try {
      await Promise.all(Array.from({ length: 200 }, () => orders.db('app').command({ ping: 1 })));
      // Spread the waits over several buckets: 12 pings on 4 connections, 8 of them held 20 ms.
      srv().failCommand({ mode: { times: 8 }, data: { failCommands: ['ping'], blockConnection: true, blockTimeMS: 20 } });
      await Promise.all(Array.from({ length: 12 }, () => orders.db('app').command({ ping: 1 })));
      await Promise.all(Array.from({ length: 50 }, () => billing.db('app').command({ ping: 1 })));
      // Registered after the traffic: values are read at scrape time, so they are all there.
      const ordersExport = registerPrometheus(ordersMonitor, { registry });
      registerPrometheus(billingMonitor, { registry });
      // Hold one orders connection during the scrape so "used" is not zero.
      srv().failCommand({ mode: { times: 1 }, data: { failCommands: ['ping'], blockConnection: true, blockTimeMS: 300 } });
      const checkedOut = new Promise((resolve) => orders.once('connectionCheckedOut', resolve));
      held = orders.db('app').command({ ping: 1 });
      await checkedOut;

      const snapshots: Record<string, PoolSnapshot> = { orders: ordersMonitor.snapshot(), billing: billingMonitor.snapshot() };
      const text = await registry.metrics(); // values are collected synchronously in this call
      const { samples, types } = parseExposition(text);
      assert.equal(types.get('db_client_connection_count'), 'gauge');
      assert.equal(types.get('db_client_connection_timeouts_total'), 'counter');
      assert.equal(types.get('db_client_connection_wait_time_seconds'), 'histogram');

      for (const [pool, snap] of Object.entries(snapshots)) {
        const s = snap.servers[address()];
        const labels = { pool_name: pool, server_address: address() };
        assert.equal(pick(samples, 'db_client_connection_count', { ...labels, state: 'idle' }), s.idle);
        assert.equal(pick(samples, 'db_client_connection_count', { ...labels, state: 'used' }), s.inUse);
        assert.equal(pick(samples, 'db_client_connection_pending_requests', labels), s.pending);
        assert.equal(pick(samples, 'db_client_connection_max', labels), s.maxPoolSize);
        assert.equal(pick(samples, 'db_client_connection_idle_min', labels), s.minPoolSize);
        assert.equal(pick(samples, 'db_client_connection_timeouts_total', labels), s.checkoutFailed.timeout);
        assert.equal(pick(samples, 'db_client_connection_created_total', labels), s.created);
        assert.equal(pick(samples, 'db_client_connection_closed_total', { ...labels, reason: 'stale' }), s.closed.stale);
        for (const [metric, summary] of [
          ['db_client_connection_wait_time_seconds', s.waitTime],
          ['db_client_connection_use_time_seconds', s.useTime],
          ['db_client_connection_create_time_seconds', s.createTime],
        ] as const) {
          const count = pick(samples, `${metric}_count`, labels);
          assert.equal(count, summary.count, metric);
          assert.equal(pick(samples, `${metric}_bucket`, { ...labels, le: '+Inf' }), summary.count);
          const sum = pick(samples, `${metric}_sum`, labels);
          assert.ok(Math.abs((sum / count) * 1000 - summary.mean) < 0.001, `${metric} mean ${summary.mean} vs ${(sum / count) * 1000}`);
          const buckets = bucketsOf(samples, metric, labels);
          assert.deepEqual(buckets.map((b) => b.le), [...DEFAULT_BUCKETS_SECONDS], `${metric}: default bounds`);
          assertBucketsMatchSummary(buckets, summary, `${pool} ${metric}`);
        }
      }
      // Wait times are the driver's whole milliseconds: below 1 s every default bound is exact
      // against the driver's own values (an HDR bucket there is narrower than 1 ms).
      const waitBuckets = bucketsOf(samples, 'db_client_connection_wait_time_seconds', { pool_name: 'orders', server_address: address() });
      const exact = exactCumulative(ordersWaits.values, DEFAULT_BUCKETS_SECONDS);
      assert.deepEqual(waitBuckets.filter((b) => b.le < 1), exact.filter((b) => b.le < 1));
      assert.ok(new Set(waitBuckets.map((b) => b.count)).size >= 3, `waits spread over buckets: ${JSON.stringify(waitBuckets)}`);
      assert.equal(snapshots.orders.servers[address()].inUse, 1);
      assert.equal(snapshots.orders.servers[address()].minPoolSize, 1);
      // Command duration only for the monitor with commands: true.
      const ping = snapshots.orders.commands!.ping;
      const pingLabels = { pool_name: 'orders', server_address: address(), db_operation_name: 'ping' };
      assert.equal(pick(samples, 'db_client_operation_duration_seconds_count', pingLabels), ping.count);
      assert.equal(pick(samples, 'db_client_operation_failures_total', pingLabels), ping.failed);
      assertBucketsMatchSummary(bucketsOf(samples, 'db_client_operation_duration_seconds', pingLabels), ping.duration, 'ping duration');
      // Every series of every family carries pool_name and server_address.
      for (const sample of samples) {
        assert.ok(sample.labels.pool_name && sample.labels.server_address, `labels of ${sample.name}: ${JSON.stringify(sample.labels)}`);
      }
      assert.equal(samples.filter((x) => x.name.startsWith('db_client_operation') && x.labels.pool_name === 'billing').length, 0);

      // Unregistering one pool keeps the other; unregistering the last empties the registry.
      ordersExport.unregister();
      const after = parseExposition(await registry.metrics()).samples;
      assert.equal(after.filter((x) => x.labels.pool_name === 'orders').length, 0);
      assert.ok(after.some((x) => x.labels.pool_name === 'billing'));
      billingMonitor.detach(); // detaching unregisters too
      assert.equal((await registry.metrics()).trim(), '');
    } finally {
      srv().failCommand({ mode: 'off' });
      ordersWaits.stop();
      await held?.catch(() => {});
      await Promise.all([orders.close(), billing.close()]);
      ordersMonitor.detach();
      billingMonitor.detach();
    }
  });

  test('prefix, default registry and option errors', async () => {
    const client = new MongoClient(srv().uri);
    const monitor = PoolMonitor.attach(client, { name: 'prefixed' });
    try {
      await client.db('app').command({ ping: 1 });
      const registration = registerPrometheus(monitor, { prefix: 'myapp_' });
      const { samples } = parseExposition(await defaultRegister.metrics());
      assert.equal(pick(samples, 'myapp_db_client_connection_count', { pool_name: 'prefixed', state: 'idle' }), 1);
      registration.unregister();
      assert.equal(defaultRegister.getSingleMetric('myapp_db_client_connection_count'), undefined);
      assert.throws(() => registerPrometheus(monitor, { prefix: 'bad prefix' }), (e: unknown) => e instanceof PoolConfigError && e.option === 'prefix');
      assert.throws(() => registerPrometheus(monitor, { buckets: [1, 0.5] }), (e: unknown) => e instanceof PoolConfigError && e.option === 'buckets');
      assert.throws(() => registerPrometheus(monitor, { registry: {} as any }), (e: unknown) => e instanceof PoolConfigError && e.option === 'registry');
    } finally {
      await client.close();
      monitor.detach();
    }
  });
});

describe('registerPrometheus: registrations', () => {
  const srv = useServer();
  const address = () => `${srv().host}:${srv().port}`;

  test('a second registration of a monitor on one registry throws; a handle only undoes its own registration', async () => {
    const client = new MongoClient(srv().uri);
    const otherClient = new MongoClient(srv().uri);
    const monitor = PoolMonitor.attach(client, { name: 'twice' });
    const other = PoolMonitor.attach(otherClient, { name: 'other' });
    const registry = new Registry();
    const les = async (prefix: string, pool: string) =>
      parseExposition(await registry.metrics())
        .samples.filter((x) => x.name === `${prefix}db_client_connection_wait_time_seconds_bucket` && x.labels.pool_name === pool)
        .map((x) => x.labels.le);
    try {
      await Promise.all([client, otherClient].map((c) => c.db('app').command({ ping: 1 })));
      const first = registerPrometheus(monitor, { registry, buckets: [0.001, 0.01] });
      for (const buckets of [[0.5], [0.001, 0.01], undefined]) {
        assert.throws(
          () => registerPrometheus(monitor, { registry, buckets }),
          (e: unknown) => e instanceof PoolMonitorError && /"twice" is already registered on this registry.*unregister\(\)/.test(e.message),
        );
      }
      assert.deepEqual(await les('', 'twice'), ['0.001', '0.01', '+Inf'], 'the first registration is untouched');
      // Another monitor cannot silently bring other buckets to the same metric family.
      assert.throws(
        () => registerPrometheus(other, { registry, buckets: [0.5] }),
        (e: unknown) => e instanceof PoolConfigError && e.option === 'buckets' && /\[0\.001, 0\.01\].*"twice"/.test(e.message),
      );
      const otherRegistration = registerPrometheus(other, { registry, buckets: [0.001, 0.01] });
      // Another prefix means other metric names: allowed, with its own buckets.
      const prefixed = registerPrometheus(monitor, { registry, prefix: 'b_', buckets: [0.5] });
      assert.deepEqual(await les('b_', 'twice'), ['0.5', '+Inf']);

      first.unregister();
      first.unregister(); // idempotent
      assert.deepEqual(await les('', 'twice'), []);
      assert.deepEqual(await les('', 'other'), ['0.001', '0.01', '+Inf'], 'the other monitor stays');
      assert.deepEqual(await les('b_', 'twice'), ['0.5', '+Inf'], 'the prefixed registration stays');
      const again = registerPrometheus(monitor, { registry, buckets: [0.001, 0.01] });
      first.unregister(); // a stale handle must not remove the new registration
      assert.deepEqual(await les('', 'twice'), ['0.001', '0.01', '+Inf']);
      const labels = { pool_name: 'twice', server_address: address() };
      assert.equal(pick(parseExposition(await registry.metrics()).samples, 'db_client_connection_count', { ...labels, state: 'idle' }), 1);

      for (const registration of [again, otherRegistration, prefixed]) registration.unregister();
      assert.equal((await registry.metrics()).trim(), '');
    } finally {
      await Promise.all([client.close(), otherClient.close()]);
      monitor.detach();
      other.detach();
    }
  });
});

test('command metrics carry server_address: one series per server a command ran on', async () => {
  const rs = await startReplicaSet({ nodes: 2 });
  const client = new MongoClient(rs.uri, { serverSelectionTimeoutMS: 5000 });
  const monitor = PoolMonitor.attach(client, { name: 'rs', commands: true });
  const byServer = new Map<string, number>(); // the driver's own command events, per server
  client.on('commandSucceeded', (e) => {
    if (e.commandName === 'ping') byServer.set(e.address, (byServer.get(e.address) ?? 0) + 1);
  });
  const registry = new Registry();
  try {
    const [primary, secondary] = rs.members.map((m) => m.core.address);
    await Promise.all(Array.from({ length: 5 }, () => client.db('app').command({ ping: 1 })));
    await Promise.all(Array.from({ length: 3 }, () => client.db('app').command({ ping: 1 }, { readPreference: 'secondary' })));
    registerPrometheus(monitor, { registry });
    const snap = monitor.snapshot();
    const { samples } = parseExposition(await registry.metrics());
    const counts = samples.filter((x) => x.name === 'db_client_operation_duration_seconds_count' && x.labels.db_operation_name === 'ping');
    assert.deepEqual(
      Object.fromEntries(counts.map((x) => [x.labels.server_address, x.value])),
      Object.fromEntries(byServer),
    );
    assert.ok(byServer.get(primary)! >= 5 && byServer.get(secondary)! >= 3, JSON.stringify([...byServer]));
    // The snapshot keeps one entry per command name (fixed shape): the sum over the servers.
    assert.equal(snap.commands!.ping.count, byServer.get(primary)! + byServer.get(secondary)!);
    const sums = samples.filter((x) => x.name === 'db_client_operation_duration_seconds_sum' && x.labels.db_operation_name === 'ping');
    const meanMS = (sums.reduce((a, x) => a + x.value, 0) / snap.commands!.ping.count) * 1000;
    assert.ok(Math.abs(meanMS - snap.commands!.ping.duration.mean) < 0.001, `${meanMS} vs ${snap.commands!.ping.duration.mean}`);
    for (const server of [primary, secondary]) {
      const labels = { pool_name: 'rs', server_address: server, db_operation_name: 'ping' };
      assert.equal(pick(samples, 'db_client_operation_failures_total', labels), 0);
      assert.equal(pick(samples, 'db_client_operation_duration_seconds_bucket', { ...labels, le: '+Inf' }), byServer.get(server));
    }
  } finally {
    await client.close();
    monitor.detach();
    await rs.stop();
  }
});
