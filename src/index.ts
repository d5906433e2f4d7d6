// mongo-poolkit: the client-side toolkit. The embedded server is at 'mongo-poolkit/server',
// exporters at 'mongo-poolkit/prometheus' and 'mongo-poolkit/otel'.
export * from './errors.js';
export { redactUri, redactText } from './util/redact.js';
export { createRandom, type RandomSource } from './util/random.js';
export * from './client/index.js';
export * from './monitor/index.js';
export * from './resilience/index.js';
export * from './sizing/index.js';
export { adviseWorkload, type AdviseWorkloadOptions, type AdviseResult, type AdviseProgress, type AdviseVerification } from './advisor/index.js';
// The load generator and sweep behind `poolkit bench` (its LatencySummary differs from the monitor's: ms percentiles incl. p90/p99.9).
export {
  runClosedLoop,
  runOpenLoop,
  runSweep,
  poolSizesAround,
  createWorkload,
  WORKLOAD_NAMES,
  renderTable,
  renderJSON,
  renderHTML,
  smallestAdequateRun,
  evaluatePoolSizes,
  pointsFromSweep,
  resampleRounds,
  roundStability,
  LatencyRecorder,
  type ClosedLoopOptions,
  type OpenLoopOptions,
  type Workload,
  type WorkloadName,
  type PoolConfig,
  type LoadShape,
  type SweepOptions,
  type SweepResult,
  type SweepRun,
  type LoadResult,
  type Operation,
  type PoolSizeEvaluation,
  type VerificationCriteria,
  type PointsOptions,
  type EvaluateOptions,
  type ResampleOptions,
  type ResampledVerdicts,
  type RoundStability,
  type SizeRounds,
  // The load generator's recorder and summary (ms, with p90 and p99.9); the monitor's LatencySummary above is another shape.
  type LatencySummary as LoadLatencySummary,
} from './bench/index.js';
