import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ServerPoolState } from '../../src/monitor/server-state.js';
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
