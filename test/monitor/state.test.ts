import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PendingStarts, ServerPoolState } from '../../src/monitor/server-state.js';
import { LatencyRecorder } from '../../src/monitor/latency.js';
import { PendingStacks, applicationFrames } from '../../src/monitor/stacks.js';
import { createRandom } from '../../src/util/random.js';

// Pure unit tests of the monitor's bookkeeping, driving it with event sequences the driver
// produces in its edge cases (hard to time through real sockets). The end-to-end behaviour is
// covered through the real driver in pool-monitor.test.ts.

const closedSum = (s: ServerPoolState) => s.closed.stale + s.closed.idle + s.closed.error + s.closed.poolClosed;

describe('ServerPoolState', () => {
  test('a normal life cycle keeps created − closed = total', () => {
    const s = new ServerPoolState('h:1', {}, false);
    s.poolCreated({ maxPoolSize: 2, minPoolSize: 0 });
    s.checkOutStarted();
    s.connectionCreated(1, 0);
    assert.equal(s.opening.size, 1);
    assert.equal(s.connectionReady(1, 5), 5);
    s.checkedOut(1, 5, 5);
    assert.deepEqual([s.idle, s.inUse, s.pending, s.total], [0, 1, 0, 1]);
    s.checkedIn(1, 9);
    assert.deepEqual([s.idle, s.inUse, s.total], [1, 0, 1]);
    assert.equal(s.useTime.summary().max, 4);
    s.connectionClosed(1, 'idle');
    assert.deepEqual([s.total, s.created - closedSum(s), s.closed.idle], [0, 0, 1]);
  });

  test('reconcile counts handshakes the driver destroyed silently after a clear', () => {
    const s = new ServerPoolState('h:1', {}, false);
    s.connectionCreated(1, 0);
    s.connectionCreated(2, 0);
    s.connectionCreated(3, 0);
    s.poolCleared();
    assert.equal(s.needsReconcile, true);
    // Connection 3 failed normally; 1 and 2 finished while paused and vanished (driver pending 0).
    s.connectionClosed(3, 'error');
    s.reconcile(0);
    assert.deepEqual([s.opening.size, s.total, s.closed.stale, s.closed.error], [0, 0, 2, 1]);
    assert.equal(s.created - closedSum(s), s.total);
    assert.equal(s.needsReconcile, false);
  });

  test('a wrong guess is repaired when the presumed-vanished connection shows up', () => {
    const s = new ServerPoolState('h:1', {}, false);
    s.connectionCreated(1, 0);
    s.connectionCreated(2, 0);
    s.poolCleared();
    s.reconcile(1); // one of the two vanished; the monitor cannot tell which, guesses 1
    assert.deepEqual([s.opening.size, s.closed.stale], [1, 1]);
    s.connectionReady(1, 10); // it was 2 that vanished
    assert.deepEqual([s.opening.size, s.idle, s.total, s.closed.stale], [0, 1, 1, 1]);
    assert.equal(s.created - closedSum(s), s.total);
  });

  test('reconcile without the driver count changes nothing; handshakes finishing normally clear the flag', () => {
    const s = new ServerPoolState('h:1', {}, false);
    s.connectionCreated(1, 0);
    s.poolCleared();
    s.reconcile(undefined);
    assert.equal(s.opening.size, 1);
    s.connectionReady(1, 3);
    s.reconcile(0);
    assert.deepEqual([s.needsReconcile, s.closed.stale, s.idle], [false, 0, 1]);
  });

  test('pool close resets: what is left counts as poolClosed, late events are ignored', () => {
    const s = new ServerPoolState('h:1', {}, false);
    for (const id of [1, 2, 3]) {
      s.checkOutStarted();
      s.connectionCreated(id, 0);
    }
    s.connectionReady(1, 1);
    s.connectionReady(2, 1);
    s.checkedOut(1, 1, 1);
    s.checkedOut(2, 1, 1);
    s.checkOutStarted(); // one more operation waiting
    const held = s.poolClosed();
    assert.deepEqual(held.map((r) => r.id), [1, 2]);
    assert.deepEqual([s.total, s.inUse, s.opening.size, s.closed.poolClosed], [0, 0, 0, 3]);
    // Late: check-ins after close, the cancelled handshake's close, the waiters' failures.
    s.checkedIn(1, 5);
    s.connectionClosed(1, 'poolClosed');
    s.connectionClosed(3, 'error');
    s.checkOutFailed('poolClosed');
    s.checkOutFailed('connectionError');
    assert.deepEqual([s.total, s.inUse, s.idle, s.pending, s.closed.poolClosed, s.closed.error], [0, 0, 0, 0, 3, 0]);
    assert.equal(s.created - closedSum(s), 0);
  });
});

describe('LatencyRecorder', () => {
  test('summary: exact count, mean and max; percentiles within HDR precision', () => {
    const r = new LatencyRecorder();
    const random = createRandom(7);
    const values = Array.from({ length: 5000 }, () => random() * 50);
    for (const v of values) r.recordMS(v);
    const sorted = [...values].sort((a, b) => a - b);
    const s = r.summary();
    assert.equal(s.count, 5000);
    assert.ok(Math.abs(s.mean - values.reduce((a, b) => a + b, 0) / 5000) < 0.001);
    assert.equal(s.max, Math.round(sorted[4999] * 1000) / 1000);
    for (const [p, q] of [
      [s.p50, 0.5],
      [s.p95, 0.95],
      [s.p99, 0.99],
    ]) {
      const exact = sorted[Math.ceil(q * 5000) - 1];
      assert.ok(Math.abs(p - exact) <= exact * 0.002 + 0.002, `p${q * 100}: ${p} vs ${exact}`);
    }
    assert.deepEqual(new LatencyRecorder().summary(), { count: 0, mean: 0, p50: 0, p95: 0, p99: 0, max: 0 });
  });

  test('stdDevMS: the standard deviation of every recorded duration, within HDR precision; 0 below two values', () => {
    const r = new LatencyRecorder();
    const random = createRandom(11);
    const values = Array.from({ length: 4000 }, () => 5 + random() * 20);
    for (const v of values) r.recordMS(v);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const exact = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length);
    assert.ok(Math.abs(r.stdDevMS() - exact) <= exact * 0.002, `${r.stdDevMS()} vs ${exact}`);
    const one = new LatencyRecorder();
    one.recordMS(12);
    assert.equal(one.stdDevMS(), 0);
    const two = new LatencyRecorder();
    two.recordMS(10);
    two.recordMS(20);
    assert.ok(Math.abs(two.stdDevMS() - 5) < 0.01, String(two.stdDevMS()));
  });

  test('percentiles never leave [min, max], even where HDR reports the top of a bucket', () => {
    // Whole milliseconds, as the driver's durationMS: 99 ms sits in the HDR bucket [98 944, 99 007] µs.
    const same = new LatencyRecorder();
    for (let i = 0; i < 100; i++) same.recordMS(99);
    assert.deepEqual(same.summary(), { count: 100, mean: 99, p50: 99, p95: 99, p99: 99, max: 99 });

    const random = createRandom(3);
    for (const digits of [1, 2, 3, 4, 5] as const) {
      const r = new LatencyRecorder({ significantDigits: digits });
      const values = Array.from({ length: 2000 }, () => 20 + Math.floor(random() * 80)); // 20 … 99 ms
      for (const v of values) r.recordMS(v);
      const s = r.summary();
      const min = Math.min(...values);
      assert.equal(s.max, Math.max(...values));
      for (const p of [s.p50, s.p95, s.p99]) assert.ok(p >= min && p <= s.max, `${digits} digits: ${JSON.stringify(s)}`);
      assert.ok(s.p50 <= s.p95 && s.p95 <= s.p99);
    }
  });

  test('significantDigits sets the precision of the percentiles', () => {
    const error = (digits: 1 | 3) => {
      const r = new LatencyRecorder({ significantDigits: digits });
      r.recordMS(1000);
      r.recordMS(1234); // p50 is 1000 ms, reported as the top of its HDR bucket
      return r.summary().p50 - 1000;
    };
    assert.ok(error(1) > 10, `1 digit: +${error(1)} ms`); // bucket [983.04, 1015.807] ms
    assert.ok(error(3) > 0 && error(3) < 1, `3 digits: +${error(3)} ms`); // bucket [999.936, 1000.447] ms
  });

  test('a fixed-size histogram (autoResize: false) caps values at highestTrackableValueMS without throwing', () => {
    const r = new LatencyRecorder({ highestTrackableValueMS: 10, autoResize: false });
    for (let i = 0; i < 90; i++) r.recordMS(5);
    for (let i = 0; i < 10; i++) r.recordMS(50); // above the range: HDR alone would throw inside the driver's dispatch
    const s = r.summary();
    assert.equal(s.count, 100);
    assert.equal(s.max, 50, 'max stays exact');
    assert.equal(s.mean, 9.5, 'mean stays exact');
    assert.ok(s.p50 >= 5 && s.p50 <= 5.003, `p50 ${s.p50}`); // HDR bucket [5000, 5003] µs
    assert.ok(s.p99 >= 10 && s.p99 <= 50, `p99 ${s.p99}: above the range, known only to be ≥ 10 ms`);
    // Buckets: the capped values count only at or above the exact max (never in a bucket they may exceed).
    const buckets = r.cumulativeBuckets([0.005, 0.01, 0.02, 0.05]);
    assert.deepEqual(buckets.map((b) => b.count), [90, 90, 90, 100]);
    assert.equal(r.sumSeconds, 0.95);

    // The default grows on demand: a two-hour value is kept at full precision.
    const growing = new LatencyRecorder({ highestTrackableValueMS: 10 });
    growing.recordMS(7_200_000);
    assert.deepEqual(growing.summary(), { count: 1, mean: 7_200_000, p50: 7_200_000, p95: 7_200_000, p99: 7_200_000, max: 7_200_000 });
  });

  test('cumulative buckets: a bound below the exact min counts 0, a bound at or above the exact max counts all', () => {
    // 25.004 ms shares the HDR bucket [24 992, 25 007] µs with the 25 ms bound.
    const r = new LatencyRecorder();
    for (let i = 0; i < 10; i++) r.recordMS(25.004);
    assert.deepEqual(r.cumulativeBuckets([0.025, 0.025004]).map((b) => b.count), [0, 10]);
    const low = new LatencyRecorder();
    for (let i = 0; i < 10; i++) low.recordMS(24.996);
    assert.deepEqual(low.cumulativeBuckets([0.024995, 0.025]).map((b) => b.count), [0, 10]);
  });

  test('every read sees every value, also those recorded since the last fold into the histogram', () => {
    // Recording is buffered (folded in bulk); a read between folds must still count everything.
    const r = new LatencyRecorder();
    for (const v of [1, 2, 3]) r.recordMS(v);
    assert.equal(r.count, 3);
    assert.deepEqual(r.cumulativeBuckets([0.0015, 1]).map((b) => b.count), [1, 3]);
    assert.equal(r.sumSeconds, 0.006);
    const merged = LatencyRecorder.merge([r, r]);
    assert.equal(merged.summary().count, 6);
    // Across several buffer lengths, with reads in between at odd moments.
    let sum = 0;
    for (let i = 1; i <= 1000; i++) {
      r.recordMS(i / 10);
      sum += i / 10;
      if (i % 97 === 0) assert.equal(r.summary().count, i + 3);
    }
    assert.equal(r.count, 1003);
    const s = r.summary();
    assert.equal(s.count, 1003);
    assert.equal(s.max, 100);
    assert.ok(Math.abs(r.sumSeconds - (sum + 6) / 1000) < 1e-9);
  });

  test('merge equals one recorder of every value', () => {
    const random = createRandom(5);
    const parts = [new LatencyRecorder(), new LatencyRecorder(), new LatencyRecorder()];
    const all = new LatencyRecorder();
    for (let i = 0; i < 3000; i++) {
      const v = Math.exp(random() * 6) / 10;
      parts[i % 3].recordMS(v);
      all.recordMS(v);
    }
    const merged = LatencyRecorder.merge(parts);
    assert.deepEqual(merged.summary(), all.summary());
    assert.equal(merged.sumSeconds, all.sumSeconds);
    const bounds = [0.0001, 0.001, 0.01];
    assert.deepEqual(merged.cumulativeBuckets(bounds), all.cumulativeBuckets(bounds));
  });

  test('cumulative buckets agree with a brute-force count', () => {
    const r = new LatencyRecorder();
    const random = createRandom(11);
    const values = Array.from({ length: 3000 }, () => Math.exp(random() * 9) / 100); // 0.01 ms … 81 ms
    for (const v of values) r.recordMS(v);
    const bounds = [0.0001, 0.001, 0.005, 0.01, 0.05, 0.1];
    const buckets = r.cumulativeBuckets(bounds);
    for (const { le, count } of buckets) {
      const exact = values.filter((v) => Math.round(v * 1000) / 1e6 <= le).length;
      // Values within the HDR precision (0.1 %) of a bound may fall either side.
      const near = values.filter((v) => Math.abs(v / 1000 - le) <= le * 0.002).length;
      assert.ok(Math.abs(count - exact) <= near, `le=${le}: ${count} vs ${exact}`);
    }
    assert.equal(r.count, 3000);
    // Each value is kept to the microsecond: the sum is exact to ±0.5 µs per value.
    assert.ok(Math.abs(r.sumSeconds - values.reduce((a, b) => a + b, 0) / 1000) <= 3000 * 0.5e-6);
  });
});

describe('PendingStarts', () => {
  test('finds the finished check-out by its wait time; the oldest is the longest wait', () => {
    const q = new PendingStarts();
    q.push(100.2);
    q.push(100.7);
    q.push(130.1);
    assert.equal(q.oldest(), 100.2);
    // Served first-in, first-out: the driver's floored clocks say it started at 100 (waited 35 ms at 135.3).
    q.finish(135.3, 35, 2);
    assert.deepEqual([q.size, q.oldest()], [2, 100.7]);
    // Out of order: the newest fails first (e.g. its own timeout): the oldest keeps waiting.
    q.finish(140.4, 10, 1);
    assert.deepEqual([q.size, q.oldest()], [1, 100.7]);
    // No wait time (or no match): the oldest goes.
    q.finish(150, undefined, 0);
    assert.deepEqual([q.size, q.oldest()], [0, undefined]);
    q.finish(151, 1, 0); // an extra event: stays empty
    assert.equal(q.size, 0);
  });

  test('never holds more entries than operations waiting, and compacts', () => {
    const q = new PendingStarts();
    for (let i = 0; i < 5000; i++) q.push(i);
    for (let i = 0; i < 4990; i++) q.finish(i + 10, 10, 4999 - i);
    assert.deepEqual([q.size, q.oldest()], [10, 4990]);
    q.finish(10_000, 99_999, 3); // unmatched, and the exact waiting count says 3 are left
    assert.deepEqual([q.size, q.oldest()], [3, 4997]);
  });
});

describe('stacks', () => {
  test('PendingStacks pairs a check-out with the operation that started about durationMS earlier', () => {
    const q = new PendingStacks();
    q.push(100.2, { stack: 'a' });
    q.push(100.7, { stack: 'b' });
    q.push(130.1, { stack: 'c' });
    // Served at 135.4 after waiting 5 ms (floored by the driver): started ≈ 130.4 → 'c'.
    assert.equal(q.take(135.4, 5)?.stack, 'c');
    // Oldest first among candidates in the same millisecond window.
    assert.equal(q.take(140.5, 40)?.stack, 'a');
    q.trim(0);
    assert.equal(q.size, 0);
  });

  test('applicationFrames drops the driver, Node internals and the monitor', () => {
    const stack = [
      'Error',
      '    at MongoClient.<anonymous> (/app/node_modules/mongodb/lib/mongo_client.js:1:1)',
      '    at MongoClient.emit (node:events:524:28)',
      '    at Object.fn (/app/node_modules/poolkit/dist/monitor/pool-monitor.js:3:3)',
      '    at async Collection.findOne (/app/node_modules/mongodb6/lib/collection.js:9:9)',
      '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
      '    at async loadOrder (/app/src/orders.ts:42:7)',
      '    at async handler (/app/src/server.ts:10:3)',
    ].join('\n');
    assert.equal(applicationFrames({ stack }), 'at async loadOrder (/app/src/orders.ts:42:7)\nat async handler (/app/src/server.ts:10:3)');
    assert.equal(applicationFrames(undefined), undefined);
  });
});
