import { test } from 'node:test';
import assert from 'node:assert/strict';
import { poolSizesAround, smallestAdequateRun, type SweepResult, type SweepRun } from '../../src/bench/index.js';
import { PoolConfigError } from '../../src/errors.js';

/** A sweep result as data (the pure selection logic needs no server). */
function sweepOf(points: [maxPoolSize: number, throughput: number, p99: number][]): SweepResult {
  const runs = points.map(([maxPoolSize, throughput, p99]) => ({
    label: String(maxPoolSize),
    config: { maxPoolSize },
    result: { ops: 1000, errors: 0, throughput, latency: { p50: p99 / 2, p90: p99, p99, p999: p99, max: p99, mean: p99 / 2 } },
    poolWait: { count: 1000, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0, distribution: [] },
  })) as unknown as SweepRun[];
  return { runs } as SweepResult;
}

test('smallestAdequateRun picks the smallest pool within 97% of the best throughput and 1.1× the best p99', () => {
  const sweep = sweepOf([
    [16, 1600, 10.2],
    [1, 200, 40],
    [4, 800, 10],
    [6, 1200, 9.5],
    [8, 1560, 9.9],
    [12, 1590, 9.6],
  ]);
  assert.equal(smallestAdequateRun(sweep)?.config.maxPoolSize, 8); // 1560 ≥ 0.97 × 1600, 9.9 ≤ 1.1 × 9.5
  assert.equal(smallestAdequateRun(sweep, { throughputShare: 0.99 })?.config.maxPoolSize, 12);
  assert.equal(smallestAdequateRun(sweepOf([])), undefined);
});

test('smallestAdequateRun tells configs apart by label, not only by maxPoolSize', () => {
  const sweep = sweepOf([
    [20, 1000, 12],
    [20, 1000, 10],
  ]);
  sweep.runs[0].label = '20/0';
  sweep.runs[1].label = '20/5';
  sweep.runs[1].config = { maxPoolSize: 20, minPoolSize: 5 };
  // 12 > 1.1 × 10: the warm pool qualifies, the cold one does not.
  assert.equal(smallestAdequateRun(sweep)?.label, '20/5');
});

test('poolSizesAround gives a short neighbourhood, or 1..max when thorough', () => {
  assert.deepEqual(poolSizesAround(8), [4, 6, 7, 8, 9, 10, 12, 16]);
  assert.deepEqual(poolSizesAround(1), [1, 2]);
  assert.deepEqual(poolSizesAround(60, { max: 64 }), [30, 45, 59, 60, 61]);
  assert.deepEqual(poolSizesAround(8, { thorough: true, max: 5 }), [1, 2, 3, 4, 5]);
  assert.equal(poolSizesAround(8, { thorough: true }).length, 64);
  assert.throws(() => poolSizesAround(0), (e: unknown) => e instanceof PoolConfigError && e.option === 'center');
});
