// Reads the advisor benchmark's stored confirmations (bench/results/advisor-*.json) for the benchmarks
// that re-analyse them instead of measuring (move-rule, stability).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RESULTS_DIR } from './harness.js';

export interface StoredRound {
  throughput: number;
  p99MS: number;
}

export interface StoredSize {
  maxPoolSize: number;
  adequate: boolean;
  rounds: StoredRound[];
}

export interface StoredConfirmation {
  file: string;
  shape: string;
  /** The CPU the run recorded (`machine.cpu`), or 'unknown'. */
  cpu: string;
  smallestAdequate: number;
  sizes: StoredSize[];
  /** Every advisor run's pick and the confirmation's verdict on it (one entry before --advisor-runs existed). */
  picks: Array<{ maxPoolSize: number; meetsGoal: boolean }>;
  /** The throughput each advisor run measured on the workload's own pool (64 callers, 64 connections: the plateau), ops/s. */
  advisorThroughputs: number[];
}

/** The advisor result files in bench/results (advisor-<run>.json; advisor.json is a copy of the latest), sorted. */
export function advisorResultFiles(): string[] {
  return readdirSync(RESULTS_DIR)
    .filter((f) => /^advisor-[\w-]+\.json$/.test(f))
    .sort()
    .map((f) => join(RESULTS_DIR, f));
}

/** The confirmations in the given result files that stored every size's rounds. */
export function readConfirmations(files: string[]): StoredConfirmation[] {
  const out: StoredConfirmation[] = [];
  for (const file of files) {
    const data = JSON.parse(readFileSync(file, 'utf8'));
    for (const shape of data.shapes ?? []) {
      const c = shape.confirmation;
      if (!c || typeof c.smallestAdequate !== 'number' || !Array.isArray(c.sizes) || !c.sizes.every((s: Partial<StoredSize>) => Array.isArray(s.rounds))) continue;
      const advisors: any[] = shape.advisors ?? (shape.advisor ? [shape.advisor] : []);
      const picks = Array.isArray(c.advices) ? c.advices : c.advice ? [c.advice] : [];
      out.push({
        file,
        shape: String(shape.shape),
        cpu: String(data.machine?.cpu ?? 'unknown'),
        smallestAdequate: c.smallestAdequate,
        sizes: c.sizes,
        picks: picks.map((p: { maxPoolSize: number; meetsGoal: boolean }) => ({ maxPoolSize: p.maxPoolSize, meetsGoal: p.meetsGoal })),
        advisorThroughputs: advisors.map((a) => a?.measurement?.throughput).filter((x): x is number => typeof x === 'number'),
      });
    }
  }
  return out;
}
