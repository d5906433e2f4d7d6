import { test } from 'node:test';
import assert from 'node:assert/strict';
import { erlangB, erlangC, mmcMetrics, waitQuantileMS } from '../../src/sizing/index.js';

/** Erlang B by its definition, a^c/c! / Σ a^k/k!: only usable for small c (it overflows). */
function erlangBDirect(c: number, a: number): number {
  let term = 1;
  let sum = 1;
  for (let k = 1; k <= c; k++) {
    term *= a / k;
    sum += term;
  }
  return term / sum;
}

test('Erlang B recurrence matches the closed form for small pools', () => {
  for (const [c, a] of [[1, 0.5], [5, 3], [10, 8], [20, 15.5], [30, 40]]) {
    assert.ok(Math.abs(erlangB(c, a) - erlangBDirect(c, a)) < 1e-12, `c=${c} a=${a}`);
  }
  assert.equal(erlangB(1, 1), 0.5);
});

test('Erlang B and C stay finite and in range for thousands of connections', () => {
  // The direct formula overflows here (a^5000): the recurrence must not.
  const b = erlangB(5000, 4900);
  const c = erlangC(5000, 4900);
  assert.ok(Number.isFinite(b) && b > 0 && b < 1);
  assert.ok(Number.isFinite(c) && c > b && c < 1, `C=${c} must exceed B=${b}`);
  assert.equal(erlangC(10, 10), 1, 'unstable queue: everyone waits');
});

test('with one connection, P(wait) equals the utilisation (M/M/1)', () => {
  for (const rho of [0.1, 0.5, 0.9]) assert.ok(Math.abs(erlangC(1, rho) - rho) < 1e-12);
});

test('M/M/c reproduces the known values for c = 10, W = 5 ms', () => {
  const expected: [rho: number, waitMS: number, tolerance: number][] = [
    [0.5, 0.036, 0.001],
    [0.8, 1.023, 0.005],
    [0.9, 3.344, 0.01],
    [0.95, 8.256, 0.02],
    [0.99, 48.19, 0.1],
  ];
  for (const [rho, waitMS, tolerance] of expected) {
    const m = mmcMetrics(10, 10 * rho, 5);
    assert.ok(Math.abs(m.expectedWaitMS - waitMS) < tolerance, `ρ ${rho}: Wq ${m.expectedWaitMS} ≉ ${waitMS}`);
    assert.ok(Math.abs(m.utilisation - rho) < 1e-12);
  }
  // The ≈ values quoted in the references: 0.04, 1.0 (P(wait) 0.41), 3.3, 8.3, 48 ms.
  assert.equal(mmcMetrics(10, 5, 5).expectedWaitMS.toFixed(2), '0.04');
  assert.equal(mmcMetrics(10, 8, 5).probabilityOfWait.toFixed(2), '0.41');
  assert.equal(Math.round(mmcMetrics(10, 9.9, 5).expectedWaitMS), 48);
  assert.equal(mmcMetrics(10, 10, 5).expectedWaitMS, Infinity);
});

test('wait quantile follows P(wait > t) = C·e^(−(c − a)t/W)', () => {
  const m = mmcMetrics(10, 8, 5);
  const t = waitQuantileMS(m, 0.01);
  const tail = m.probabilityOfWait * Math.exp((-(10 - 8) * t) / 5);
  assert.ok(Math.abs(tail - 0.01) < 1e-12);
  assert.equal(waitQuantileMS(mmcMetrics(10, 2, 5), 0.01), 0, 'almost nobody waits: the 99th percentile wait is 0');
});
