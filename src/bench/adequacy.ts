import type { SweepResult } from './sweep.js';
import { LatencyRecorder } from './histogram.js';
import { createRandom } from '../util/random.js';
import { median as middle, quantile } from '../util/stats.js';

/**
 * When a measured pool configuration counts as "as good as the best": the yardstick of
 * `poolkit bench`, `poolkit advise` and the advisor benchmark (one definition for all three).
 */
export interface VerificationCriteria {
  /** Share of the best throughput a pool must reach (default 0.97). */
  throughputShare: number;
  /** Largest acceptable p99 latency as a multiple of the best p99 (default 1.1). */
  p99Factor: number;
  /**
   * Successful operations a run needs before its p99 is compared (default 500). With fewer, the
   * p99 is little more than the maximum of a handful of samples, and comparing two of them only
   * compares noise; such runs are judged on throughput alone (`p99Judged: false`).
   */
  minP99Samples: number;
  /**
   * Judge each pool size by the median of itself and its two neighbouring sizes (n − 1, n + 1)
   * when both were measured (default true). One noisy run then neither disqualifies a size whose
   * neighbours qualify nor sets the "best" that every other size is held to (the best of many
   * noisy runs is biased: the winner's curse). A median of three preserves a monotone curve
   * exactly, so a real knee is not moved; only an isolated outlier is. Sizes without both
   * neighbours (`poolkit bench` with 5, 20, 50) are judged by their own run.
   */
  smoothNeighbours: boolean;
}

export const DEFAULT_CRITERIA: Readonly<VerificationCriteria> = Object.freeze({
  throughputShare: 0.97,
  p99Factor: 1.1,
  minP99Samples: 500,
  smoothNeighbours: true,
});

/** One configuration's measurement; a configuration measured more than once gets the median of its runs (see pointsFromSweep). */
export interface PoolSizePoint {
  /** The sweep's label of the configuration (repeated runs share it). */
  label: string;
  maxPoolSize: number;
  /** Runs averaged into this point. */
  runs: number;
  throughput: number;
  p50MS: number;
  p99MS: number;
  /** p99 of the wait for a connection, ms. */
  waitP99MS: number;
  /** Operations finished over all runs, and how many of them failed. */
  ops: number;
  errors: number;
  /** Open loop: operations dropped because too many were in flight. */
  dropped: number;
}

export interface VerificationRow extends PoolSizePoint {
  /**
   * The values the size is judged by: its own (`throughput`, `p99MS`), or with `smoothNeighbours`
   * the median of it and its two neighbouring sizes (`smoothed: true`).
   */
  judged: { throughput: number; p99MS: number; smoothed: boolean };
  /** judged throughput / best judged throughput. */
  throughputShare: number;
  /** judged p99 / best judged p99. */
  p99Ratio: number;
  /** Whether the p99 took part in the judgement (enough samples, see `minP99Samples`). */
  p99Judged: boolean;
  adequate: boolean;
  /** What else picks this size: 'recommended', 'seed formula', 'driver default', 'cores × 2 + 1'. */
  marks: string[];
}

export interface PoolSizeEvaluation {
  criteria: VerificationCriteria;
  best: { throughput: { maxPoolSize: number; value: number }; p99: { maxPoolSize: number; value: number } };
  /** One row per measured configuration, smallest pool first. */
  rows: VerificationRow[];
  /** Pool sizes that meet the criteria, smallest first. */
  adequate: number[];
  smallestAdequate: number | null;
  /** Rows whose p99 had too few samples to be compared (judged on throughput only). */
  p99Unjudged: number;
  /** The size being verified (the recommendation), if it was measured. */
  pick: { maxPoolSize: number; adequate: boolean; throughputShare: number; p99Ratio: number; overSmallestAdequate: number | null } | null;
}

export interface PointsOptions {
  /**
   * Which of a size's repeated p99s is its p99: a quantile of them (default 0.5, the median; two
   * repeats: their mean). A slow spell of the machine only ever raises a run's p99, and by far more
   * than it lowers its throughput, so a lower quantile (0.25: the better quarter of the runs)
   * estimates what the pool does with less of the machine in it. Throughput stays the median.
   */
  p99Quantile?: number;
  /**
   * Take a size's p99 from all its operations instead: the p99 of its runs' latency histograms
   * merged (`result.latencyHistogram`, which the load generators write). Each run then counts by
   * its operations, and the tail is estimated from all of them rather than from each run's top
   * 1% alone. Excludes `p99Quantile`.
   */
  mergeHistograms?: boolean;
}

/** Options of evaluatePoolSizes (see there). */
export interface EvaluateOptions {
  pick?: number;
  criteria?: Partial<VerificationCriteria> | undefined;
  marks?: Record<number, string[]>;
  bestFromSmoothed?: boolean;
}

/**
 * The runs of a sweep as one point per configuration label, smallest pool first. Repeats are
 * combined per metric by their median (two repeats: their mean; the p99 by `p99Quantile`): one run
 * that a stall of the machine slowed down does not move the point of a size measured three times.
 * Counts are summed.
 */
export function pointsFromSweep(sweep: Pick<SweepResult, 'runs'>, options: PointsOptions = {}): PoolSizePoint[] {
  const p99Quantile = options.p99Quantile ?? 0.5;
  if (!(p99Quantile >= 0 && p99Quantile <= 1)) throw new RangeError(`p99Quantile must be between 0 and 1, got ${p99Quantile}`);
  if (options.mergeHistograms && options.p99Quantile !== undefined) throw new RangeError('p99Quantile and mergeHistograms exclude each other: merged histograms give one p99 per size');
  const byLabel = new Map<string, SweepResult['runs']>();
  for (const run of sweep.runs) {
    const runs = byLabel.get(run.label);
    if (runs) runs.push(run);
    else byLabel.set(run.label, [run]);
  }
  const points = [...byLabel].map(([label, runs]): PoolSizePoint => {
    const of = (value: (run: SweepResult['runs'][number]) => number) => middle(runs.map(value));
    const sum = (value: (run: SweepResult['runs'][number]) => number) => runs.reduce((total, run) => total + value(run), 0);
    return {
      label,
      maxPoolSize: runs[0].config.maxPoolSize,
      runs: runs.length,
      throughput: of((r) => r.result.throughput),
      p50MS: of((r) => r.result.latency.p50),
      p99MS: options.mergeHistograms ? mergedP99(label, runs) : quantile(runs.map((r) => r.result.latency.p99), p99Quantile),
      waitP99MS: of((r) => r.poolWait.p99),
      ops: sum((r) => r.result.ops),
      errors: sum((r) => r.result.errors),
      dropped: sum((r) => r.result.dropped ?? 0),
    };
  });
  return bySize(points);
}

// Decoding costs about as much as merging, and a bootstrap merges the same runs many times over:
// each run's decoded histogram is kept as long as its result object is (and no longer).
const decodedHistograms = new WeakMap<SweepResult['runs'][number]['result'], LatencyRecorder>();

function mergedP99(label: string, runs: SweepResult['runs']): number {
  const merged = new LatencyRecorder();
  for (const run of runs) {
    const encoded = run.result.latencyHistogram;
    if (encoded === undefined) throw new RangeError(`mergeHistograms: a run of ${label} has no latencyHistogram`);
    let decoded = decodedHistograms.get(run.result);
    if (!decoded) {
      decoded = LatencyRecorder.decode(encoded);
      decodedHistograms.set(run.result, decoded);
    }
    merged.add(decoded);
  }
  return merged.summary().p99;
}

const bySize = <T extends { maxPoolSize: number }>(points: T[]): T[] => points.sort((a, b) => a.maxPoolSize - b.maxPoolSize);

/**
 * Judges measured configurations: the best throughput and the best (lowest) p99 over all of them,
 * the ones within `throughputShare` of the first and `p99Factor` of the second, and whether
 * `pick` is one of them. Each size is judged by its own run or, with `smoothNeighbours` (the
 * default), by the median of it and its two neighbouring sizes. Only runs with at least
 * `minP99Samples` successful operations have their p99 compared (and compete for the best p99).
 * With `bestFromSmoothed`, only sizes judged with their neighbours set the best when any are (for
 * a contiguous band of sizes: a size at its edge is judged by its own, noisier value, and so would
 * win the minimum by luck more often than the others; it is still judged against the best). Off by
 * default: where sizes are sparse, an isolated size may be the only one that shows the real best.
 * Pure: the benchmark uses it on its exhaustive sweep too.
 */
export function evaluatePoolSizes(points: readonly PoolSizePoint[], options: EvaluateOptions = {}): PoolSizeEvaluation {
  const criteria: VerificationCriteria = { ...DEFAULT_CRITERIA, ...options.criteria };
  const succeeded = (p: PoolSizePoint) => p.ops > p.errors;
  const judgeP99 = (p: PoolSizePoint) => p.ops - p.errors >= criteria.minP99Samples;
  const sorted = bySize([...points]);
  const judged = judgedValues(sorted, criteria.smoothNeighbours, succeeded);
  let bestThroughput: number | undefined;
  let bestP99: number | undefined;
  let bestP99Any: number | undefined;
  const onlySmoothed = options.bestFromSmoothed === true && judged.some((value) => value.smoothed);
  // Ties go to the smaller pool (points are sorted by size).
  for (let i = 0; i < sorted.length; i++) {
    const point = sorted[i];
    const value = judged[i];
    if (onlySmoothed && !value.smoothed) continue;
    if (bestThroughput === undefined || value.throughput > judged[bestThroughput].throughput) bestThroughput = i;
    if (!succeeded(point)) continue;
    if (bestP99Any === undefined || value.p99MS < judged[bestP99Any].p99MS) bestP99Any = i;
    if (judgeP99(point) && (bestP99 === undefined || value.p99MS < judged[bestP99].p99MS)) bestP99 = i;
  }
  // With no run large enough to judge, the lowest p99 is still shown as the reference.
  const p99Reference = bestP99 ?? bestP99Any;
  const topThroughput = bestThroughput === undefined ? 0 : judged[bestThroughput].throughput;
  const topP99 = p99Reference === undefined ? 0 : judged[p99Reference].p99MS;
  const rows: VerificationRow[] = sorted.map((point, i) => {
    const ok = succeeded(point);
    const value = judged[i];
    const throughputShare = topThroughput > 0 ? value.throughput / topThroughput : 0;
    const p99Ratio = !ok ? Infinity : topP99 > 0 ? value.p99MS / topP99 : 1;
    const p99Judged = ok && judgeP99(point);
    // A tiny tolerance so the best point itself always qualifies despite floating point.
    const fastEnough = throughputShare >= criteria.throughputShare - 1e-9;
    const tailOk = !p99Judged || p99Ratio <= criteria.p99Factor + 1e-9;
    return {
      ...point,
      judged: value,
      throughputShare,
      p99Ratio,
      p99Judged,
      adequate: ok && fastEnough && tailOk,
      marks: options.marks?.[point.maxPoolSize] ?? [],
    };
  });
  const adequate = rows.filter((r) => r.adequate).map((r) => r.maxPoolSize);
  const smallestAdequate = adequate[0] ?? null;
  const pickRow = options.pick === undefined ? undefined : rows.find((r) => r.maxPoolSize === options.pick);
  return {
    criteria,
    best: {
      throughput: { maxPoolSize: bestThroughput === undefined ? 0 : sorted[bestThroughput].maxPoolSize, value: topThroughput },
      p99: { maxPoolSize: p99Reference === undefined ? 0 : sorted[p99Reference].maxPoolSize, value: topP99 },
    },
    rows,
    adequate,
    smallestAdequate,
    p99Unjudged: rows.filter((r) => r.ops > r.errors && !r.p99Judged).length,
    pick: pickRow
      ? {
          maxPoolSize: pickRow.maxPoolSize,
          adequate: pickRow.adequate,
          throughputShare: pickRow.throughputShare,
          p99Ratio: pickRow.p99Ratio,
          overSmallestAdequate: smallestAdequate === null ? null : pickRow.maxPoolSize / smallestAdequate,
        }
      : null,
  };
}

/**
 * Each point's own throughput and p99, or (smoothing) the median of it and the points of sizes
 * n − 1 and n + 1 when both exist and succeeded. `sorted` is ordered by size with one point per size.
 */
function judgedValues(
  sorted: readonly PoolSizePoint[],
  smooth: boolean,
  succeeded: (p: PoolSizePoint) => boolean,
): VerificationRow['judged'][] {
  return sorted.map((point, i) => {
    const before = sorted[i - 1];
    const after = sorted[i + 1];
    const neighbours =
      smooth &&
      succeeded(point) &&
      before !== undefined &&
      after !== undefined &&
      before.maxPoolSize === point.maxPoolSize - 1 &&
      after.maxPoolSize === point.maxPoolSize + 1 &&
      succeeded(before) &&
      succeeded(after);
    if (!neighbours) return { throughput: point.throughput, p99MS: point.p99MS, smoothed: false };
    return {
      throughput: middle([before.throughput, point.throughput, after.throughput]),
      p99MS: middle([before.p99MS, point.p99MS, after.p99MS]),
      smoothed: true,
    };
  });
}

export interface ResampleOptions {
  /** Resamples drawn (default 1000). */
  resamples?: number;
  /** Seed of the draws (default 1): the same rounds give the same answer. */
  seed?: number | string;
  points?: PointsOptions;
  /** Options of evaluatePoolSizes for each resample. */
  evaluate?: Pick<EvaluateOptions, 'criteria' | 'bestFromSmoothed'>;
  /** A size whose verdict is counted in each resample (e.g. the advice). */
  pick?: number;
  /** With `pick`: also count the resamples where it is adequate and at most this multiple of the smallest adequate size. */
  goalFactor?: number;
}

export interface ResampledVerdicts {
  resamples: number;
  /** How often each size came out as the smallest adequate one (null: none was adequate), smallest first. */
  smallestAdequate: Array<{ maxPoolSize: number | null; share: number }>;
  pick?: { maxPoolSize: number; adequateShare: number; withinGoalShare?: number };
}

/**
 * How firmly repeated rounds decide the verdict (a bootstrap). `rounds[i]` holds round i's runs,
 * one per size, measured side by side. Each resample draws as many rounds as there were, with
 * replacement and whole rounds at a time (the sizes of a round shared the machine's state), and
 * judges them as the rounds themselves are judged. When the smallest adequate size moves by
 * several connections between resamples, a goal stated relative to it is finer than the rounds
 * resolve.
 */
export function resampleRounds(rounds: ReadonlyArray<ReadonlyArray<SweepResult['runs'][number]>>, options: ResampleOptions = {}): ResampledVerdicts {
  const resamples = options.resamples ?? 1000;
  if (!Number.isInteger(resamples) || resamples < 1) throw new RangeError(`resamples must be a positive integer, got ${resamples}`);
  if (rounds.length === 0) throw new RangeError('resampleRounds needs at least one round');
  const random = createRandom(options.seed ?? 1);
  const counts = new Map<number | null, number>();
  let pickAdequate = 0;
  let pickWithin = 0;
  for (let r = 0; r < resamples; r++) {
    const runs = Array.from({ length: rounds.length }, () => rounds[Math.floor(random() * rounds.length)]).flat();
    const evaluation = evaluatePoolSizes(pointsFromSweep({ runs }, options.points), options.evaluate ?? {});
    counts.set(evaluation.smallestAdequate, (counts.get(evaluation.smallestAdequate) ?? 0) + 1);
    if (options.pick === undefined) continue;
    const row = evaluation.rows.find((x) => x.maxPoolSize === options.pick);
    if (!row?.adequate) continue;
    pickAdequate++;
    const smallest = evaluation.smallestAdequate;
    if (options.goalFactor !== undefined && smallest !== null && options.pick <= options.goalFactor * smallest + 1e-9) pickWithin++;
  }
  const order = (size: number | null) => (size === null ? Infinity : size);
  const result: ResampledVerdicts = {
    resamples,
    smallestAdequate: [...counts].sort((a, b) => order(a[0]) - order(b[0])).map(([maxPoolSize, n]) => ({ maxPoolSize, share: n / resamples })),
  };
  if (options.pick !== undefined) {
    result.pick = { maxPoolSize: options.pick, adequateShare: pickAdequate / resamples };
    if (options.goalFactor !== undefined) result.pick.withinGoalShare = pickWithin / resamples;
  }
  return result;
}

/** One size's runs over repeated rounds, in round order (as the advisor benchmark's confirmation stores them). */
export interface SizeRounds {
  maxPoolSize: number;
  rounds: ReadonlyArray<{ throughput: number; p99MS: number }>;
}

export interface RoundStability {
  /** The sizes followed from round to round: those whose median throughput over the rounds reached `throughputShare` of the highest one's. */
  plateauSizes: number[];
  /** Each round's level, in round order: the median over the plateau sizes of that round's throughput, and of its p99. */
  rounds: Array<{ throughput: number; p99MS: number }>;
  /** The interquartile range of the rounds' throughput levels over their median. */
  throughputSpread: number;
  /** The same for their p99 levels (reported; the verdict does not use it). */
  p99Spread: number;
  /** throughputSpread ≤ 1 − throughputShare: the middle half of the rounds agree more closely than the yardstick's throughput tolerance. */
  steady: boolean;
}

/**
 * Whether repeated rounds ran on one machine (a precondition of judging sizes by them): the plateau
 * (every size at full throughput) should deliver the same from one round to the next, whatever the
 * pool. When the interquartile range of its round-to-round level exceeds the throughput tolerance
 * (3% by default), the machine itself changed speed by more than the yardstick resolves, and a
 * verdict of "short by 3%" or "p99 1.1 × the best" says more about which rounds a slow spell hit
 * than about the pool; on a 2-core VM with CPU steal this is what it looks like (advisor run R's
 * two fixed shapes: 15.6% and 8.4%, against at most 2.0% in every other stored confirmation).
 */
export function roundStability(sizes: readonly SizeRounds[], criteria: Partial<Pick<VerificationCriteria, 'throughputShare'>> = {}): RoundStability {
  const throughputShare = criteria.throughputShare ?? DEFAULT_CRITERIA.throughputShare;
  const measured = sizes.filter((size) => size.rounds.length > 0);
  if (measured.length === 0) throw new RangeError('roundStability needs at least one size with rounds');
  const levels = measured.map((size) => middle(size.rounds.map((r) => r.throughput)));
  const top = Math.max(...levels);
  const plateau = measured.filter((_, i) => levels[i] >= throughputShare * top);
  const roundCount = Math.max(...plateau.map((size) => size.rounds.length));
  const rounds = Array.from({ length: roundCount }, (_, i) => {
    const runs = plateau.flatMap((size) => (i < size.rounds.length ? [size.rounds[i]] : []));
    return { throughput: middle(runs.map((r) => r.throughput)), p99MS: middle(runs.map((r) => r.p99MS)) };
  });
  const spread = (values: number[]) => (quantile(values, 0.75) - quantile(values, 0.25)) / middle(values);
  const throughputSpread = spread(rounds.map((r) => r.throughput));
  return {
    plateauSizes: plateau.map((size) => size.maxPoolSize).sort((a, b) => a - b),
    rounds,
    throughputSpread,
    p99Spread: spread(rounds.map((r) => r.p99MS)),
    steady: throughputSpread <= 1 - throughputShare + 1e-12,
  };
}
