/**
 * Histogram bucket bounds in seconds shared by the Prometheus and OpenTelemetry exporters:
 * the OpenTelemetry semantic-convention advice (1 ms … 10 s) extended below 1 ms, where pool
 * waits and in-memory operations usually fall.
 */
export const DEFAULT_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

/** Validates user bounds: finite, positive, strictly increasing. */
export function checkBuckets(buckets: unknown, option: string): readonly number[] | string {
  if (!Array.isArray(buckets) || buckets.length === 0) return `${option} must be a non-empty array of seconds`;
  for (let i = 0; i < buckets.length; i++) {
    const b = buckets[i];
    if (typeof b !== 'number' || !Number.isFinite(b) || b <= 0) return `${option}[${i}] must be a positive number of seconds`;
    if (i > 0 && b <= buckets[i - 1]) return `${option} must be strictly increasing`;
  }
  return buckets as number[];
}
