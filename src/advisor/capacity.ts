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
}

export interface CapacityEstimate {
  /** `given`: the caller stated it; `knee`: estimated from two closed-loop measurements. */
  source: 'given' | 'knee';
  /** Connections the workload keeps busy at the plateau: given, or the knee N* × KNEE_HEADROOM, rounded up. */
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
    low: KneeStep;
    high: KneeStep;
  };
}

/**
 * How far past the knee the pool is sized. N* is where the two asymptotes cross; the measured curve
 * bends round that corner gradually (service and round-trip times vary, so some connections are in
 * transit while the server has a free slot), and the plateau is reached only somewhat past N*.
 * Falling short of the plateau costs throughput and tail latency; 30% more connections cost
 * little. The verification sweep then checks the answer either way. Calibrated with
 * `npm run bench -- advisor`: with 20%, the answer landed at or one connection below the smallest
 * adequate pool on the fixed-service-time shapes (11 vs 12, 20 vs 19–21); 30% puts it inside the
 * goal's window (1 to 1.25 × the smallest adequate) on all three shapes. See BENCHMARKS.md.
 */
export const KNEE_HEADROOM = 1.3;

/**
 * The knee of the throughput curve: a closed system with N connections and no queueing delivers
 * X = N / R_min; once the server saturates it stays at X_max. The two lines cross at
 * N* = X_max × R_min (Little's law at the knee). The capacity is N* × KNEE_HEADROOM, rounded up
 * to whole connections (at least 1). R_min includes the round trip and client-side time, so N*
 * can exceed the server's cores or `maxConcurrentOps`: it counts connections, which are held for
 * the whole round trip.
 */
export function kneeCapacity(minHoldTimeMS: number, maxThroughput: number): { estimate: number; serverCapacity: number } {
  const estimate = (maxThroughput * minHoldTimeMS) / 1000;
  // The epsilon keeps 9.6000001 (floating-point noise) from becoming 10.
  return { estimate, serverCapacity: Math.max(1, Math.ceil(estimate * KNEE_HEADROOM - 1e-6)) };
}

export function kneeStep(measurement: WorkloadMeasurement, concurrency: number): KneeStep {
  return { concurrency, poolSize: measurement.poolSize, throughput: measurement.throughput, holdTimeMeanMS: measurement.holdTimeMS.mean };
}

/** N* from the two steps; `plateau` is a higher throughput seen elsewhere (any measured throughput bounds X_max from below). */
export function estimateFromSteps(low: KneeStep, high: KneeStep, plateau = 0): CapacityEstimate {
  const maxThroughput = Math.max(low.throughput, high.throughput, plateau);
  const { estimate, serverCapacity } = kneeCapacity(low.holdTimeMeanMS, maxThroughput);
  return { source: 'knee', serverCapacity, knee: { minHoldTimeMS: low.holdTimeMeanMS, maxThroughput, estimate, low, high } };
}
