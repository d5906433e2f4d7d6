import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MongoClient } from 'mongodb';
import { Registry, register as defaultRegister } from 'prom-client';
import { PoolMonitor, type PoolSnapshot } from '../../src/monitor/index.js';
import { registerPrometheus } from '../../src/exporters/prometheus.js';
import { PoolConfigError } from '../../src/errors.js';
import { useServer } from '../helpers/server.js';

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
    let held: Promise<unknown> | undefined;
    try {
      await Promise.all(Array.from({ length: 200 }, () => orders.db('app').command({ ping: 1 })));
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
          const buckets = samples.filter((x) => x.name === `${metric}_bucket` && x.labels.pool_name === pool);
          for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i].value >= buckets[i - 1].value, 'cumulative buckets');
          // The bucket that holds the median: at least half of the values are at or below p50 (±0.1 % precision).
          const atOrBelowP50 = buckets.find((b) => b.labels.le !== '+Inf' && Number(b.labels.le) * 1000 >= summary.p50 * 1.001);
          if (atOrBelowP50) assert.ok(atOrBelowP50.value >= summary.count / 2);
        }
      }
      assert.equal(snapshots.orders.servers[address()].inUse, 1);
      assert.equal(snapshots.orders.servers[address()].minPoolSize, 1);
      // Command duration only for the monitor with commands: true.
      const ping = snapshots.orders.commands!.ping;
      assert.equal(pick(samples, 'db_client_operation_duration_seconds_count', { pool_name: 'orders', db_operation_name: 'ping' }), ping.count);
      assert.equal(pick(samples, 'db_client_operation_failures_total', { pool_name: 'orders', db_operation_name: 'ping' }), ping.failed);
      assert.equal(samples.filter((x) => x.name.startsWith('db_client_operation') && x.labels.pool_name === 'billing').length, 0);

      // Unregistering one pool keeps the other; unregistering the last empties the registry.
      ordersExport.unregister();
      const after = parseExposition(await registry.metrics()).samples;
      assert.equal(after.filter((x) => x.labels.pool_name === 'orders').length, 0);
      assert.ok(after.some((x) => x.labels.pool_name === 'billing'));
      billingMonitor.detach(); // detaching unregisters too
      assert.equal((await registry.metrics()).trim(), '');
    } finally {
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
