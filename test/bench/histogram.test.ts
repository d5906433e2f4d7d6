import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LatencyRecorder } from '../../src/bench/histogram.js';

function recorderOf(valuesMS: number[]): LatencyRecorder {
  const recorder = new LatencyRecorder();
  for (const value of valuesMS) recorder.recordMS(value);
  return recorder;
}

test('LatencyRecorder.decode reads back what encode wrote: same count and percentiles', () => {
  const original = recorderOf(Array.from({ length: 1000 }, (_, i) => 1 + i / 10));
  const decoded = LatencyRecorder.decode(original.encode());
  assert.equal(decoded.count, 1000);
  const [got, want] = [decoded.summary(), original.summary()];
  for (const key of ['p50', 'p90', 'p99', 'p999', 'mean'] as const) assert.equal(got[key], want[key], key);
  // The encoding keeps buckets, not the exact maximum: it comes back as its bucket's top (0.1% precision).
  assert.ok(Math.abs(got.max - want.max) <= want.max * 0.001, `max ${got.max} vs ${want.max}`);
});

test('LatencyRecorder.add sums two recorders: the p99 is that of all their values together', () => {
  // 990 fast values in one, 10 slow ones in the other: together the slow ones are the top 1%.
  const fast = recorderOf(Array.from({ length: 990 }, () => 5));
  const slow = recorderOf(Array.from({ length: 10 }, () => 200));
  const total = new LatencyRecorder();
  total.add(fast);
  total.add(slow);
  assert.equal(total.count, 1000);
  assert.ok(Math.abs(total.percentileMS(99) - 5) < 0.01, `p99 ${total.percentileMS(99)}`);
  assert.ok(Math.abs(total.percentileMS(99.5) - 200) < 0.5, `p99.5 ${total.percentileMS(99.5)}`);
  assert.equal(fast.count, 990, 'the added recorder is unchanged');
});

test('LatencyRecorder.decode rejects a string that is not an encoded histogram', () => {
  assert.throws(() => LatencyRecorder.decode('not base64!'), (error: unknown) => error instanceof RangeError && /not an encoded latency histogram/.test(error.message));
});
