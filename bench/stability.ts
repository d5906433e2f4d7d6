// npm run bench -- stability: did each stored confirmation of the advisor benchmark run on one machine?
// Measures nothing new: it reads every bench/results/advisor-*.json whose confirmation stored its
// rounds and asks roundStability (src/bench/adequacy.ts) how far the plateau's level (every size at
// full throughput, whatever the pool) moved from round to round. A confirmation whose rounds' level
// spreads by more than the yardstick's 3% throughput tolerance (interquartile range over the median)
// cannot judge the goal, and its verdicts are left undecided. Beside it: the plateau each advisor run
// measured (64 callers on 64 connections) against the confirmation's, since a confirmation judges
// the advice for the machine it ran on, which is only the advisor's if the two agree.
import { basename } from 'node:path';
import { pathToFileURL } from 'node:url';
import { roundStability, type RoundStability } from '../src/bench/adequacy.js';
import { machine, median, parseFlags, table, writeResults } from './support/harness.js';
import { advisorResultFiles, readConfirmations, type StoredConfirmation } from './support/stored-confirmations.js';

export interface StabilityRow {
  file: string;
  shape: string;
  cpu: string;
  rounds: number;
  stability: RoundStability;
  /** The median advisor run's plateau throughput over the confirmation's median round level (null: no advisor run recorded one). */
  advisorOverConfirmation: number | null;
  picks: number;
  picksMeetingGoal: number;
}

export function stabilityRows(sources: StoredConfirmation[]): StabilityRow[] {
  return sources.map((source) => {
    const stability = roundStability(source.sizes);
    const level = median(stability.rounds.map((r) => r.throughput));
    return {
      file: basename(source.file),
      shape: source.shape,
      cpu: source.cpu,
      rounds: stability.rounds.length,
      stability,
      advisorOverConfirmation: source.advisorThroughputs.length > 0 ? median(source.advisorThroughputs) / level : null,
      picks: source.picks.length,
      picksMeetingGoal: source.picks.filter((p) => p.meetsGoal).length,
    };
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const flags = parseFlags(process.argv.slice(2), { files: '' });
  const files = flags.files ? String(flags.files).split(',') : advisorResultFiles();
  const sources = readConfirmations(files);
  if (sources.length === 0) throw new Error(`no confirmation with stored rounds in ${files.length} file(s)`);
  const rows = stabilityRows(sources);
  const file = writeResults('stability', { machine: machine(), date: new Date().toISOString(), flags, rows });
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const range = (sizes: number[]) => (sizes.length === 0 ? '-' : `${sizes[0]}..${sizes[sizes.length - 1]} (${sizes.length})`);
  console.log(
    table(
      ['file', 'shape', 'cpu', 'rounds', 'plateau sizes', 'ops/s spread', 'p99 spread', 'steady', 'advisor / confirmation plateau', 'picks meeting the goal'],
      rows.map((r) => [
        r.file,
        r.shape,
        r.cpu,
        r.rounds,
        range(r.stability.plateauSizes),
        pct(r.stability.throughputSpread),
        pct(r.stability.p99Spread),
        r.stability.steady ? 'yes' : 'NO',
        r.advisorOverConfirmation === null ? '-' : r.advisorOverConfirmation.toFixed(3),
        `${r.picksMeetingGoal} of ${r.picks}${r.stability.steady ? '' : ' (undecided)'}`,
      ]),
    ),
  );
  const unsteady = rows.filter((r) => !r.stability.steady);
  console.log(`\n${rows.length - unsteady.length} of ${rows.length} confirmations steady (rounds' plateau spread ≤ 3%)${unsteady.length ? `; not: ${unsteady.map((r) => `${r.file} ${r.shape}`).join(', ')}` : ''}`);
  console.log(`results: ${file}`);
}
