import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { MongoClient } from 'mongodb';
import { startServer, type EmbeddedServer } from '../../src/server/index.js';
import { createWorkload, LatencyRecorder, runClosedLoop, type LoadProgress } from '../../src/bench/index.js';

let server: EmbeddedServer;
before(async () => {
  server = await startServer({ port: 0 });
});
after(async () => {
  await server?.stop();
});

/** Highest number of connections checked out at once, from the pool's own events. */
function trackCheckedOut(client: MongoClient): () => number {
  let current = 0;
  let highest = 0;
  client.on('connectionCheckedOut', () => (highest = Math.max(highest, ++current)));
  client.on('connectionCheckedIn', () => current--);
  return () => highest;
}

test('closed loop runs exactly N operations with N workers in flight', async () => {
  const client = new MongoClient(server.uri, { maxPoolSize: 20 });
  const highestCheckedOut = trackCheckedOut(client);
  try {
    const collection = client.db('bench_closed').collection('insert');
    const workload = createWorkload('insert', { documents: 50, seed: 7 });
    await workload.setup(collection);
    const progress: LoadProgress[] = [];
    const result = await runClosedLoop({
      operation: workload.bind(collection),
      concurrency: 8,
      operations: 200,
      onProgress: (p) => progress.push(p),
    });
    assert.equal(result.mode, 'closed');
    assert.equal(result.ops, 200);
    assert.equal(result.errors, 0);
    assert.equal(result.concurrency, 8);
    assert.equal(await collection.countDocuments(), 50 + 200, 'every operation reached the server');
    assert.equal(highestCheckedOut(), 8, 'eight workers, eight connections busy at once');
    assert.ok(result.throughput > 0 && Math.abs(result.throughput - (200 * 1000) / result.durationMS) < 1e-6);
    assert.ok(result.latency.p50 > 0 && result.latency.p50 <= result.latency.p99 && result.latency.p99 <= result.latency.max);
    assert.ok(result.latency.mean > 0);
    assert.equal(result.latencyDistribution.at(-1)?.valueMS, result.latency.max);
    // The encoded histogram holds every successful operation, with the summary's percentiles.
    const histogram = LatencyRecorder.merge([result.latencyHistogram!]);
    assert.equal(histogram.count, 200);
    const { p50, p90, p99 } = histogram.summary();
    // (The decoded maximum is its bucket's top, not the exact value: the summary clamps to the exact one.)
    assert.deepEqual({ p50, p90, p99 }, { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99 });
    assert.equal(LatencyRecorder.merge([result.latencyHistogram!, result.latencyHistogram!]).count, 400);
    assert.equal(progress.at(-1)?.fraction, 1);
    assert.equal(progress.at(-1)?.completed, 200);
  } finally {
    await client.close();
  }
});

test('closed loop counts failed operations separately and samples their errors', async () => {
  const client = new MongoClient(server.uri, { maxPoolSize: 4, retryReads: false });
  try {
    const collection = client.db('bench_closed').collection('find');
    const workload = createWorkload('findOne', { documents: 100, seed: 1 });
    await workload.setup(collection);
    server.failCommand({ mode: { times: 5 }, data: { failCommands: ['find'], errorCode: 2 } });
    const result = await runClosedLoop({ operation: workload.bind(collection), concurrency: 4, operations: 120 });
    assert.equal(result.ops, 120);
    assert.equal(result.errors, 5);
    assert.ok(Math.abs(result.throughput - (115 * 1000) / result.durationMS) < 1e-6, 'throughput counts successes only');
    assert.equal(LatencyRecorder.merge([result.latencyHistogram!]).count, 115, 'failed operations have no latency');
    assert.equal(result.errorSamples.length, 1, 'identical errors are sampled once');
    assert.match(result.errorSamples[0], /MongoServerError/);
  } finally {
    server.failCommand({ mode: 'off' });
    await client.close();
  }
});

test('closed loop stops starting operations after durationMS', async () => {
  const client = new MongoClient(server.uri, { maxPoolSize: 4 });
  try {
    const collection = client.db('bench_closed').collection('mix');
    const workload = createWorkload('mix', { documents: 100, seed: 3 });
    await workload.setup(collection);
    const operation = workload.bind(collection);
    const starts: number[] = [];
    const begin = performance.now();
    const result = await runClosedLoop({
      operation: (i) => {
        starts.push(performance.now() - begin);
        return operation(i);
      },
      concurrency: 4,
      durationMS: 300,
    });
    assert.equal(result.ops, starts.length);
    assert.ok(result.ops >= 4, `only ${result.ops} operations`); // each worker starts at once
    // `begin` is taken just before the generator's own clock starts: allow that gap.
    assert.ok(Math.max(...starts) < 305, `an operation started at ${Math.max(...starts)} ms`);
    assert.ok(result.durationMS >= 300, `ran ${result.durationMS} ms`);
    assert.equal(result.errors, 0);
  } finally {
    await client.close();
  }
});
