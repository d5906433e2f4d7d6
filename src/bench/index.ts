// Library behind `poolkit bench` and `poolkit advise`: workloads, closed- and open-loop load
// generators, the pool-config sweep and its renderers. Nothing here prints.
export { runClosedLoop, type ClosedLoopOptions } from './closed-loop.js';
export { runOpenLoop, type OpenLoopOptions } from './open-loop.js';
export { createWorkload, WORKLOAD_NAMES, type Workload, type WorkloadName, type WorkloadOptions } from './workloads.js';
export {
  runSweep,
  poolSizesAround,
  type PoolConfig,
  type LoadShape,
  type SweepOptions,
  type SweepProgress,
  type SweepRun,
  type SweepResult,
  type PoolWaitSummary,
} from './sweep.js';
export { LatencyRecorder, DISTRIBUTION_PERCENTILES, type LatencySummary, type DistributionPoint } from './histogram.js';
export type { LoadResult, LoadProgress, Operation } from './types.js';
export { renderTable } from './report/table.js';
export { renderJSON } from './report/json.js';
export { renderHTML, type HTMLReportOptions } from './report/html.js';
export { lineChart, type LineChartOptions, type ChartSeries } from './report/svg.js';
export { bestRuns, smallestAdequateRun, type AdequacyCriteria } from './report/summary.js';
export {
  evaluatePoolSizes,
  pointsFromSweep,
  resampleRounds,
  roundStability,
  DEFAULT_CRITERIA,
  type EvaluateOptions,
  type PointsOptions,
  type ResampleOptions,
  type ResampledVerdicts,
  type RoundStability,
  type SizeRounds,
  type PoolSizeEvaluation,
  type PoolSizePoint,
  type VerificationRow,
  type VerificationCriteria,
} from './adequacy.js';
