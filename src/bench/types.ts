import type { DistributionPoint, LatencySummary } from './histogram.js';

/** One unit of load: issues a single driver operation. `index` counts from 0 within a run. */
export type Operation = (index: number) => Promise<unknown>;

/** Reported while a generator runs (at most every `progressIntervalMS`) and once at the end. */
export interface LoadProgress {
  /** Operations finished so far (succeeded or failed). */
  completed: number;
  errors: number;
  elapsedMS: number;
  /** 0..1: the larger of time elapsed / durationMS and operations finished / operations. */
  fraction: number;
}

export interface LoadResult {
  mode: 'closed' | 'open';
  /** Operations that finished, succeeded or failed. */
  ops: number;
  /** How many of `ops` failed (their latency is not recorded). */
  errors: number;
  /** From the first (intended) start to the last completion. */
  durationMS: number;
  /** Successful operations per second over `durationMS`. */
  throughput: number;
  /** Latency of successful operations in ms; open loop: measured from each operation's intended start. */
  latency: LatencySummary;
  /** Operations started per second: closed loop, over `durationMS`; open loop, over the issuing window. */
  achievedRate: number;
  /** Open loop: the requested arrival rate (ops/s). */
  targetRate?: number;
  /** Closed loop: the number of workers. */
  concurrency?: number;
  /** Open loop: operations not started because `maxOutstanding` were already in flight. */
  dropped?: number;
  /** Open loop: the limit on operations in flight. */
  maxOutstanding?: number;
  /** Open loop: latency measured from the actual start (what a coordinated-omission-prone tool reports). */
  uncorrectedLatency?: LatencySummary;
  /** Open loop: how late operations were started relative to their schedule, in ms. */
  schedulingLag?: { mean: number; p99: number; max: number };
  /**
   * The histogram behind `latency` (microseconds, HdrHistogram's compressed base64; see
   * LatencyRecorder.merge): runs merged this way give the percentiles of all their operations.
   */
  latencyHistogram?: string;
  /** Latency percentile distribution (ms) for charts. */
  latencyDistribution: DistributionPoint[];
  /** Up to five distinct error messages, to tell what failed. */
  errorSamples: string[];
}
