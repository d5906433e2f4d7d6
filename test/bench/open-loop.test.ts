import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { MongoClient, type Collection, type Document } from 'mongodb';
import { startServer, type EmbeddedServer, type FailCommandSpec } from '../../src/server/index.js';
import { createWorkload, runClosedLoop, runOpenLoop, type Operation } from '../../src/bench/index.js';

let server: EmbeddedServer;
before(async () => {
  server = await startServer({ port: 0 });
});
after(async () => {
  server?.failCommand({ mode: 'off' });
  await server?.stop();
});

async function findOneOperation(client: MongoClient, name: string): Promise<{ operation: Operation; collection: Collection<Document> }> {
  const collection = client.db('bench_open').collection(name);
  const workload = createWorkload('findOne', { documents: 100, seed: 5 });
  await workload.setup(collection);
  return { operation: workload.bind(collection), collection };
}

test('open loop holds its target rate', async () => {
  const client = new MongoClient(server.uri, { maxPoolSize: 10 });
  try {
    const { operation } = await findOneOperation(client, 'rate');
    const result = await runOpenLoop({ operation, rate: 100, durationMS: 3000 });
    assert.equal(result.mode, 'open');
    assert.equal(result.targetRate, 100);
    assert.equal(result.ops, 300, '100 ops/s for 3 s');
    assert.equal(result.dropped, 0);
    assert.equal(result.errors, 0);
    // With an absolute schedule only the last start's lateness lowers it: a few % on a busy machine.
    assert.ok(Math.abs(result.achievedRate - 100) / 100 < 0.05, `achieved ${result.achievedRate} ops/s`);
    // Throughput is the system's answer, not the generator's: it cannot exceed the offered rate.
    assert.ok(result.throughput > 0 && result.throughput <= 100 * 1.01, `throughput ${result.throughput} ops/s`);
    assert.ok(result.durationMS >= 2990, `ran ${result.durationMS} ms`);
  } finally {
    await client.close();
  }
});

test('latency counts from the intended start: a stalled generator is not forgiven', async () => {
  const client = new MongoClient(server.uri, { maxPoolSize: 2 });
  try {
    const { operation } = await findOneOperation(client, 'freeze');
    // The load generator's own event loop freezes for 500 ms (as in a long GC pause): the ~20
    // operations due meanwhile start late, all at once. From their actual start they look fast.
    const blocker = setTimeout(() => {
      const until = performance.now() + 500;
      while (performance.now() < until);
    }, 400);
    const result = await runOpenLoop({ operation, rate: 40, durationMS: 1500 }).finally(() => clearTimeout(blocker));
    assert.equal(result.ops, 60);
    assert.ok(result.schedulingLag!.max >= 450, `scheduling lag ${result.schedulingLag!.max} ms`);
    // A third of the operations were due during the freeze: the top 10% waited ≥ 350 ms of it.
    assert.ok(result.latency.p90 >= 300, `corrected p90 ${result.latency.p90} ms`);
    assert.ok(result.latency.max >= 450, `corrected max ${result.latency.max} ms`);
    // Corrected = uncorrected + start lag, operation by operation, so the means differ by the mean lag
    // (to the histograms' 0.1% precision), and the lag here is the freeze.
    const lag = result.schedulingLag!;
    const uncorrected = result.uncorrectedLatency!;
    assert.ok(lag.mean >= 60, `mean start lag ${lag.mean} ms`);
    assert.ok(Math.abs(result.latency.mean - uncorrected.mean - lag.mean) < 2, `${result.latency.mean} − ${uncorrected.mean} ≠ ${lag.mean}`);
    assert.ok(uncorrected.p90 < result.latency.p90, `uncorrected p90 ${uncorrected.p90} ms vs corrected ${result.latency.p90} ms`);
  } finally {
    await client.close();
  }
});

test('a server stall shows in the open-loop p99 but not in a closed loop (coordinated omission)', async () => {
  const client = new MongoClient(server.uri, { maxPoolSize: 1 });
  try {
    const { operation } = await findOneOperation(client, 'block');
    const stall: FailCommandSpec = { mode: { times: 1 }, data: { failCommands: ['find'], blockConnection: true, blockTimeMS: 400 } };

    // Closed loop, one worker (the seed's sequential timing): during the stall it sends nothing,
    // so the 400 ms shows up in exactly one sample of 250.
    server.failCommand(stall);
    const closed = await runClosedLoop({ operation, concurrency: 1, operations: 250 });
    assert.ok(closed.latency.max >= 390, `closed max ${closed.latency.max} ms`);

    // Open loop at 100 ops/s: the ~40 operations due during the stall queue for the one
    // connection, and their latency, from when they were due, carries the stall.
    server.failCommand(stall);
    const open = await runOpenLoop({ operation, rate: 100, durationMS: 1500 });
    assert.equal(open.ops, 150);
    assert.equal(open.errors, 0);
    assert.ok(open.latency.max >= 390, `open max ${open.latency.max} ms`);
    assert.ok(open.latency.p99 >= 300, `open p99 ${open.latency.p99} ms must include the stall`);
    assert.ok(open.latency.p90 >= 100, `open p90 ${open.latency.p90} ms`);
    assert.ok(closed.latency.p99 < open.latency.p99 / 2, `closed p99 ${closed.latency.p99} ms hides the stall (open ${open.latency.p99} ms)`);
  } finally {
    server.failCommand({ mode: 'off' });
    await client.close();
  }
});

test('operations over maxOutstanding are dropped and counted', async () => {
  const client = new MongoClient(server.uri, { maxPoolSize: 1 });
  try {
    const { operation } = await findOneOperation(client, 'drops');
    server.failCommand({ mode: { times: 1 }, data: { failCommands: ['find'], blockConnection: true, blockTimeMS: 300 } });
    const result = await runOpenLoop({ operation, rate: 100, durationMS: 1000, maxOutstanding: 5 });
    const scheduled = 100;
    assert.equal(result.maxOutstanding, 5);
    // While the one connection is blocked 300 ms, ~30 operations fall due; only 5 may be in flight.
    assert.ok(result.dropped! >= 20, `dropped ${result.dropped}`);
    assert.equal(result.ops + result.dropped!, scheduled, 'every scheduled operation either ran or was dropped');
    assert.ok(result.achievedRate <= 100 * (result.ops / scheduled) * 1.02, `achievedRate ${result.achievedRate} counts drops`);
  } finally {
    server.failCommand({ mode: 'off' });
    await client.close();
  }
});

test('an aborted run stops scheduling and reports what ran', async () => {
  const client = new MongoClient(server.uri, { maxPoolSize: 4 });
  try {
    const { operation } = await findOneOperation(client, 'abort');
    const controller = new AbortController();
    let completed = 0;
    const result = await runOpenLoop({
      operation: async (i) => {
        await operation(i);
        if (++completed === 20) controller.abort();
      },
      rate: 100,
      durationMS: 10_000,
      signal: controller.signal,
    });
    assert.ok(result.ops >= 20 && result.ops < 200, `${result.ops} of 1000 scheduled ops ran`);
    assert.ok(result.durationMS < 3000, `ran ${result.durationMS} ms of 10 s`);
    assert.ok(result.achievedRate > 50, 'the rate is over the time actually scheduled, not the 10 s asked for');
  } finally {
    await client.close();
  }
});
