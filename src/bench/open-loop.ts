import { setTimeout as delay } from 'node:timers/promises';
import { requirePositive, requirePositiveInteger } from '../sizing/validate.js';
import { LatencyRecorder } from './histogram.js';
import { ErrorLog, now, perSecond, progressFraction, readRunLength, requireOperation, startProgress } from './run-support.js';
import type { LoadProgress, LoadResult, Operation } from './types.js';

export interface OpenLoopOptions {
  operation: Operation;
  /** Arrival rate in operations per second, independent of how fast the system answers. */
  rate: number;
  /** Schedule operations for this long. */
  durationMS?: number;
  /** Schedule this many operations (with durationMS too: whichever is fewer). */
  operations?: number;
  /** Most operations in flight; an operation due while this many are outstanding is dropped and counted (default 10,000). */
  maxOutstanding?: number;
  /** Stops scheduling; operations in flight finish and are counted. */
  signal?: AbortSignal;
  onProgress?: (progress: LoadProgress) => void;
  progressIntervalMS?: number;
}

const DEFAULT_MAX_OUTSTANDING = 10_000;

/**
 * Open-loop load at a fixed arrival rate (wrk2-style). Operation i is due at start + i/rate,
 * computed from the start time rather than by chaining timers, so timer lateness never
 * accumulates: when the timer fires late, every operation already due is started at once.
 * Latency is measured from the INTENDED start, so time an operation spent waiting to be sent
 * (a late timer, a blocked event loop) counts, which corrects coordinated omission; the latency
 * from the actual start is reported beside it as `uncorrectedLatency`.
 */
export async function runOpenLoop(options: OpenLoopOptions): Promise<LoadResult> {
  requireOperation(options.operation);
  const rate = requirePositive('rate', options.rate);
  const { durationMS, operations } = readRunLength(options.durationMS, options.operations);
  const maxOutstanding =
    options.maxOutstanding === undefined ? DEFAULT_MAX_OUTSTANDING : requirePositiveInteger('maxOutstanding', options.maxOutstanding);
  const { operation, signal } = options;

  const intervalMS = 1000 / rate;
  const scheduled = Math.min(
    operations ?? Infinity,
    durationMS === undefined ? Infinity : Math.max(1, Math.floor((durationMS * rate) / 1000)),
  );

  const latency = new LatencyRecorder();
  const uncorrected = new LatencyRecorder();
  const lag = new LatencyRecorder();
  const errors = new ErrorLog();
  let started = 0;
  let dropped = 0;
  let completed = 0;
  let outstanding = 0;
  let lastStart = 0;
  let lastCompletion = 0;
  let drained: (() => void) | undefined;

  const start = now();
  const stopProgress = startProgress(options.onProgress, options.progressIntervalMS ?? 200, () => ({
    completed,
    errors: errors.count,
    elapsedMS: now() - start,
    fraction: progressFraction(now() - start, completed + dropped, durationMS, operations ?? scheduled),
  }));

  const issue = (index: number, intendedStart: number) => {
    if (outstanding >= maxOutstanding) {
      dropped++;
      return;
    }
    const actualStart = now();
    lag.recordMS(actualStart - intendedStart);
    lastStart = actualStart;
    started++;
    outstanding++;
    // Promise.resolve().then: a synchronous throw becomes a failed operation, not a crash of the scheduler.
    Promise.resolve()
      .then(() => operation(index))
      .then(
        () => {
          const end = now();
          latency.recordMS(end - intendedStart);
          uncorrected.recordMS(end - actualStart);
        },
        (error: unknown) => errors.add(error),
      )
      .finally(() => {
        lastCompletion = now();
        completed++;
        outstanding--;
        if (outstanding === 0) drained?.();
      });
  };

  let next = 0;
  try {
    while (next < scheduled && !signal?.aborted) {
      const due = start + next * intervalMS;
      const wait = due - now();
      if (wait > 0) {
        await sleep(wait, signal);
        continue;
      }
      // Start everything already due (the timer fires late, or the event loop was busy).
      while (next < scheduled && start + next * intervalMS <= now()) {
        issue(next, start + next * intervalMS);
        next++;
      }
    }
    if (outstanding > 0) await new Promise<void>((resolve) => (drained = resolve));
  } finally {
    stopProgress();
  }

  const end = Math.max(lastCompletion, lastStart, start);
  // At least the scheduled window, so drops lower the rate; longer if the generator fell behind.
  const issuingWindowMS = Math.max(lastStart - start + intervalMS, next * intervalMS);
  const lagSummary = lag.summary();
  return {
    mode: 'open',
    ops: completed,
    errors: errors.count,
    durationMS: end - start,
    throughput: perSecond(completed - errors.count, end - start),
    latency: latency.summary(),
    achievedRate: started === 0 ? 0 : perSecond(started, issuingWindowMS),
    targetRate: rate,
    dropped,
    maxOutstanding,
    uncorrectedLatency: uncorrected.summary(),
    schedulingLag: { mean: lagSummary.mean, p99: lagSummary.p99, max: lagSummary.max },
    latencyHistogram: latency.encode(),
    latencyDistribution: latency.distribution(),
    errorSamples: errors.samples,
  };
}

async function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await delay(ms, undefined, signal ? { signal } : undefined);
  } catch (error) {
    if (!signal?.aborted) throw error;
  }
}
