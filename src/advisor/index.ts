// Library behind `poolkit advise`: measure a workload (PoolMonitor), estimate the server's capacity
// (knee of the throughput curve), recommend a pool size (src/sizing) and verify it with a sweep of
// pool sizes (src/bench). Nothing here prints.
export { adviseWorkload, type AdviseWorkloadOptions, type AdviseResult, type AdviseProgress, type AdviseVerification, type PairedCheck, type SideBySidePair } from './advise.js';
export { measureWorkload, type WorkloadMeasurement, type MeasureOptions } from './measure.js';
export { describeKnee, kneeCapacity, KNEE_HEADROOM, KNEE_STALL_LIMIT, KNEE_HIGH_CONCURRENCY, type CapacityEstimate, type KneeStep } from './capacity.js';
export { evaluatePoolSizes, pointsFromSweep, verifiedPoolSize, DEFAULT_CRITERIA, type PoolSizeEvaluation, type PoolSizePoint, type VerificationRow, type VerificationCriteria } from './verify.js';
export { ruleAnswers, DRIVER_DEFAULT_POOL_SIZE, type RuleAnswers } from './rules.js';
