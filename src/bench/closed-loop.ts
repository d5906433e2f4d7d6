import { requirePositiveInteger } from '../sizing/validate.js';
import { LatencyRecorder } from './histogram.js';
import { ErrorLog, now, perSecond, progressFraction, readRunLength, requireOperation, startProgress } from './run-support.js';
import type { LoadProgress, LoadResult, Operation } from './types.js';

export interface ClosedLoopOptions {
  operation: Operation;
  /** Workers, each issuing its next operation as soon as the previous one finishes (no think time). */
  concurrency: number;
  /** Stop starting operations after this long. */
  durationMS?: number;
  /** Stop after this many operations (with durationMS too: whichever comes first). */
  operations?: number;
  /** Stops starting operations; the ones in flight finish and are counted. */
  signal?: AbortSignal;
  onProgress?: (progress: LoadProgress) => void;
  progressIntervalMS?: number;
}

/**
 * Closed-loop load: a fixed number of workers. It measures what the system can sustain, but a
 * worker stuck on a slow operation stops sampling (coordinated omission), so its latency
 * percentiles understate stalls; use the open loop for latency.
 */
export async function runClosedLoop(options: ClosedLoopOptions): Promise<LoadResult> {
  requireOperation(options.operation);
  const concurrency = requirePositiveInteger('concurrency', options.concurrency);
  const { durationMS, operations } = readRunLength(options.durationMS, options.operations);
  const { operation, signal } = options;

  const latency = new LatencyRecorder();
  const errors = new ErrorLog();
  let started = 0;
  let completed = 0;
  const start = now();
  const deadline = durationMS === undefined ? Infinity : start + durationMS;

  const stopProgress = startProgress(options.onProgress, options.progressIntervalMS ?? 200, () => ({
    completed,
    errors: errors.count,
    elapsedMS: now() - start,
    fraction: progressFraction(now() - start, completed, durationMS, operations),
  }));

  const mayStart = () => !signal?.aborted && (operations === undefined || started < operations) && now() < deadline;

  const worker = async () => {
    while (mayStart()) {
      const index = started++;
      const opStart = now();
      try {
        await operation(index);
        latency.recordMS(now() - opStart);
      } catch (error) {
        errors.add(error);
      }
      completed++;
    }
  };

  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    stopProgress();
  }
  const elapsedMS = now() - start;
  return {
    mode: 'closed',
    ops: completed,
    errors: errors.count,
    durationMS: elapsedMS,
    throughput: perSecond(completed - errors.count, elapsedMS),
    latency: latency.summary(),
    achievedRate: perSecond(started, elapsedMS),
    concurrency,
    latencyHistogram: latency.encode(),
    latencyDistribution: latency.distribution(),
    errorSamples: errors.samples,
  };
}
