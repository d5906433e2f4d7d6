import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MongoClient } from 'mongodb';
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import { PoolMonitor } from '../../src/monitor/index.js';
import { registerOpenTelemetry } from '../../src/exporters/otel.js';
import { PoolConfigError } from '../../src/errors.js';
import { useServer } from '../helpers/server.js';
import { assertBucketsMatchSummary, collectWaits, exactCumulative, type Cumulative } from './histograms.js';

/** OpenTelemetry explicit buckets (counts per (b[i-1], b[i]]) as cumulative counts per bound. */
function cumulative(value: { buckets: { boundaries: number[]; counts: number[] } }): Cumulative[] {
  let running = 0;
  return value.buckets.boundaries.map((le, i) => ({ le, count: (running += value.buckets.counts[i]) }));
}

function metric(all: MetricData[], name: string): MetricData {
  const found = all.filter((m) => m.descriptor.name === name);
  assert.equal(found.length, 1, `${name}: ${found.length} metrics`);
  return found[0];
}

function point(m: MetricData, attributes: Record<string, unknown>): any {
  const found = m.dataPoints.filter((p) => Object.entries(attributes).every(([k, v]) => p.attributes[k] === v));
  assert.equal(found.length, 1, `${m.descriptor.name} ${JSON.stringify(attributes)}: ${found.length} points`);
  return found[0];
}

describe('registerOpenTelemetry', () => {
  const srv = useServer();

  test('semantic-convention metrics arrive through an in-memory reader and equal the snapshot', async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    const provider = new MeterProvider({ readers: [reader] });
    const client = new MongoClient(srv().uri, { maxPoolSize: 3, minPoolSize: 0 });
    const monitor = PoolMonitor.attach(client, { name: 'otel-pool', commands: true });
    const registration = registerOpenTelemetry(monitor, { meter: provider.getMeter('poolkit-test') });
    const waits = collectWaits(client);
    let held: Promise<unknown> | undefined;
    try {
      await Promise.all(Array.from({ length: 100 }, () => client.db('app').command({ ping: 1 })));
      // Spread the waits over several buckets: 9 pings on 3 connections, 6 of them held 20 ms.
      srv().failCommand({ mode: { times: 6 }, data: { failCommands: ['ping'], blockConnection: true, blockTimeMS: 20 } });
      await Promise.all(Array.from({ length: 9 }, () => client.db('app').command({ ping: 1 })));
      // One failed command, for the failure attributes.
      srv().failCommand({ mode: { times: 1 }, data: { failCommands: ['ping'], errorCode: 2 } });
      await assert.rejects(client.db('app').command({ ping: 1 }));
      srv().failCommand({ mode: { times: 1 }, data: { failCommands: ['ping'], blockConnection: true, blockTimeMS: 300 } });
      const checkedOut = new Promise((resolve) => client.once('connectionCheckedOut', resolve));
      held = client.db('app').command({ ping: 1 });
      await checkedOut;

      const snap = monitor.snapshot();
      await reader.forceFlush();
      const all = exporter.getMetrics().at(-1)!.scopeMetrics.flatMap((s) => s.metrics);
      const s = snap.servers[`${srv().host}:${srv().port}`];
      const base = { 'db.client.connection.pool.name': 'otel-pool', 'server.address': srv().host, 'server.port': srv().port };

      const count = metric(all, 'db.client.connection.count');
      assert.equal(count.descriptor.unit, '{connection}');
      assert.equal(point(count, { ...base, 'db.client.connection.state': 'idle' }).value, s.idle);
      assert.equal(point(count, { ...base, 'db.client.connection.state': 'used' }).value, s.inUse);
      assert.equal(s.inUse, 1);
      assert.equal(point(metric(all, 'db.client.connection.pending_requests'), base).value, s.pending);
      assert.equal(point(metric(all, 'db.client.connection.max'), base).value, 3);
      assert.equal(point(metric(all, 'db.client.connection.idle.min'), base).value, 0);
      assert.equal(point(metric(all, 'db.client.connection.timeouts'), base).value, s.checkoutFailed.timeout);

      for (const [name, summary] of [
        ['db.client.connection.wait_time', s.waitTime],
        ['db.client.connection.use_time', s.useTime],
        ['db.client.connection.create_time', s.createTime],
      ] as const) {
        const m = metric(all, name);
        assert.equal(m.descriptor.unit, 's');
        assert.equal(m.dataPointType, DataPointType.HISTOGRAM);
        const value = point(m, base).value;
        assert.equal(value.count, summary.count, name);
        assert.ok(Math.abs((value.sum / value.count) * 1000 - summary.mean) < 0.01, `${name}: ${value.sum / value.count} s vs ${summary.mean} ms`);
        assert.ok(Math.abs(value.max * 1000 - summary.max) <= 0.0006, `${name}: max ${value.max} s vs ${summary.max} ms`);
        assert.ok(value.buckets.boundaries.includes(0.001), 'bucket advice applied');
        assertBucketsMatchSummary(cumulative(value), summary, name, 0.001);
      }
      // Wait times are the driver's whole milliseconds: the SDK's buckets equal an exact count of them.
      const waitValue = point(metric(all, 'db.client.connection.wait_time'), base).value;
      assert.deepEqual(cumulative(waitValue), exactCumulative(waits.values, waitValue.buckets.boundaries));
      assert.ok(new Set(cumulative(waitValue).map((b) => b.count)).size >= 3, 'waits spread over buckets');

      // db.client.operation.duration: the stable convention's attributes, no pool name by default.
      const duration = metric(all, 'db.client.operation.duration');
      const operation = { 'db.system.name': 'mongodb', 'db.operation.name': 'ping', 'db.namespace': 'app', 'server.address': srv().host, 'server.port': srv().port };
      const succeeded: any[] = duration.dataPoints.filter(
        (p) => Object.entries(operation).every(([k, v]) => p.attributes[k] === v) && p.attributes['error.type'] === undefined,
      );
      assert.equal(succeeded.length, 1);
      const failed = point(duration, { ...operation, 'db.response.status_code': '2' });
      assert.equal(typeof failed.attributes['error.type'], 'string');
      assert.equal(succeeded[0].value.count + failed.value.count, snap.commands!.ping.count);
      assert.equal(failed.value.count, snap.commands!.ping.failed);
      assert.equal(snap.commands!.ping.failed, 1);
      for (const p of duration.dataPoints) assert.equal(p.attributes['db.client.connection.pool.name'], undefined, 'not on operation metrics');
      // The snapshot's ping duration covers successes and failures: add the two series' buckets.
      const failedBuckets = cumulative(failed.value);
      const pingBuckets = cumulative(succeeded[0].value).map((b, i) => ({ le: b.le, count: b.count + failedBuckets[i].count }));
      assertBucketsMatchSummary(pingBuckets, snap.commands!.ping.duration, 'ping duration', 0.001);

      // Unregistering stops recording: later operations do not reach the histograms.
      registration.unregister();
      await held;
      held = undefined;
      await Promise.all(Array.from({ length: 10 }, () => client.db('app').command({ ping: 1 })));
      await reader.forceFlush();
      const later = exporter.getMetrics().at(-1)!.scopeMetrics.flatMap((s2) => s2.metrics);
      assert.equal(point(metric(later, 'db.client.connection.wait_time'), base).value.count, s.waitTime.count);
      assert.ok(monitor.snapshot().servers[`${srv().host}:${srv().port}`].waitTime.count > s.waitTime.count);
    } finally {
      srv().failCommand({ mode: 'off' });
      waits.stop();
      await held?.catch(() => {});
      await client.close();
      monitor.detach();
      await provider.shutdown();
    }
  });

  test('operationPoolName: true adds the pool name to db.client.operation.duration', async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    const provider = new MeterProvider({ readers: [reader] });
    const client = new MongoClient(srv().uri, { maxPoolSize: 2 });
    const monitor = PoolMonitor.attach(client, { name: 'named-ops', commands: true });
    try {
      assert.throws(
        () => registerOpenTelemetry(monitor, { meter: provider.getMeter('x'), operationPoolName: 'yes' as any }),
        (e: unknown) => e instanceof PoolConfigError && e.option === 'operationPoolName',
      );
      registerOpenTelemetry(monitor, { meter: provider.getMeter('poolkit-test'), operationPoolName: true });
      await client.db('app').command({ ping: 1 });
      await reader.forceFlush();
      const all = exporter.getMetrics().at(-1)!.scopeMetrics.flatMap((s) => s.metrics);
      const ping = point(metric(all, 'db.client.operation.duration'), { 'db.operation.name': 'ping' });
      assert.equal(ping.attributes['db.client.connection.pool.name'], 'named-ops');
      assert.equal(ping.attributes['server.port'], srv().port);
    } finally {
      await client.close();
      monitor.detach();
      await provider.shutdown();
    }
  });

  test('meter is required', () => {
    const client = new MongoClient(srv().uri);
    const monitor = PoolMonitor.attach(client);
    try {
      assert.throws(() => registerOpenTelemetry(monitor, {} as any), (e: unknown) => e instanceof PoolConfigError && e.option === 'meter');
    } finally {
      monitor.detach();
    }
  });
});
