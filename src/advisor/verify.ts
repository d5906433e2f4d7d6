import type { PoolSizeEvaluation, VerificationCriteria } from '../bench/adequacy.js';

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

/** The advice moves up at most to this multiple of the model's answer (the top of the sizes measured around it). */
export const MAX_ADJUSTMENT = 2;

/**
 * The size to advise after verification: the pick when it qualified. When it did not, the
 * smallest qualifying size above it, up to {@link MAX_ADJUSTMENT} × the pick. On a closed-loop
 * throughput plateau a larger pool does not do worse than a smaller adequate one, so a qualifying
 * size *below* a pick that did not qualify says the pick's run was unlucky, not that the pool
 * should shrink: the pick is kept. A qualifying size only far above the pick (the driver default
 * 100 when the answer was 12) is no evidence of a need that large while every size in between
 * measured short; one lucky run can do that on a noisy machine, so the pick is kept then too.
 * The pick itself when nothing qualified.
 */
export function verifiedPoolSize(evaluation: PoolSizeEvaluation, pick: number): number {
  if (evaluation.pick?.adequate || evaluation.adequate.length === 0) return pick;
  if (evaluation.adequate.some((size) => size < pick)) return pick;
  return evaluation.adequate.find((size) => size > pick && size <= MAX_ADJUSTMENT * pick) ?? pick;
}

/**
 * How many side-by-side pairs a move up needs, the answer short of the larger size in each. Two
 * moved 5 of 32 advisor picks that the confirmation found adequate (BENCHMARKS.md, tenth session);
 * replaying 2 against 3 on the confirmations' stored rounds (`npm run bench -- move-rule`) showed
 * 3 cuts false moves about 2.5-fold for a smaller loss in catching a real shortfall.
 */
export const SIDE_BY_SIDE_PAIRS = 3;

/**
 * The verdict of side-by-side pairs measured so far, in order (each: the smaller size was short):
 * `kept up` at the first pair in which it was not (no further pair can make every one short),
 * `short` once `required` pairs all were, `undecided` until then (measure another pair).
 */
export function sideBySideVerdict(shorts: readonly boolean[], required = SIDE_BY_SIDE_PAIRS): 'short' | 'kept up' | 'undecided' {
  if (shorts.some((short) => !short)) return 'kept up';
  return shorts.length >= required ? 'short' : 'undecided';
}

/** One run's result as the side-by-side check compares it. */
export interface RunFigures {
  throughput: number;
  p99MS: number;
  /** Whether the run had successful operations. */
  ok: boolean;
  /** Successful operations (when given, a p99 from fewer than `minP99Samples` is not compared). */
  successes?: number;
}

/** Whether two runs' p99s are compared: both from at least `minP99Samples` successes (as the yardstick judges). */
export function pairP99Judged(mine: RunFigures, theirs: RunFigures, criteria: Partial<Pick<VerificationCriteria, 'minP99Samples'>>): boolean {
  const min = criteria.minP99Samples ?? 0;
  return (mine.successes ?? Infinity) >= min && (theirs.successes ?? Infinity) >= min;
}

/**
 * Whether `mine` falls short of `theirs` by the yardstick, measured side by side: less than
 * `throughputShare` of its throughput, or a p99 above `p99Factor` × its p99 when both p99s come
 * from enough samples (see {@link pairP99Judged}); a failed run is short of a successful one.
 */
export function isShortOf(
  mine: RunFigures,
  theirs: RunFigures,
  criteria: Pick<VerificationCriteria, 'throughputShare' | 'p99Factor'> & Partial<Pick<VerificationCriteria, 'minP99Samples'>>,
): boolean {
  if (!mine.ok) return theirs.ok;
  if (!theirs.ok) return false;
  if (mine.throughput < criteria.throughputShare * theirs.throughput) return true;
  return pairP99Judged(mine, theirs, criteria) && mine.p99MS > criteria.p99Factor * theirs.p99MS;
}
