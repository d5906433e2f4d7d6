import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MongoClient } from 'mongodb';
import { useServer } from '../helpers/server.js';
import { adviseWorkload, measureWorkload, type AdviseProgress } from '../../src/advisor/index.js';
import { meanHoldTimeError } from '../../src/advisor/capacity.js';
import { createWorkload } from '../../src/bench/index.js';
import { MeasurementError, PoolConfigError } from '../../src/errors.js';

// Every operation holds a connection for at least the 5 ms service time; no capacity limit.
const server = useServer({ latencyMS: 5 });

async function seeded(uri: string) {
  const workload = createWorkload('findOne', { documents: 100, seed: 3 });
  const client = new MongoClient(uri);
  try {
    await workload.setup(client.db('advisor_test').collection('docs'));
  } finally {
    await client.close();
  }
  return workload;
}

test('measureWorkload: arrival rate and hold time come from the pool monitor; a small pool shows up as waiting', async () => {
  const uri = server().uri;
  const workload = await seeded(uri);
  const common = { uri, workload, database: 'advisor_test', collection: 'docs', load: { mode: 'closed', concurrency: 4 } as const, durationMS: 400, warmupMS: 100 };

  const roomy = await measureWorkload({ ...common, poolSize: 4 });
  assert.equal(roomy.errors, 0);
  assert.equal(roomy.holdTimeMS.count, roomy.ops, 'one check-in per operation, none from the warm-up');
  // One check-out per findOne: the arrival rate is the operation rate.
  assert.ok(Math.abs(roomy.arrivalRate - roomy.throughput) / roomy.throughput < 0.05, `${roomy.arrivalRate} vs ${roomy.throughput}`);
  assert.ok(roomy.holdTimeMS.mean >= 5, `hold ${roomy.holdTimeMS.mean} ms covers the 5 ms service time`);
  assert.ok(roomy.holdTimeMS.mean <= roomy.latencyMS.mean + 0.5, 'a connection is held for part of the operation');
  assert.ok(roomy.holdTimeSpread >= 1);
  // The server's own time per read (serverStatus opLatencies): the service time, within the hold time.
  assert.ok(roomy.serverTimeMS !== undefined && roomy.serverTimeMS >= 5, `server time ${roomy.serverTimeMS} ms`);
  assert.ok(roomy.serverTimeMS <= roomy.holdTimeMS.mean, `server time ${roomy.serverTimeMS} ms within the hold time ${roomy.holdTimeMS.mean} ms`);
  assert.ok(roomy.waitTimeMS.p50 <= 1, `4 callers on 4 connections hardly wait (p50 ${roomy.waitTimeMS.p50} ms)`);

  assert.ok(roomy.eventLoopDelayMS.max >= roomy.eventLoopDelayMS.p99 && roomy.eventLoopDelayMS.p99 >= roomy.eventLoopDelayMS.p50);

  // An operation that blocks the event loop for 60 ms once is seen as a client stall of about that long.
  // No warm-up: the first operation starts the measured run.
  let blocked = false;
  let runStarted: number | undefined;
  const stalling = await measureWorkload({
    ...common,
    warmupMS: 0,
    poolSize: 4,
    workload: {
      ...workload,
      bind(collection) {
        const operation = workload.bind(collection);
        return async (i) => {
          runStarted ??= performance.now();
          await operation(i);
          if (!blocked && performance.now() - runStarted > 100) {
            blocked = true;
            const until = performance.now() + 60;
            while (performance.now() < until); // deliberately block the event loop
          }
        };
      },
    },
  });
  assert.ok(blocked, 'the stall happened during the run');
  assert.ok(stalling.eventLoopDelayMS.max >= 50, `longest stall seen ${stalling.eventLoopDelayMS.max} ms`);

  const tight = await measureWorkload({ ...common, poolSize: 1 });
  // 4 callers share 1 connection: each waits for about three others' hold times.
  assert.ok(tight.waitTimeMS.mean >= 2 * tight.holdTimeMS.mean, `wait ${tight.waitTimeMS.mean} vs hold ${tight.holdTimeMS.mean}`);
  assert.ok(tight.throughput < roomy.throughput * 0.6, `${tight.throughput} vs ${roomy.throughput}`);
});

test('adviseWorkload with a given capacity and no verification: an open-loop rate becomes λ, the pick follows Erlang C', async () => {
  const progress: AdviseProgress[] = [];
  const result = await adviseWorkload({
    uri: server().uri,
    load: { mode: 'open', rate: 200 },
    serverCapacity: 16,
    verify: false,
    durationMS: 600,
    warmupMS: 50,
    documents: 100,
    onProgress: (p) => progress.push(p),
  });
  assert.equal(result.capacity.source, 'given');
  assert.equal(result.capacity.serverCapacity, 16);
  assert.equal(result.measurement.poolSize, 100, 'an open loop is measured on the driver default pool');
  assert.ok(Math.abs(result.measurement.arrivalRate - 200) < 20, `arrival rate ${result.measurement.arrivalRate}`);
  // About 200/s × ~6 ms ≈ 1.2 connections busy (up to ~4 when a busy machine stretches the hold
  // time): a few connections, well below the capacity of 16, so the targets decide, not the cap.
  assert.ok(result.recommendation.offeredLoad > 0.9 && result.recommendation.offeredLoad < 8, `L = ${result.recommendation.offeredLoad}`);
  assert.equal(result.recommendation.limitedBy, 'targets');
  assert.ok(result.recommendation.maxPoolSize >= 2 && result.recommendation.maxPoolSize < 16, `pick ${result.recommendation.maxPoolSize}`);
  assert.ok(result.recommendation.maxPoolSize >= Math.ceil(result.recommendation.offeredLoad), 'at least the connections busy on average');
  assert.equal(result.verification, null);
  assert.equal(result.advice.verdict, 'unverified');
  assert.equal(result.advice.maxPoolSize, result.recommendation.maxPoolSize);
  assert.equal(progress.at(-1)?.step, 'done');
  assert.equal(progress.at(-1)?.fraction, 1);
  for (let i = 1; i < progress.length; i++) assert.ok(progress[i].fraction >= progress[i - 1].fraction, `progress went back at ${i}`);
});

test('adviseWorkload rejects bad options by name and reports a workload that only fails', async () => {
  await assert.rejects(adviseWorkload({ uri: server().uri, load: { mode: 'closed', concurrency: 0 } }), (e: unknown) => e instanceof PoolConfigError && e.option === 'load.concurrency');
  await assert.rejects(adviseWorkload({ uri: server().uri, serverCapacity: 1.5 }), (e: unknown) => e instanceof PoolConfigError && e.option === 'serverCapacity');
  await assert.rejects(adviseWorkload({ uri: server().uri, durationMS: 0 }), (e: unknown) => e instanceof PoolConfigError && e.option === 'durationMS');
  server().failCommand({ mode: 'alwaysOn', data: { failCommands: ['find'], errorCode: 2 } });
  try {
    await assert.rejects(
      adviseWorkload({ uri: server().uri, load: { mode: 'closed', concurrency: 2 }, serverCapacity: 4, durationMS: 100, warmupMS: 0, documents: 10 }),
      (e: unknown) => e instanceof MeasurementError && e.code === 'POOLKIT_ERR_MEASUREMENT' && /every operation of the findOne workload failed/.test(e.message),
    );
  } finally {
    server().failCommand({ mode: 'off' });
  }
});

test('adviseWorkload: with few, widely spread operations at one caller, the knee measures on until R_min is precise', async () => {
  // Lognormal service times (median 2 ms, p99 8 ms: σ/mean ≈ 0.65): 200 ms at one caller sees about
  // 60 operations, which leave the mean uncertain by ±8%; the step measures on (about 1 s more).
  server().loadModel.set({ latencyMS: { dist: 'lognormal', medianMS: 2, p99MS: 8 }, seed: 5 });
  try {
    const durationMS = 200;
    const progress: AdviseProgress[] = [];
    const result = await adviseWorkload({
      uri: server().uri,
      load: { mode: 'closed', concurrency: 8 },
      verify: false,
      durationMS,
      warmupMS: 50,
      documents: 100,
      onProgress: (p) => progress.push(p),
    });
    const low = result.capacity.knee!.low;
    assert.equal(low.concurrency, 1);
    // Measured for longer than durationMS, every operation counted: the step went on.
    assert.ok(low.durationMS! > 2 * durationMS, `measured ${low.durationMS} ms`);
    assert.ok(low.holdTimeCount! > 2 * (durationMS / low.holdTimeMeanMS), `${low.holdTimeCount} operations of ${low.holdTimeMeanMS} ms`);
    assert.ok(progress.some((p) => /knee: 1 caller, maxPoolSize 1, [\d.]+ s more/.test(p.detail)), 'the extension shows in the progress');
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i].fraction >= progress[i - 1].fraction, `progress went back at ${i}`);
    // Measured again after each extension until within ±3% (3 extensions or 6 s at most; a little slack for the estimate).
    const error = meanHoldTimeError(low)!;
    assert.ok(error <= 0.04, `R_min ±${(error * 100).toFixed(1)}%`);
    assert.match(result.advice.notes.join('\n'), new RegExp(`R_min [\\d.]+ ms \\(±[\\d.]+%, ${low.holdTimeCount} operations\\)`));
  } finally {
    server().loadModel.set({ latencyMS: 5 });
  }
});
