// Public API of src/sizing: pool-size recommendation from queueing theory, fleet budget,
// and the rules of thumb they are compared against.
export { recommendPoolSize, type RecommendPoolSizeOptions, type PoolSizeRecommendation } from './recommend.js';
export { fleetBudget, type FleetBudgetOptions, type FleetBudget } from './fleet.js';
export { seedFormulaPoolSize, coresRule, type SeedFormulaOptions } from './rules.js';
export { erlangB, erlangC, mmcMetrics, waitQuantileMS, type QueueMetrics } from './queueing.js';
