import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isotonicFit, median3, shapeFit, unimodalFit } from '../../src/bench/shape-fit.js';
import { evaluatePoolSizes, type PoolSizePoint } from '../../src/bench/adequacy.js';

const ones = (n: number) => Array.from({ length: n }, () => 1);
const close = (actual: number[], expected: number[]) =>
  assert.ok(actual.length === expected.length && actual.every((v, i) => Math.abs(v - expected[i]) < 1e-9), `${actual} != ${expected}`);

test('isotonicFit: pool-adjacent-violators, weighted, both directions', () => {
  close(isotonicFit([1, 3, 2, 4], ones(4)), [1, 2.5, 2.5, 4]);
  close(isotonicFit([1, 3, 2, 4], [1, 3, 1, 1]), [1, 2.75, 2.75, 4]);
  close(isotonicFit([5, 6, 4, 3], ones(4), 'decreasing'), [5.5, 5.5, 4, 3]);
  close(isotonicFit([1, 2, 3], ones(3)), [1, 2, 3]); // already monotone: unchanged
  close(isotonicFit([3, 2, 1], ones(3)), [2, 2, 2]);
});

test('unimodalFit: a peak (or valley) shape by least squares, data already of that shape unchanged', () => {
  close(unimodalFit([1, 4, 9, 7, 2], ones(5), 'peak'), [1, 4, 9, 7, 2]);
  close(unimodalFit([9, 4, 1, 3, 8], ones(5), 'valley'), [9, 4, 1, 3, 8]);
  // A dip in the rise and a bump in the fall are averaged with their neighbours.
  close(unimodalFit([1, 5, 4, 9, 7, 8, 2], ones(7), 'peak'), [1, 4.5, 4.5, 9, 7.5, 7.5, 2]);
  close(unimodalFit([2, 7], ones(2), 'peak'), [2, 7]);
});

test('median3 removes isolated spikes and dips and leaves monotone stretches alone', () => {
  close(median3([1, 2, 3, 4, 5]), [1, 2, 3, 4, 5]);
  close(median3([10, 10, 30, 10, 10]), [10, 10, 10, 10, 10]);
  close(median3([10, 10, 2, 10, 10]), [10, 10, 10, 10, 10]);
  close(median3([1, 2]), [1, 2]);
  // A lucky run at the top of a plateau does not survive the fit.
  close(shapeFit([300, 600, 990, 1005, 930, 1000, 1100, 995, 1000], ones(9), 'peak'), [300, 600, 990, 990, 1000, 1000, 1000, 1000, 1000]);
});

const point = (maxPoolSize: number, throughput: number, p99MS: number): PoolSizePoint => ({
  label: String(maxPoolSize), maxPoolSize, runs: 1, throughput, p50MS: p99MS / 2, p99MS, waitP99MS: 0, ops: 1000, errors: 0, dropped: 0,
});

test('evaluation on fitted curves: one lucky run neither sets the bar nor hides the plateau', () => {
  // A plateau of ~1000 ops/s from 8 on, one lucky 1100 at 20 and one unlucky 930 at 12.
  const points = [point(2, 300, 90), point(4, 600, 50), point(8, 990, 30), point(10, 1005, 30), point(12, 930, 31), point(16, 1000, 30), point(20, 1100, 29), point(24, 995, 30), point(32, 1000, 31)];
  const raw = evaluatePoolSizes(points, { criteria: { smooth: false } });
  assert.equal(raw.best.throughput.value, 1100);
  assert.deepEqual(raw.adequate, [20], 'judged run by run, only the lucky run qualifies');
  const fitted = evaluatePoolSizes(points);
  assert.equal(fitted.smoothed, true);
  assert.ok(fitted.best.throughput.value < 1060, `fitted best ${fitted.best.throughput.value}`);
  assert.equal(fitted.smallestAdequate, 8, 'the plateau starts at 8');
  assert.ok(!fitted.adequate.includes(4));
  const row12 = fitted.rows.find((r) => r.maxPoolSize === 12)!;
  assert.equal(row12.throughput, 930, 'the measured value is kept beside the fitted one');
  assert.ok(row12.fittedThroughput > 960 && row12.adequate);
  // Configs sharing a maxPoolSize (different minPoolSize) are not fitted as one curve.
  const twins = evaluatePoolSizes([{ ...point(20, 1000, 10), label: '20/0' }, { ...point(20, 1000, 10), label: '20/5' }, point(4, 500, 30)]);
  assert.equal(twins.smoothed, false);
});
