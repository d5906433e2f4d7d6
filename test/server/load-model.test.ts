import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoadModel } from '../../src/server/faults/load-model.js';
import { CommandError } from '../../src/server/errors.js';
import { PoolConfigError } from '../../src/errors.js';

// Pure unit tests of the load model's queueing and sampling; the driver-level tests live in
// load-model.driver.test.ts.

test('never runs more than maxConcurrentOps at once and admits queued operations in arrival order', async () => {
  const model = new LoadModel({ latencyMS: 5, maxConcurrentOps: 3 });
  let inside = 0;
  let peak = 0;
  const started: number[] = [];
  const ops = Array.from({ length: 12 }, (_, i) =>
    model.run('find', async () => {
      started.push(i);
      inside++;
      peak = Math.max(peak, inside);
      await new Promise((r) => setImmediate(r));
      inside--;
      return i;
    }),
  );
  assert.equal(model.running, 3);
  assert.equal(model.queued, 9);
  const results = await Promise.all(ops);
  assert.deepEqual(results, [...Array(12).keys()]);
  assert.deepEqual(started, [...Array(12).keys()], 'FIFO admission');
  assert.equal(peak, 3);
  assert.equal(model.maxObservedRunning, 3);
  assert.equal(model.stats.maxObservedQueued, 9);
  assert.equal(model.completed, 12);
  assert.equal(model.running, 0);
  assert.equal(model.queued, 0);
});

test('holds the slot for the service time before running the operation', async () => {
  const model = new LoadModel({ latencyMS: 30, maxConcurrentOps: 1 });
  const t0 = Date.now();
  let ranAt = 0;
  await model.run('insert', () => {
    ranAt = Date.now();
  });
  assert.ok(ranAt - t0 >= 25, `ran after ${ranAt - t0} ms`);
});

test('maxTimeMS expires while queued (code 50) and the operation never runs', async () => {
  const model = new LoadModel({ latencyMS: 200, maxConcurrentOps: 1 });
  const first = model.run('find', () => 'first');
  let ran = false;
  const t0 = Date.now();
  await assert.rejects(
    model.run('find', () => (ran = true), { deadline: Date.now() + 20 }),
    (err: unknown) => err instanceof CommandError && err.code === 50 && err.codeName === 'MaxTimeMSExpired' && err.message === 'operation exceeded time limit',
  );
  assert.ok(Date.now() - t0 < 150, 'rejected at the deadline, not when the slot freed');
  assert.equal(model.queued, 0, 'removed from the queue');
  assert.equal(model.stats.timedOut, 1);
  model.set({ latencyMS: 0 });
  assert.equal(await first, 'first');
  assert.equal(ran, false);
});

test('maxTimeMS shorter than the service time expires while being served', async () => {
  const model = new LoadModel({ latencyMS: 500 });
  let ran = false;
  await assert.rejects(
    model.run('find', () => (ran = true), { deadline: Date.now() + 15 }),
    (err: unknown) => err instanceof CommandError && err.code === 50,
  );
  assert.equal(ran, false);
  assert.equal(model.running, 0, 'slot released');
});

test('an aborted signal removes a queued operation and rethrows its reason', async () => {
  const model = new LoadModel({ latencyMS: 50, maxConcurrentOps: 1 });
  const first = model.run('insert', () => 1);
  const controller = new AbortController();
  const second = model.run('insert', () => 2, { signal: controller.signal });
  const reason = CommandError.of('InterruptedDueToReplStateChange', 'operation was interrupted');
  controller.abort(reason);
  await assert.rejects(second, (err: unknown) => err === reason);
  assert.equal(model.queued, 0);
  assert.equal(await first, 1);
});

test('an operation aborted during its service time frees its slot at once, never runs, and counts as aborted', async () => {
  const model = new LoadModel({ latencyMS: 60_000, maxConcurrentOps: 1 });
  const controller = new AbortController();
  let ran = false;
  const serving = model.run('insert', () => (ran = true), { signal: controller.signal });
  const queued = model.run('insert', () => 'second', { signal: controller.signal });
  assert.deepEqual([model.running, model.queued], [1, 1]);
  const reason = CommandError.of('InterruptedAtShutdown', 'interrupted at shutdown');
  controller.abort(reason);
  await assert.rejects(serving, (err: unknown) => err === reason);
  await assert.rejects(queued, (err: unknown) => err === reason);
  assert.equal(ran, false);
  assert.deepEqual([model.running, model.queued, model.stats.aborted, model.stats.completed], [0, 0, 2, 0]);
  model.set({ latencyMS: 0 });
  assert.equal(await model.run('insert', () => 'next'), 'next', 'the slot is free');
});

test('set() raising capacity admits queued operations at once; lowering lets running ones finish', async () => {
  const model = new LoadModel({ latencyMS: 40, maxConcurrentOps: 1 });
  const ops = Array.from({ length: 4 }, (_, i) => model.run('find', () => i));
  assert.equal(model.running, 1);
  model.set({ maxConcurrentOps: 4 });
  assert.equal(model.running, 4);
  assert.equal(model.queued, 0);
  model.set({ maxConcurrentOps: 2 });
  assert.equal(model.running, 4, 'running operations are not preempted');
  const more = [model.run('find', () => 'late')];
  assert.equal(model.queued, 1);
  await Promise.all([...ops, ...more]);
  assert.equal(model.maxObservedRunning, 4);
  assert.deepEqual(model.settings.maxConcurrentOps, 2);
});

test('per-command overrides fall back to default', () => {
  const model = new LoadModel({ latencyMS: { default: 5, find: 20, insert: { dist: 'fixed', ms: 7 } } });
  assert.equal(model.sampleServiceTime('find'), 20);
  assert.equal(model.sampleServiceTime('insert'), 7);
  assert.equal(model.sampleServiceTime('update'), 5);
});

test('lognormal samples match the configured median and p99 and repeat with the same seed', () => {
  const spec = { dist: 'lognormal', medianMS: 5, p99MS: 40 } as const;
  const sample = (seed: number) => {
    const model = new LoadModel({ latencyMS: spec, seed });
    return Array.from({ length: 20_000 }, () => model.sampleServiceTime('find'));
  };
  const a = sample(42);
  assert.deepEqual(a.slice(0, 50), sample(42).slice(0, 50), 'same seed, same sequence');
  assert.notDeepEqual(a.slice(0, 50), sample(43).slice(0, 50));
  const sorted = [...a].sort((x, y) => x - y);
  const median = sorted[Math.floor(sorted.length * 0.5)];
  const p99 = sorted[Math.floor(sorted.length * 0.99)];
  assert.ok(Math.abs(median - 5) < 0.4, `median ${median}`);
  assert.ok(Math.abs(p99 - 40) < 6, `p99 ${p99}`);
});

test('set({ seed }) restarts the service-time sequence (common random numbers across runs)', () => {
  const spec = { dist: 'lognormal', medianMS: 10, p99MS: 40 } as const;
  const model = new LoadModel({ latencyMS: spec, maxConcurrentOps: 4, seed: 1 });
  const draw = (n: number) => Array.from({ length: n }, () => model.sampleServiceTime('find'));
  model.set({ seed: 7 });
  const first = draw(100);
  draw(37); // a run that consumed a different number of samples
  model.set({ seed: 7 });
  assert.deepEqual(draw(100), first, 'the same seed gives the same sequence again');
  model.set({ seed: 8 });
  assert.notDeepEqual(draw(100), first);
  assert.deepEqual(model.settings.maxConcurrentOps, 4, 'a reseed keeps the other settings');
  assert.throws(() => model.set({ seed: {} as never }), (err: unknown) => err instanceof PoolConfigError && err.option === 'seed');
});

test('uniform and exponential distributions have the configured range and mean', () => {
  const uniform = new LoadModel({ latencyMS: { dist: 'uniform', minMS: 2, maxMS: 4 }, seed: 1 });
  const u = Array.from({ length: 5000 }, () => uniform.sampleServiceTime('x'));
  assert.ok(u.every((v) => v >= 2 && v <= 4));
  const exp = new LoadModel({ latencyMS: { dist: 'exponential', meanMS: 10 }, seed: 1 });
  const e = Array.from({ length: 20_000 }, () => exp.sampleServiceTime('x'));
  const mean = e.reduce((s, v) => s + v, 0) / e.length;
  assert.ok(Math.abs(mean - 10) < 0.5, `mean ${mean}`);
});

test('bad settings throw PoolConfigError naming the option', () => {
  const bad: Array<[unknown, string]> = [
    [{ latencyMS: -1 }, 'latencyMS'],
    [{ latencyMS: { dist: 'lognormal', medianMS: 10, p99MS: 5 } }, 'latencyMS.p99MS'],
    [{ latencyMS: { dist: 'gamma' } }, 'latencyMS.dist'],
    [{ latencyMS: { find: 'slow' } }, 'latencyMS.find'],
    [{ maxConcurrentOps: 1.5 }, 'maxConcurrentOps'],
    [{ maxConcurrentOps: -2 }, 'maxConcurrentOps'],
    [{ handshakeDelayMS: NaN }, 'handshakeDelayMS'],
  ];
  for (const [options, option] of bad) {
    assert.throws(() => new LoadModel(options as never), (err: unknown) => err instanceof PoolConfigError && err.option === option, option);
  }
});

test('handshake delay applies once per connection key', async () => {
  const model = new LoadModel({ handshakeDelayMS: 40 });
  const conn = {};
  let t0 = Date.now();
  await model.delayHandshake(conn);
  assert.ok(Date.now() - t0 >= 35);
  t0 = Date.now();
  await model.delayHandshake(conn);
  assert.ok(Date.now() - t0 < 20);
});

test('many operations queued on one shared signal add a single abort listener', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  process.on('warning', onWarning);
  try {
    const model = new LoadModel({ latencyMS: 1, maxConcurrentOps: 1 });
    const shared = new AbortController();
    await Promise.all(Array.from({ length: 30 }, (_, i) => model.run('find', () => i, { signal: shared.signal })));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(warnings.filter((w) => w === 'MaxListenersExceededWarning'), []);
    // ...and aborting it still rejects everything queued on it.
    const first = model.run('find', () => 'a', { signal: shared.signal });
    const queued = model.run('find', () => 'b', { signal: shared.signal });
    shared.abort(new Error('stop'));
    await assert.rejects(queued, /stop/);
    await assert.rejects(first, /stop/);
  } finally {
    process.off('warning', onWarning);
  }
});
