import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type EmbeddedServer } from '../../src/server/index.js';
import { runSweep, type SweepResult } from '../../src/bench/index.js';

// The server runs 2 operations at once, 20 ms each: at most 100 ops/s whatever the pool.
let server: EmbeddedServer;
let sweep: SweepResult;
before(async () => {
  server = await startServer({ port: 0, latencyMS: 20, maxConcurrentOps: 2 });
  sweep = await runSweep({
    uri: server.uri,
    configs: [{ maxPoolSize: 1 }, { maxPoolSize: 2 }, { maxPoolSize: 6 }],
    workload: 'findOne',
    load: { mode: 'closed', concurrency: 6 },
    durationMS: 600,
    warmupMS: 200,
    documents: 50,
  });
});
after(async () => {
  await server?.stop();
});

test('throughput is bounded by the server capacity, not the pool', () => {
  const [one, two, six] = sweep.runs.map((r) => r.result.throughput);
  assert.ok(one <= 50 * 1.05, `pool 1: ${one} ops/s > 1 / 20 ms`);
  assert.ok(two <= 100 * 1.05 && six <= 100 * 1.05, `pools 2 and 6: ${two}, ${six} ops/s > 2 / 20 ms`);
  assert.ok(two > one * 1.5, `a second connection uses the second slot: ${one} → ${two} ops/s`);
});

test('a pool bigger than the server capacity moves the queue into the server', () => {
  const [, two, six] = sweep.runs;
  // Pool of 2: six workers queue in the pool for one of two connections.
  assert.ok(two.poolWait.p50 >= 15, `pool 2 wait p50 ${two.poolWait.p50} ms`);
  // Pool of 6: no pool wait, yet latency is no better: they now queue at the server.
  assert.ok(six.poolWait.p50 <= 1, `pool 6 wait p50 ${six.poolWait.p50} ms`);
  // Six operations on two 20 ms slots: each waits for about two others at the server.
  assert.ok(six.result.latency.p50 >= 40, `pool 6 latency p50 ${six.result.latency.p50} ms`);
});
