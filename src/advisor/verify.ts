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
 * The size to advise after verification: the pick when it qualified; otherwise the qualifying
 * size nearest to it (ties: the larger), so the answer moves only as far as the evidence requires.
 * The pick itself when nothing qualified.
 */
export function verifiedPoolSize(evaluation: PoolSizeEvaluation, pick: number): number {
  if (evaluation.pick?.adequate || evaluation.adequate.length === 0) return pick;
  let best = evaluation.adequate[0];
  for (const size of evaluation.adequate) {
    const d = Math.abs(size - pick);
    const bestD = Math.abs(best - pick);
    if (d < bestD || (d === bestD && size > best)) best = size;
  }
  return best;
}
