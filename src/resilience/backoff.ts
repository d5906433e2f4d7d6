import type { RandomSource } from '../util/random.js';

/**
 * Full-jitter exponential backoff: a uniform delay in [0, min(maxMS, baseMS · 2^retry)).
 * Spreading retries over the whole window keeps clients that failed together from retrying
 * together (AWS Architecture Blog, "Exponential Backoff and Jitter").
 */
export function fullJitterDelay(retry: number, baseMS: number, maxMS: number, random: RandomSource): number {
  const ceiling = Math.min(maxMS, baseMS * 2 ** Math.min(retry, 52));
  return Math.floor(random() * ceiling);
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** Checks a non-negative millisecond option (or a count when `integer`), naming it when wrong. */
export function checkNonNegative(name: string, value: unknown, fallback: number, { integer = false, allowInfinity = false } = {}): number {
  if (value === undefined) return fallback;
  const ok =
    typeof value === 'number' &&
    !Number.isNaN(value) &&
    value >= 0 &&
    (value === Infinity ? allowInfinity : !integer || Number.isInteger(value));
  if (!ok) {
    throw new TypeError(`${name} must be a non-negative ${integer ? 'integer' : 'number'}${allowInfinity ? ' (or Infinity)' : ''} (got ${String(value)})`);
  }
  return value as number;
}
