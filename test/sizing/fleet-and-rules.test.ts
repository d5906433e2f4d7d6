import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PoolConfigError } from '../../src/errors.js';
import { coresRule, fleetBudget, seedFormulaPoolSize, type FleetBudgetOptions } from '../../src/sizing/index.js';

test('fleet budget counts pooled and monitoring connections per process', () => {
  const fits = fleetBudget({ processes: 20, maxPoolSize: 50, serverAvailable: 1200 });
  assert.equal(fits.perProcess, 52); // 2 monitoring sockets by default (streaming SDAM)
  assert.equal(fits.required, 1040);
  assert.equal(fits.available, 1200);
  assert.equal(fits.headroom, 160);
  assert.equal(fits.fits, true);

  const short = fleetBudget({ processes: 40, maxPoolSize: 100, monitoringConnections: 2, serverAvailable: 3000 });
  assert.equal(short.fits, false);
  assert.equal(short.required, 4080);
  assert.equal(short.headroom, -1080);
  assert.equal(short.maxPoolSizeThatFits, 73); // ⌊3000 / 40⌋ − 2
  assert.equal(short.maxProcessesThatFit, 29); // ⌊3000 / 102⌋
  assert.ok(fleetBudget({ processes: 40, maxPoolSize: short.maxPoolSizeThatFits, serverAvailable: 3000 }).fits);
  assert.ok(!fleetBudget({ processes: 40, maxPoolSize: short.maxPoolSizeThatFits + 1, serverAvailable: 3000 }).fits);
  assert.ok(short.reasoning.some((line) => line.includes('1080 short')));

  const behindLoadBalancer = fleetBudget({ processes: 10, maxPoolSize: 10, monitoringConnections: 0, serverAvailable: 100 });
  assert.equal(behindLoadBalancer.headroom, 0);
  assert.equal(behindLoadBalancer.fits, true);
});

test('fleet budget rejects bad input by field', () => {
  const base: FleetBudgetOptions = { processes: 2, maxPoolSize: 10, serverAvailable: 100 };
  const cases: [unknown, string][] = [
    [{ ...base, processes: 0 }, 'processes'],
    [{ ...base, maxPoolSize: 0 }, 'maxPoolSize'],
    [{ ...base, maxPoolSize: -1 }, 'maxPoolSize'],
    [{ ...base, monitoringConnections: -1 }, 'monitoringConnections'],
    [{ ...base, serverAvailable: undefined }, 'serverAvailable'],
    [{ ...base, servers: 3 }, 'servers'],
  ];
  for (const [options, option] of cases) {
    assert.throws(() => fleetBudget(options as FleetBudgetOptions), (e: unknown) => e instanceof PoolConfigError && e.option === option);
  }
});

test("the seed's formula: int(concurrent × seconds × 1.5) clamped to 10..100", () => {
  // The seed's own example: 20 × 0.1 × 1.5 = 3 "connections", hidden by the clamp.
  assert.equal(seedFormulaPoolSize({ concurrentRequests: 20, avgDurationS: 0.1 }), 10);
  assert.equal(seedFormulaPoolSize({ concurrentRequests: 100, avgDurationS: 0.5 }), 75);
  assert.equal(seedFormulaPoolSize({ concurrentRequests: 1000, avgDurationS: 0.1 }), 100);
  // Unit mixing: the same 20 concurrent requests give a 10× bigger pool if each lasts 10× longer,
  // although 20 concurrent requests never need more than 20 connections.
  assert.equal(seedFormulaPoolSize({ concurrentRequests: 20, avgDurationS: 2 }), 60);
  assert.throws(() => seedFormulaPoolSize({ concurrentRequests: 0, avgDurationS: 1 }), (e: unknown) => e instanceof PoolConfigError && e.option === 'concurrentRequests');
});

test('the cores rule is cores × 2 + 1', () => {
  assert.equal(coresRule(1), 3);
  assert.equal(coresRule(4), 9);
  assert.equal(coresRule(16), 33);
  assert.throws(() => coresRule(0), (e: unknown) => e instanceof PoolConfigError && e.option === 'cores');
  assert.throws(() => coresRule(2.5), PoolConfigError);
});
