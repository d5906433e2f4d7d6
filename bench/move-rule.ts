// npm run bench -- move-rule: how often does the advisor's side-by-side check move the advice up,
// for a size the advisor benchmark's confirmation found adequate (a false move) and for one it
// found short (a shortfall caught)? Replays the check on stored results instead of measuring:
// every bench/results/advisor-*.json with confirmation rounds (16 rounds of every size in a band,
// measured in turn) gives, for each size `a` and each adequate larger size `b` up to
// MAX_ADJUSTMENT × a, one side-by-side pair per round (a's run and b's run of that round). Each
// rule (--rules: how many pairs, all short, a move needs; see SIDE_BY_SIDE_PAIRS) is applied to
// every ordered draw of distinct rounds, pair after pair as the advisor does (sideBySideVerdict,
// isShortOf with the default yardstick), so every rule sees the same draws. Results by a − S (S:
// the confirmation's smallest adequate size), and the mean number of pairs each rule measured.
// Caveats: the rounds are 1200 ms runs taken a band apart, the advisor's pairs 1500 ms runs taken
// back to back; no stalls were injected into the confirmations. Confirmations whose rounds were not
// steady (roundStability: the machine changed speed between rounds) are left out.
import { basename } from 'node:path';
import { pathToFileURL } from 'node:url';
import { roundStability } from '../src/bench/adequacy.js';
import { DEFAULT_CRITERIA, isShortOf, MAX_ADJUSTMENT, sideBySideVerdict } from '../src/advisor/verify.js';
import { machine, parseFlags, RESULTS_DIR, table, writeResults } from './support/harness.js';
import { advisorResultFiles, readConfirmations, type StoredConfirmation, type StoredRound } from './support/stored-confirmations.js';

/** A confirmation as the replay reads it. */
export type ReplaySource = Pick<StoredConfirmation, 'file' | 'shape' | 'smallestAdequate' | 'sizes'>;

/** Every ordered choice of `k` distinct indices below `n`. */
function orderedDraws(n: number, k: number): number[][] {
  const out: number[][] = [];
  const draw = (chosen: number[]) => {
    if (chosen.length === k) return void out.push([...chosen]);
    for (let i = 0; i < n; i++) if (!chosen.includes(i)) draw([...chosen, i]);
  };
  draw([]);
  return out;
}

export interface RuleTally {
  comparisons: number;
  /** Mean share of draws in which the rule moved the advice up. */
  moved: number;
  /** Mean number of pairs measured before the verdict. */
  pairs: number;
}

/** For one smaller size against one larger size: each rule's share of draws that moved, and the pairs it measured. */
export function replayPair(smaller: StoredRound[], larger: StoredRound[], rules: number[]): Map<number, { moved: number; pairs: number }> {
  const rounds = Math.min(smaller.length, larger.length);
  const longest = Math.max(...rules);
  const draws = orderedDraws(rounds, Math.min(longest, rounds));
  const out = new Map<number, { moved: number; pairs: number }>();
  const asRun = (r: StoredRound) => ({ throughput: r.throughput, p99MS: r.p99MS, ok: r.throughput > 0 });
  for (const required of rules) {
    let moved = 0;
    let pairs = 0;
    for (const draw of draws) {
      const shorts: boolean[] = [];
      let verdict: ReturnType<typeof sideBySideVerdict> = 'undecided';
      for (const round of draw) {
        shorts.push(isShortOf(asRun(smaller[round]), asRun(larger[round]), DEFAULT_CRITERIA));
        verdict = sideBySideVerdict(shorts, required);
        if (verdict !== 'undecided') break;
      }
      if (verdict === 'short') moved++;
      pairs += shorts.length;
    }
    out.set(required, { moved: moved / draws.length, pairs: pairs / draws.length });
  }
  return out;
}

/** The offset a − S as the table groups it. */
function bucket(offset: number, maxOffset: number): string {
  if (offset <= -maxOffset) return `≤ −${maxOffset}`;
  if (offset >= maxOffset) return `≥ +${maxOffset}`;
  return offset > 0 ? `+${offset}` : offset < 0 ? `−${-offset}` : '0';
}

export function replay(sources: ReplaySource[], rules: number[], maxOffset: number) {
  const groups = new Map<string, { offset: number; label: string; truth: 'adequate' | 'short'; tallies: Map<number, RuleTally> }>();
  for (const source of sources) {
    for (const a of source.sizes) {
      for (const b of source.sizes) {
        if (!b.adequate || b.maxPoolSize <= a.maxPoolSize || b.maxPoolSize > MAX_ADJUSTMENT * a.maxPoolSize) continue;
        const offset = Math.max(-maxOffset, Math.min(maxOffset, a.maxPoolSize - source.smallestAdequate));
        const truth = a.adequate ? 'adequate' : 'short';
        const label = bucket(offset, maxOffset);
        const key = `${truth}|${label}`;
        const group = groups.get(key) ?? { offset, label, truth, tallies: new Map(rules.map((r) => [r, { comparisons: 0, moved: 0, pairs: 0 }])) };
        groups.set(key, group);
        for (const [rule, result] of replayPair(a.rounds, b.rounds, rules)) {
          const tally = group.tallies.get(rule)!;
          tally.moved = (tally.moved * tally.comparisons + result.moved) / (tally.comparisons + 1);
          tally.pairs = (tally.pairs * tally.comparisons + result.pairs) / (tally.comparisons + 1);
          tally.comparisons++;
        }
      }
    }
  }
  return [...groups.entries()]
    .sort(([, x], [, y]) => x.offset - y.offset || x.truth.localeCompare(y.truth))
    .map(([, g]) => ({ offset: g.label, truth: g.truth, comparisons: g.tallies.get(rules[0])!.comparisons, rules: Object.fromEntries([...g.tallies].map(([rule, t]) => [String(rule), { moved: t.moved, pairs: t.pairs }])) }));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const flags = parseFlags(process.argv.slice(2), { files: '', rules: '2,3', 'max-offset': 3 });
  const rules = String(flags.rules).split(',').map(Number);
  if (!rules.every((r) => Number.isInteger(r) && r >= 1 && r <= 5)) throw new Error(`--rules must list pair counts from 1 to 5, got '${flags.rules}'`);
  const maxOffset = flags['max-offset'];
  if (!(Number.isInteger(maxOffset) && maxOffset >= 1)) throw new Error(`--max-offset must be a positive integer, got ${maxOffset}`);
  const files = flags.files ? String(flags.files).split(',') : advisorResultFiles();
  const stored = readConfirmations(files);
  // Rounds from a machine that changed speed by more than the yardstick resolves say nothing about the rule.
  const sources = stored.filter((source) => roundStability(source.sizes).steady);
  if (sources.length === 0) throw new Error(`no steady confirmation with stored rounds in ${files.length} file(s)`);
  const skipped = stored.filter((source) => !sources.includes(source)).map((source) => `${basename(source.file)} ${source.shape}`);
  process.stderr.write(`move-rule: ${sources.length} confirmations from ${new Set(sources.map((s) => s.file)).size} files${skipped.length ? `; not steady, left out: ${skipped.join(', ')}` : ''}\n`);
  const groups = replay(sources, rules, maxOffset);
  const file = writeResults('move-rule', { machine: machine(), date: new Date().toISOString(), flags, sources: sources.map((s) => ({ file: s.file.replace(`${RESULTS_DIR}/`, ''), shape: s.shape, smallestAdequate: s.smallestAdequate })), groups });
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  console.log(
    table(
      ['a − S', 'a by the confirmation', 'comparisons', ...rules.flatMap((r) => [`moved (${r} of ${r})`, `pairs (${r})`])],
      groups.map((g) => [g.offset, g.truth, g.comparisons, ...rules.flatMap((r) => [pct(g.rules[String(r)].moved), g.rules[String(r)].pairs.toFixed(2)])]),
    ),
  );
  console.log(`\nresults: ${file}`);
}
