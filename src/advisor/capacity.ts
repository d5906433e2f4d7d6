import type { WorkloadMeasurement } from './measure.js';

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
    /** X_max × (R_min + J): connections that keep the server busy through a client stall of J. */
    stallEstimate: number;
    low: KneeStep;
    high: KneeStep;
  };
}

/**
 * How far past the knee the pool is sized at least. N* is where the two asymptotes cross; the
 * measured curve bends round that corner gradually (service and round-trip times vary, so some
 * connections are in transit while the server has a free slot), and the plateau is reached only
 * somewhat past N*. Falling short of the plateau costs throughput and tail latency; 30% more
 * connections cost little. With 20% the answer landed at or one connection below the smallest
 * adequate pool in `npm run bench -- advisor` (11 vs 12, 20 vs 19–21). The client-stall term of
 * kneeCapacity can ask for more; the verification sweep then checks the answer either way.
 */
export const KNEE_HEADROOM = 1.3;

/**
 * The client-stall term of kneeCapacity asks for at most this multiple of N*. A client that stalls
 * so often that it needs more is the bottleneck itself; more connections would only move its
 * backlog to the server. describeKnee says so.
 */
export const KNEE_STALL_LIMIT = 2;

/**
 * The knee of the throughput curve: a closed system with N connections and no queueing delivers
 * X = N / R_min; once the server saturates it stays at X_max. The two lines cross at
 * N* = X_max × R_min (Little's law at the knee). R_min includes the round trip and client-side
 * time, so N* can exceed the server's cores or `maxConcurrentOps`: it counts connections, which
 * are held for the whole round trip.
 *
 * Two things push the plateau past N*, and the capacity covers the larger:
 * - the curve bends round the corner gradually (KNEE_HEADROOM × N*);
 * - the client stalls (garbage collection, a busy event loop). While it does, replies wait unread
 *   and no request is sent, so the server idles unless requests for the stall are already queued
 *   at it: X_max × J more connections, i.e. N = X_max × (R_min + J) with J the p99 stall measured
 *   under load. Without them every stall leaves a backlog in the pool's wait queue. This was
 *   introduced because, in the sweeps of `npm run bench -- advisor`, the p99 of pools just past N*
 *   stayed 10–20% above the plateau's on the 8 × 5 ms shape. The benchmark's later, more precise
 *   confirmation stage supports the term on 16 × 10 ms (the plateau moved with J) but found it too
 *   large on 8 × 5 ms, whose plateau started 1–5 connections past N* (see BENCHMARKS.md).
 * The stall term is limited to KNEE_STALL_LIMIT × N*. Rounded up to whole connections, at least 1.
 */
export function kneeCapacity(
  minHoldTimeMS: number,
  maxThroughput: number,
  clientStallMS = 0,
): { estimate: number; stallEstimate: number; serverCapacity: number } {
  const estimate = (maxThroughput * minHoldTimeMS) / 1000;
  const stallEstimate = (maxThroughput * (minHoldTimeMS + clientStallMS)) / 1000;
  const wanted = Math.max(estimate * KNEE_HEADROOM, Math.min(stallEstimate, estimate * KNEE_STALL_LIMIT));
  // The epsilon keeps 9.6000001 (floating-point noise) from becoming 10.
  return { estimate, stallEstimate, serverCapacity: Math.max(1, Math.ceil(wanted - 1e-6)) };
}

export function kneeStep(measurement: WorkloadMeasurement, concurrency: number): KneeStep {
  return {
    concurrency,
    poolSize: measurement.poolSize,
    throughput: measurement.throughput,
    holdTimeMeanMS: measurement.holdTimeMS.mean,
    clientStallP99MS: measurement.eventLoopDelayMS.p99,
  };
}

/** N* from the two steps; `plateau` is a higher throughput seen elsewhere (any measured throughput bounds X_max from below). */
export function estimateFromSteps(low: KneeStep, high: KneeStep, plateau = 0): CapacityEstimate {
  const maxThroughput = Math.max(low.throughput, high.throughput, plateau);
  const clientStallMS = high.clientStallP99MS ?? 0;
  const { estimate, stallEstimate, serverCapacity } = kneeCapacity(low.holdTimeMeanMS, maxThroughput, clientStallMS);
  return { source: 'knee', serverCapacity, knee: { minHoldTimeMS: low.holdTimeMeanMS, maxThroughput, estimate, clientStallMS, stallEstimate, low, high } };
}

/** One line on how the knee gave the capacity: which term of kneeCapacity decided it. */
export function describeKnee(knee: NonNullable<CapacityEstimate['knee']>, serverCapacity: number): string {
  const base = `N* = X_max ${Math.round(knee.maxThroughput)} ops/s × R_min ${knee.minHoldTimeMS.toFixed(2)} ms = ${knee.estimate.toFixed(1)}`;
  const headroom = knee.estimate * KNEE_HEADROOM;
  const limit = knee.estimate * KNEE_STALL_LIMIT;
  const stall = `X_max × (R_min + J) = ${knee.stallEstimate.toFixed(1)} with the client's p99 stall J ${knee.clientStallMS.toFixed(1)} ms`;
  if (knee.stallEstimate <= headroom) return `${base}; × ${KNEE_HEADROOM} headroom = ${headroom.toFixed(1)} (${stall}) → ${serverCapacity}`;
  if (knee.stallEstimate <= limit) return `${base}; ${stall} (more than N* × ${KNEE_HEADROOM} = ${headroom.toFixed(1)}) → ${serverCapacity}`;
  return (
    `${base}; ${stall}, limited to N* × ${KNEE_STALL_LIMIT} = ${limit.toFixed(1)} → ${serverCapacity} ` +
    `(the client's own stalls limit its throughput: find what blocks its event loop before adding connections)`
  );
}
