import type { WorkloadMeasurement } from './measure.js';
import { median } from '../util/stats.js';

/** Callers (and pool size) of the high-concurrency step that finds the throughput plateau X_max. */
export const KNEE_HIGH_CONCURRENCY = 64;

/** One closed-loop step of the knee estimate. */
export interface KneeStep {
  concurrency: number;
  poolSize: number;
  /** Successful operations per second. */
  throughput: number;
  /** Mean connection hold time (check-out to check-in), ms. */
  holdTimeMeanMS: number;
  /** p99 of how late the client's event loop ran during the step (measureWorkload's eventLoopDelayMS), ms. */
  clientStallP99MS?: number;
  /** Operations the mean hold time comes from. */
  holdTimeCount?: number;
  /** Standard deviation of their hold times (over all of them), ms. */
  holdTimeStdDevMS?: number;
  /** Length of the measured run, ms. */
  durationMS?: number;
}

export interface CapacityEstimate {
  /** `given`: the caller stated it; `knee`: estimated from two closed-loop measurements. */
  source: 'given' | 'knee';
  /** Connections the workload keeps busy at the plateau: given, or from the knee (see kneeCapacity), rounded up. */
  serverCapacity: number;
  /** The first knee estimate, when a verified pool showed a higher plateau and the estimate was redone with that X_max. */
  refinedFrom?: { serverCapacity: number; maxThroughput: number };
  knee?: {
    /** R_min: mean hold time with a single caller (no queueing anywhere), ms. */
    minHoldTimeMS: number;
    /** X_max: throughput with many callers and a large pool (the plateau), ops/s. */
    maxThroughput: number;
    /** N* = X_max × R_min, before the headroom and rounding up. */
    estimate: number;
    /** p99 client stall J under load (the high step's), ms; 0 when not measured. */
    clientStallMS: number;
    /** X_max × (R_min + J): connections that would keep the server busy through a client stall of J (shown, not part of serverCapacity). */
    stallEstimate: number;
    low: KneeStep;
    high: KneeStep;
  };
}

/**
 * How far past the knee the pool is sized. N* is where the two asymptotes cross; the measured
 * curve bends round that corner gradually (service and round-trip times vary, and the client's
 * event loop stalls now and then, so some connections are in transit while the server has a free
 * slot), and the plateau is reached only somewhat past N*. Falling short of the plateau costs
 * throughput and tail latency; 30% more connections cost little. With 20% the answer landed at or
 * one connection below the smallest adequate pool in `npm run bench -- advisor` (11 vs 12, 20 vs
 * 19–21). The verification sweep then checks the answer and moves it up if it falls short.
 */
export const KNEE_HEADROOM = 1.3;

/**
 * When the client's stall term X_max × (R_min + J) exceeds this multiple of N*, describeKnee
 * warns that the client's own stalls are as long as a round trip: such a client is the
 * bottleneck, and more connections would only move its backlog to the server.
 */
export const KNEE_STALL_LIMIT = 2;

/**
 * The knee of the throughput curve: a closed system with N connections and no queueing delivers
 * X = N / R_min; once the server saturates it stays at X_max. The two lines cross at
 * N* = X_max × R_min (Little's law at the knee). R_min includes the round trip and client-side
 * time, so N* can exceed the server's cores or `maxConcurrentOps`: it counts connections, which
 * are held for the whole round trip. The capacity is KNEE_HEADROOM × N*, rounded up to whole
 * connections, at least 1.
 *
 * `stallEstimate`, X_max × (R_min + J) with J the client's p99 event-loop stall under load, is
 * reported but not added. It counts the connections that would keep the server busy through a
 * whole stall, and from 2026-12-02 until the eighth benchmark session the capacity covered it
 * too. Once the benchmark's confirmation stage had its precision measured (resampling its rounds),
 * the one run precise enough to tell found it too large: on 8 × 5 ms it asked for 18 connections
 * where 10–12 reached the plateau (see BENCHMARKS.md). Likely reasons, from the model, not
 * measured: a server slot in the middle of an operation keeps working through a stall, and much of
 * J is the client working through a burst of replies, sending as it goes, rather than a pause.
 */
export function kneeCapacity(
  minHoldTimeMS: number,
  maxThroughput: number,
  clientStallMS = 0,
): { estimate: number; stallEstimate: number; serverCapacity: number } {
  const estimate = (maxThroughput * minHoldTimeMS) / 1000;
  const stallEstimate = (maxThroughput * (minHoldTimeMS + clientStallMS)) / 1000;
  // The epsilon keeps 9.6000001 (floating-point noise) from becoming 10.
  return { estimate, stallEstimate, serverCapacity: Math.max(1, Math.ceil(estimate * KNEE_HEADROOM - 1e-6)) };
}

export function kneeStep(measurement: WorkloadMeasurement, concurrency: number): KneeStep {
  return {
    concurrency,
    poolSize: measurement.poolSize,
    throughput: measurement.throughput,
    holdTimeMeanMS: measurement.holdTimeMS.mean,
    clientStallP99MS: measurement.eventLoopDelayMS.p99,
    holdTimeCount: measurement.holdTimeMS.count,
    holdTimeStdDevMS: measurement.holdTimeStdDevMS,
    durationMS: measurement.durationMS,
  };
}

/**
 * How precisely a step knows its mean hold time: the standard error over the mean, s / (mean √n),
 * with s the sample standard deviation. Infinity below two operations (nothing says how they
 * spread); undefined when the step does not count its operations.
 */
export function meanHoldTimeError(step: KneeStep): number | undefined {
  const n = step.holdTimeCount;
  if (n === undefined || step.holdTimeStdDevMS === undefined) return undefined;
  if (n < 2 || step.holdTimeMeanMS <= 0) return Number.POSITIVE_INFINITY;
  const sample = step.holdTimeStdDevMS * Math.sqrt(n / (n - 1));
  return sample / (step.holdTimeMeanMS * Math.sqrt(n));
}

/**
 * R_min should be known to this relative standard error. One caller for 1.5 s sees 1500 / R
 * operations: plenty at 1 ms, about 120 at 12 ms, and a heavy-tailed service time (lognormal,
 * median 10 ms, p99 40 ms: σ/mean ≈ 0.65) then leaves the mean uncertain by ±6%. In the advisor
 * benchmark's lognormal shape (2026-12-06, run S) R_min ranged 10.9–13.7 ms over six runs, and the
 * highest lifted ⌈N* × 1.3⌉ from 6 to 7 connections.
 */
export const LOW_STEP_TARGET_ERROR = 0.03;

/** The single-caller step measures at most this long in all (its measured runs; each extension also warms a new client up), ms. */
export const LOW_STEP_MAX_MS = 6000;

/** At most this many extensions of the single-caller step (each opens and warms up a client). */
export const LOW_STEP_MAX_EXTENSIONS = 3;

/**
 * How much longer (ms) to measure the single-caller step so that its mean hold time reaches
 * LOW_STEP_TARGET_ERROR: the operations still missing, each taking one cycle of the single caller
 * (the step's measured time per operation, which includes the time outside the hold), within
 * LOW_STEP_MAX_MS of measured time in all (`step.durationMS` so far). Sized from the step's own
 * spread, itself an estimate, so the advisor measures again after an extension and extends once
 * more if still short. To the cap when fewer than two operations say nothing of the spread. 0 when
 * precise enough, when the step cannot say, or when less than `minimumMS` would be left.
 */
export function lowStepExtensionMS(step: KneeStep, minimumMS = 250): number {
  const error = meanHoldTimeError(step);
  if (error === undefined || error <= LOW_STEP_TARGET_ERROR) return 0;
  const n = step.holdTimeCount!;
  const measuredMS = step.durationMS ?? 0;
  const cycleMS = measuredMS > 0 && n > 0 ? measuredMS / n : step.throughput > 0 ? 1000 / step.throughput : step.holdTimeMeanMS;
  const wanted = Number.isFinite(error) ? (n * (error / LOW_STEP_TARGET_ERROR) ** 2 - n) * cycleMS : Number.POSITIVE_INFINITY;
  const extension = Math.min(wanted, LOW_STEP_MAX_MS - measuredMS);
  return extension >= minimumMS ? Math.ceil(extension) : 0;
}

/**
 * Two measurements of the same step as one: operations counted together, their mean hold time
 * and its standard deviation those of all the operations, and the throughput over the two runs'
 * measured time (`durationMS`; when a step lacks it, its operations over its throughput).
 */
export function pooledStep(a: KneeStep, b: KneeStep): KneeStep {
  const na = a.holdTimeCount ?? 0;
  const nb = b.holdTimeCount ?? 0;
  if (na === 0 || nb === 0) throw new RangeError('pooledStep needs both steps to count their operations');
  const n = na + nb;
  const mean = (na * a.holdTimeMeanMS + nb * b.holdTimeMeanMS) / n;
  const sa = a.holdTimeStdDevMS ?? 0;
  const sb = b.holdTimeStdDevMS ?? 0;
  // Population variances: each part's spread about its own mean plus its mean's offset from the whole.
  const variance = (na * (sa ** 2 + (a.holdTimeMeanMS - mean) ** 2) + nb * (sb ** 2 + (b.holdTimeMeanMS - mean) ** 2)) / n;
  const runMS = (step: KneeStep, ops: number) => step.durationMS ?? (step.throughput > 0 ? (ops * 1000) / step.throughput : 0);
  const [ta, tb] = [runMS(a, na), runMS(b, nb)];
  const stalls = [a.clientStallP99MS, b.clientStallP99MS].filter((x): x is number => x !== undefined);
  return {
    concurrency: a.concurrency,
    poolSize: a.poolSize,
    // Each run's successes are its throughput × its time.
    throughput: ta + tb > 0 ? (a.throughput * ta + b.throughput * tb) / (ta + tb) : 0,
    holdTimeMeanMS: mean,
    ...(stalls.length > 0 && { clientStallP99MS: Math.max(...stalls) }),
    holdTimeCount: n,
    holdTimeStdDevMS: Math.sqrt(variance),
    durationMS: ta + tb,
  };
}

/**
 * The plateau's throughput from a verification: the median over the sizes larger than the model's
 * answer (each size's own value, not smoothed), with `alsoMeasured` (the knee's own X_max) as one
 * more sample. On a closed-loop plateau a larger pool does not deliver less, so each of them
 * measures the plateau, and their median is robust to a lucky or an unlucky run. Not the fastest
 * size: the best of ten noisy runs is biased upwards (the winner's curse), and an X_max set by one
 * lucky run inflates N*. In the advisor benchmark one such run (373 ops/s against a plateau of
 * about 330) took the lognormal shape's answer from 6 to 7. When the answer is far below the
 * knee, some larger sizes are below it too and the median comes out low: no re-estimate then,
 * and the move up (checked side by side) handles that case.
 */
export function plateauThroughput(rows: ReadonlyArray<{ maxPoolSize: number; throughput: number }>, answer: number, alsoMeasured?: number): number {
  const plateau = rows.filter((row) => row.maxPoolSize > answer && row.throughput > 0).map((row) => row.throughput);
  if (alsoMeasured !== undefined && alsoMeasured > 0) plateau.push(alsoMeasured);
  return plateau.length === 0 ? 0 : median(plateau);
}

/** N* from the two steps; `plateau` is a higher throughput seen elsewhere (any measured throughput bounds X_max from below). */
export function estimateFromSteps(low: KneeStep, high: KneeStep, plateau = 0): CapacityEstimate {
  const maxThroughput = Math.max(low.throughput, high.throughput, plateau);
  const clientStallMS = high.clientStallP99MS ?? 0;
  const { estimate, stallEstimate, serverCapacity } = kneeCapacity(low.holdTimeMeanMS, maxThroughput, clientStallMS);
  return { source: 'knee', serverCapacity, knee: { minHoldTimeMS: low.holdTimeMeanMS, maxThroughput, estimate, clientStallMS, stallEstimate, low, high } };
}

/** One line on how the knee gave the capacity, with the client's stalls beside it. */
export function describeKnee(knee: NonNullable<CapacityEstimate['knee']>, serverCapacity: number): string {
  const error = meanHoldTimeError(knee.low);
  const count = knee.low.holdTimeCount;
  const operations = `${count} operation${count === 1 ? '' : 's'}`;
  const precision = error === undefined ? '' : Number.isFinite(error) ? ` (±${(error * 100).toFixed(1)}%, ${operations})` : ` (${operations})`;
  const base = `N* = X_max ${Math.round(knee.maxThroughput)} ops/s × R_min ${knee.minHoldTimeMS.toFixed(2)} ms${precision} = ${knee.estimate.toFixed(1)}`;
  const headroom = knee.estimate * KNEE_HEADROOM;
  const stall = `the client's p99 stall J ${knee.clientStallMS.toFixed(1)} ms, X_max × (R_min + J) = ${knee.stallEstimate.toFixed(1)}, is not added`;
  const line = `${base}; × ${KNEE_HEADROOM} headroom = ${headroom.toFixed(1)} → ${serverCapacity} (${stall})`;
  if (knee.stallEstimate <= knee.estimate * KNEE_STALL_LIMIT) return line;
  return `${line}; the client's stalls are as long as a round trip: find what blocks its event loop before adding connections`;
}
