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
    let held: Promise<unknown> | undefined;
    try {
      await Promise.all(Array.from({ length: 100 }, () => client.db('app').command({ ping: 1 })));
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
        assert.ok(value.buckets.boundaries.includes(0.001), 'bucket advice applied');
      }
      const duration = metric(all, 'db.client.operation.duration');
      const pings = point(duration, { 'db.operation.name': 'ping', 'db.system.name': 'mongodb' }).value;
      assert.equal(pings.count, snap.commands!.ping.count);

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
      await held?.catch(() => {});
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
