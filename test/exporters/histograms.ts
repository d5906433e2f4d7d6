import assert from 'node:assert/strict';
import type { MongoClient } from 'mongodb';
import type { LatencySummary } from '../../src/monitor/index.js';

/** A cumulative bucket: how many values are ≤ `le` seconds. */
export interface Cumulative {
  le: number;
  count: number;
}

/**
 * Checks exported cumulative buckets against the snapshot's summary of the same values:
 * - a bound at or above the exact `max` holds every value;
 * - for each percentile p (HDR: the top of the bucket holding the exact percentile, clamped to
 *   [min, max]), a bound ≥ p holds at least that share of the values, and a bound below p by more
 *   than the HDR precision (0.2 % relative, 1 µs absolute) holds fewer.
 * `slackMS` widens both comparisons for buckets built from unrounded values (OpenTelemetry's:
 * the snapshot keeps microseconds).
 * This ties every bucket near a percentile to the snapshot, not only count, sum and mean.
 */
export function assertBucketsMatchSummary(buckets: readonly Cumulative[], summary: LatencySummary, what: string, slackMS = 0): void {
  const precision = 2e-3; // 3 significant digits (the default)
  for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i].count >= buckets[i - 1].count, `${what}: cumulative`);
  for (const { le, count } of buckets) {
    const ms = le * 1000;
    if (ms >= summary.max + slackMS) assert.equal(count, summary.count, `${what} le=${le} ≥ max ${summary.max} ms holds every value`);
    for (const [q, p] of [
      [0.5, summary.p50],
      [0.95, summary.p95],
      [0.99, summary.p99],
    ] as const) {
      const rank = Math.max(1, Math.ceil(q * summary.count));
      if (ms >= p + slackMS) assert.ok(count >= rank, `${what} le=${le}: ${count} values ≤ it, p${q * 100} = ${p} ms needs ${rank}`);
      else if (ms < p * (1 - precision) - 0.001 - slackMS) assert.ok(count < rank, `${what} le=${le}: ${count} values ≤ it, below p${q * 100} = ${p} ms`);
    }
  }
}

/** The driver's own wait times (`connectionCheckedOut.durationMS`), collected independently of the monitor. */
export function collectWaits(client: MongoClient): { values: number[]; stop(): void } {
  const values: number[] = [];
  const fn = (e: { durationMS?: number }) => values.push(e.durationMS ?? 0);
  client.on('connectionCheckedOut', fn);
  return { values, stop: () => client.off('connectionCheckedOut', fn) };
}

/** Exact cumulative counts of whole-millisecond values at each bound in seconds. */
export function exactCumulative(valuesMS: readonly number[], bounds: readonly number[]): Cumulative[] {
  return bounds.map((le) => ({ le, count: valuesMS.filter((v) => v / 1000 <= le).length }));
}
