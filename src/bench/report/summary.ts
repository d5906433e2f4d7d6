import { evaluatePoolSizes, pointsFromSweep, type VerificationCriteria } from '../adequacy.js';
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

/** Tolerances of `smallestAdequateRun` (defaults: the advisor's yardstick, see adequacy.ts). */
export type AdequacyCriteria = Partial<VerificationCriteria>;

/**
 * The smallest pool whose run is as good as the best within tolerances: throughput ≥ 97% of the
 * best and p99 ≤ 1.1 × the best p99 (the advisor's yardstick, evaluatePoolSizes). Undefined when
 * no run qualifies.
 */
export function smallestAdequateRun(sweep: SweepResult, criteria: AdequacyCriteria = {}): SweepRun | undefined {
  const row = evaluatePoolSizes(pointsFromSweep(sweep), { criteria }).rows.find((r) => r.adequate);
  return row && sweep.runs.find((run) => run.label === row.label);
}
