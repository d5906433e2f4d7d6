import type { SweepResult, SweepRun } from '../sweep.js';

/** The run with the highest throughput, and the one with the lowest p99 (ties: smaller pool). */
export function bestRuns(sweep: SweepResult): { throughput?: SweepRun; p99?: SweepRun } {
  let throughput: SweepRun | undefined;
  let p99: SweepRun | undefined;
  for (const run of sweep.runs) {
    if (!throughput || run.result.throughput > throughput.result.throughput) throughput = run;
    if (run.result.ops > run.result.errors && (!p99 || run.result.latency.p99 < p99.result.latency.p99)) p99 = run;
  }
  return { ...(throughput && { throughput }), ...(p99 && { p99 }) };
}

export function describeLoad(sweep: SweepResult): string {
  const length = [
    sweep.durationMS !== undefined ? `${sweep.durationMS} ms` : '',
    sweep.operations !== undefined ? `${sweep.operations} ops` : '',
  ].filter(Boolean).join(' or ');
  const shape =
    sweep.load.mode === 'closed'
      ? `closed loop, ${sweep.load.concurrency} workers`
      : `open loop, ${sweep.load.rate} ops/s${sweep.load.maxOutstanding !== undefined ? ` (max ${sweep.load.maxOutstanding} outstanding)` : ''}`;
  return `${shape}, ${length} per config after ${sweep.warmupMS} ms warm-up`;
}

export interface AdequacyCriteria {
  /** Share of the best throughput a run must reach (default 0.97). */
  throughputShare?: number;
  /** Largest acceptable p99 as a multiple of the best p99 (default 1.1). */
  p99Factor?: number;
}

/**
 * The smallest pool whose run is as good as the best within tolerances: throughput ≥ 97% of the
 * best and p99 ≤ 1.1 × the best p99 (the advisor's yardstick). Undefined when no run qualifies.
 */
export function smallestAdequateRun(sweep: SweepResult, criteria: AdequacyCriteria = {}): SweepRun | undefined {
  const { throughput, p99 } = bestRuns(sweep);
  if (!throughput || !p99) return undefined;
  const minThroughput = throughput.result.throughput * (criteria.throughputShare ?? 0.97);
  const maxP99 = p99.result.latency.p99 * (criteria.p99Factor ?? 1.1);
  return [...sweep.runs]
    .sort((a, b) => a.config.maxPoolSize - b.config.maxPoolSize)
    .find((run) => run.result.throughput >= minThroughput && run.result.latency.p99 <= maxP99);
}
