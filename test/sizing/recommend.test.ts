import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PoolConfigError } from '../../src/errors.js';
import { mmcMetrics, recommendPoolSize, type RecommendPoolSizeOptions } from '../../src/sizing/index.js';

/** Brute force: the smallest c whose M/M/c wait and utilisation meet both targets. */
function smallestPool(load: number, holdMS: number, targetWaitMS: number, targetUtilisation: number): number {
  for (let c = 1; ; c++) {
    const m = mmcMetrics(c, load, holdMS);
    if (m.expectedWaitMS <= targetWaitMS && m.utilisation <= targetUtilisation) return c;
  }
}

test('picks the smallest pool meeting the wait and utilisation targets', () => {
  const cases: [rate: number, hold: number, wait: number | undefined, util: number | undefined][] = [
    [2000, 4, undefined, undefined],
    [2000, 5, 1, 0.9],
    [100, 2, 0.05, undefined],
    [50_000, 3, 0.3, 0.95],
    [1, 10, undefined, undefined],
  ];
  for (const [arrivalRate, mean, targetWaitMS, targetUtilisation] of cases) {
    const options: RecommendPoolSizeOptions = { arrivalRate, holdTimeMS: { mean } };
    if (targetWaitMS !== undefined) options.targetWaitMS = targetWaitMS;
    if (targetUtilisation !== undefined) options.targetUtilisation = targetUtilisation;
    const r = recommendPoolSize(options);
    const load = (arrivalRate * mean) / 1000;
    const expected = smallestPool(load, mean, targetWaitMS ?? mean * 0.1, targetUtilisation ?? 0.8);
    assert.equal(r.maxPoolSize, expected, JSON.stringify(options));
    const m = mmcMetrics(expected, load, mean);
    assert.equal(r.expectedWaitMS, m.expectedWaitMS);
    assert.equal(r.utilisation, m.utilisation);
    assert.equal(r.offeredLoad, load);
    assert.equal(r.limitedBy, 'targets');
    assert.equal(r.saturated, false);
  }
});

test('2000 ops/s × 4 ms: Little says 8 busy, Erlang C says 11 connections', () => {
  const r = recommendPoolSize({ arrivalRate: 2000, holdTimeMS: { mean: 4 } });
  assert.equal(r.offeredLoad, 8);
  assert.equal(r.maxPoolSize, 11); // 10 would wait 0.82 ms on average, over the 0.4 ms target
  assert.equal(r.minPoolSize, 8);
  assert.ok(r.expectedWaitMS <= 0.4);
  assert.match(r.reasoning[0], /Little's law: L = λ·W = 2000 ops\/s × 4 ms = 8 connections/);
  assert.ok(r.reasoning.some((line) => /c = 11 is the smallest pool/.test(line) && /c = 10 would give mean wait 0\.818 ms/.test(line)));
});

test('caps the pool at the server capacity and reports saturation', () => {
  // 10 operations in flight on average against a server that runs 8: nothing helps but less load.
  const saturated = recommendPoolSize({ arrivalRate: 2000, holdTimeMS: { mean: 5 }, serverCapacity: 8 });
  assert.equal(saturated.maxPoolSize, 8);
  assert.equal(saturated.limitedBy, 'serverCapacity');
  assert.equal(saturated.saturated, true);
  assert.equal(saturated.expectedWaitMS, Infinity);
  assert.equal(saturated.utilisation, 1.25);
  assert.ok(saturated.reasoning.some((line) => line.startsWith('Saturated')));

  // 6.5 in flight: the targets want 9, the server runs 8, so 8 with the server's M/M/8 wait.
  const capped = recommendPoolSize({ arrivalRate: 1300, holdTimeMS: { mean: 5 }, serverCapacity: 8 });
  assert.equal(capped.maxPoolSize, 8);
  assert.equal(capped.limitedBy, 'serverCapacity');
  assert.equal(capped.saturated, false);
  assert.equal(capped.expectedWaitMS, mmcMetrics(8, 6.5, 5).expectedWaitMS);
  assert.ok(Number.isFinite(capped.expectedWaitMS));

  // Below the cap the capacity changes nothing.
  const roomy = recommendPoolSize({ arrivalRate: 1300, holdTimeMS: { mean: 5 }, serverCapacity: 64 });
  assert.equal(roomy.limitedBy, 'targets');
  assert.equal(roomy.maxPoolSize, recommendPoolSize({ arrivalRate: 1300, holdTimeMS: { mean: 5 } }).maxPoolSize);
});

test('shares the server capacity between processes', () => {
  // Each of 4 processes: 3 in flight, wants 4+ connections; 32 / 4 = 8 each is plenty.
  const fits = recommendPoolSize({ arrivalRate: 600, holdTimeMS: { mean: 5 }, serverCapacity: 32, processes: 4 });
  assert.equal(fits.limitedBy, 'targets');
  // 10 processes: ⌈32 / 10⌉ = 4 each; the fleet offers 30 of 32 → not saturated but capped.
  const tight = recommendPoolSize({ arrivalRate: 600, holdTimeMS: { mean: 5 }, serverCapacity: 32, processes: 10 });
  assert.equal(tight.maxPoolSize, 4);
  assert.equal(tight.limitedBy, 'serverCapacity');
  assert.equal(tight.saturated, false);
  assert.equal(tight.utilisation, 30 / 32);
  assert.ok(tight.reasoning.some((line) => line.includes('10 processes × 600 ops/s × 5 ms of server time = 30 operations executing')));
});

test('server time below the hold time lets the pool exceed the server capacity', () => {
  // Each operation holds its connection 25 ms, of which the server executes 20 ms: 4 slots keep
  // ⌈4 × 25 / 20⌉ = 5 connections busy. Without serverTimeMS the whole hold counts as server time.
  const base = { arrivalRate: 160, holdTimeMS: { mean: 25 }, serverCapacity: 4 };
  const withServerTime = recommendPoolSize({ ...base, serverTimeMS: 20 });
  assert.equal(withServerTime.maxPoolSize, 5);
  assert.equal(withServerTime.limitedBy, 'serverCapacity');
  assert.equal(withServerTime.saturated, false);
  assert.equal(withServerTime.utilisation, 0.8); // 160/s × 20 ms = 3.2 of 4 slots
  assert.equal(withServerTime.expectedWaitMS, mmcMetrics(4, 3.2, 20).expectedWaitMS);
  assert.ok(withServerTime.reasoning.some((line) => line.includes('Capped at 5 = ⌈serverCapacity 4 × hold 25 ms / server time 20 ms / 1 process⌉')));

  const holdOnly = recommendPoolSize(base);
  assert.equal(holdOnly.maxPoolSize, 4);
  assert.equal(holdOnly.saturated, true, '160/s × 25 ms = 4 busy of 4');
});

test('minPoolSize is the mean busy count, never above maxPoolSize', () => {
  assert.equal(recommendPoolSize({ arrivalRate: 10, holdTimeMS: { mean: 5 } }).minPoolSize, 1);
  assert.equal(recommendPoolSize({ arrivalRate: 1500, holdTimeMS: { mean: 5 } }).minPoolSize, 8);
  const capped = recommendPoolSize({ arrivalRate: 4000, holdTimeMS: { mean: 5 }, serverCapacity: 8 });
  assert.equal(capped.minPoolSize, 8);
  assert.equal(capped.maxPoolSize, 8);
});

test('waitQueueTimeoutMS grows with the hold-time tail and never drops below 1 s', () => {
  const fast = recommendPoolSize({ arrivalRate: 2000, holdTimeMS: { mean: 4 } });
  assert.equal(fast.waitQueueTimeoutMS, 1000);
  const slowTail = recommendPoolSize({ arrivalRate: 50, holdTimeMS: { mean: 100, p99: 900 } });
  // 2 × (stretched 99.9% wait + 900 ms) > 1800 ms → the next round value, 2000 or 5000.
  assert.ok(slowTail.waitQueueTimeoutMS >= 2000, String(slowTail.waitQueueTimeoutMS));
  const slowerTail = recommendPoolSize({ arrivalRate: 50, holdTimeMS: { mean: 100, p99: 4000 } });
  assert.ok(slowerTail.waitQueueTimeoutMS > slowTail.waitQueueTimeoutMS);
  assert.ok([1, 2, 5].includes(slowerTail.waitQueueTimeoutMS / 10 ** Math.floor(Math.log10(slowerTail.waitQueueTimeoutMS))));
});

test('bad input throws PoolConfigError naming the field', () => {
  const base = { arrivalRate: 100, holdTimeMS: { mean: 5 } };
  const cases: [unknown, string][] = [
    [{ ...base, arrivalRate: 0 }, 'arrivalRate'],
    [{ ...base, arrivalRate: -3 }, 'arrivalRate'],
    [{ ...base, arrivalRate: Number.NaN }, 'arrivalRate'],
    [{ ...base, arrivalRate: '100' }, 'arrivalRate'],
    [{ arrivalRate: 100 }, 'holdTimeMS'],
    [{ ...base, holdTimeMS: { mean: 0 } }, 'holdTimeMS.mean'],
    [{ ...base, holdTimeMS: { mean: 5, p99: 4 } }, 'holdTimeMS.p99'],
    [{ ...base, holdTimeMS: { mean: 5, p95: 9 } }, 'holdTimeMS.p95'],
    [{ ...base, serverCapacity: 2.5 }, 'serverCapacity'],
    [{ ...base, processes: 0 }, 'processes'],
    [{ ...base, serverCapacity: 8, serverTimeMS: 6 }, 'serverTimeMS'],
    [{ ...base, serverCapacity: 8, serverTimeMS: 0 }, 'serverTimeMS'],
    [{ ...base, targetWaitMS: 0 }, 'targetWaitMS'],
    [{ ...base, targetUtilisation: 1 }, 'targetUtilisation'],
    [{ ...base, holdTimeMs: { mean: 5 } }, 'holdTimeMs'],
    [{ arrivalRate: 1e9, holdTimeMS: { mean: 5000 } }, 'arrivalRate'],
  ];
  for (const [options, option] of cases) {
    assert.throws(
      () => recommendPoolSize(options as RecommendPoolSizeOptions),
      (error: unknown) => error instanceof PoolConfigError && error.option === option && error.code === 'POOLKIT_ERR_CONFIG' && error.message.startsWith(`${option}:`),
      `expected a PoolConfigError for ${option} from ${JSON.stringify(options)}`,
    );
  }
});
