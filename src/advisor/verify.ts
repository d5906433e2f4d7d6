import type { PoolSizeEvaluation } from '../bench/adequacy.js';

// The yardstick lives with the sweeps it judges; the advisor re-exports it for its callers.
export {
  DEFAULT_CRITERIA,
  evaluatePoolSizes,
  pointsFromSweep,
  type PoolSizeEvaluation,
  type PoolSizePoint,
  type VerificationCriteria,
  type VerificationRow,
} from '../bench/adequacy.js';

/**
 * The size to advise after verification: the pick when it qualified. When it did not, the
 * smallest qualifying size above it. On a closed-loop throughput plateau a larger pool does not do
 * worse than a smaller adequate one, so a qualifying size *below* a pick that did not qualify
 * says the pick's run was unlucky, not that the pool should shrink: the pick is kept. The pick
 * itself when nothing qualified.
 */
export function verifiedPoolSize(evaluation: PoolSizeEvaluation, pick: number): number {
  if (evaluation.pick?.adequate || evaluation.adequate.length === 0) return pick;
  if (evaluation.adequate.some((size) => size < pick)) return pick;
  return evaluation.adequate.find((size) => size > pick) ?? pick;
}
