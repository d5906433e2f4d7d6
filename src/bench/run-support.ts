import { performance } from 'node:perf_hooks';
import { PoolConfigError } from '../errors.js';
import { redactText } from '../util/redact.js';
import type { LoadProgress } from './types.js';

export const now = (): number => performance.now();

const MAX_ERROR_SAMPLES = 5;

/** Keeps counts and a few distinct error messages (redacted: errors can quote a URI). */
export class ErrorLog {
  count = 0;
  readonly samples: string[] = [];

  add(error: unknown): void {
    this.count++;
    if (this.samples.length >= MAX_ERROR_SAMPLES) return;
    const text = redactText(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
    if (!this.samples.includes(text)) this.samples.push(text);
  }
}

/** Calls `report` on an unref'd interval while a run is going, and once more when stopped. */
export function startProgress(
  onProgress: ((progress: LoadProgress) => void) | undefined,
  intervalMS: number,
  snapshot: () => LoadProgress,
): () => void {
  if (!onProgress) return () => {};
  const timer = setInterval(() => onProgress(snapshot()), intervalMS);
  timer.unref();
  return () => {
    clearInterval(timer);
    onProgress({ ...snapshot(), fraction: 1 });
  };
}

export function progressFraction(elapsedMS: number, completed: number, durationMS?: number, operations?: number): number {
  const byTime = durationMS ? elapsedMS / durationMS : 0;
  const byCount = operations ? completed / operations : 0;
  return Math.min(1, Math.max(byTime, byCount));
}

/** A run needs an end: a duration, an operation count, or both (whichever comes first). */
export function readRunLength(durationMS: unknown, operations: unknown): { durationMS?: number; operations?: number } {
  if (durationMS === undefined && operations === undefined) {
    throw new PoolConfigError('durationMS', undefined, 'either durationMS or operations is required');
  }
  const result: { durationMS?: number; operations?: number } = {};
  if (durationMS !== undefined) {
    if (typeof durationMS !== 'number' || !Number.isFinite(durationMS) || durationMS <= 0) {
      throw new PoolConfigError('durationMS', durationMS, 'must be a finite number greater than 0');
    }
    result.durationMS = durationMS;
  }
  if (operations !== undefined) {
    if (typeof operations !== 'number' || !Number.isSafeInteger(operations) || operations < 1) {
      throw new PoolConfigError('operations', operations, 'must be an integer of at least 1');
    }
    result.operations = operations;
  }
  return result;
}

export function requireOperation(operation: unknown): void {
  if (typeof operation !== 'function') throw new PoolConfigError('operation', operation, 'must be a function returning a promise');
}

export function perSecond(count: number, durationMS: number): number {
  return durationMS > 0 ? (count * 1000) / durationMS : 0;
}
