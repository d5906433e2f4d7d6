import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { roundStability } from '../../src/bench/index.js';
import * as poolkit from '../../src/index.js';
import { stabilityRows } from '../../bench/stability.js';
import { readConfirmations } from '../../bench/support/stored-confirmations.js';

const run = (throughput: number, p99MS = 50) => ({ throughput, p99MS });
/** A size measured in rounds with the given throughputs (p99 = 50 ms × 1000 / throughput, as a closed loop gives). */
const size = (maxPoolSize: number, throughputs: number[]) => ({ maxPoolSize, rounds: throughputs.map((t) => run(t, (50 * 1000) / t)) });

test('roundStability: each round levelled over the plateau sizes only; steady when the middle half of the rounds agree within 3%', () => {
  const levels = [1000, 1010, 990, 1005, 995, 1000, 1002, 998];
  const sizes = [
    size(4, levels.map((l) => l * 0.5)), // far below the plateau: left out
    size(5, levels.map((l) => l * 0.96)), // 96% of the top: left out
    size(6, levels.map((l) => l * 0.99)),
    size(7, levels),
    size(8, levels.map((l) => l * 1.001)),
  ];
  const stability = roundStability(sizes);
  assert.deepEqual(stability.plateauSizes, [6, 7, 8]);
  assert.equal(stability.rounds.length, 8);
  // Each round's level is the median of sizes 6, 7 and 8 in that round: size 7's value.
  assert.deepEqual(stability.rounds.map((r) => r.throughput), levels);
  assert.ok(Math.abs(stability.rounds[0].p99MS - 50) < 1e-9);
  // Levels sorted: 990 995 998 1000 1000 1002 1005 1010; quartiles (linear) 997.25 and 1002.75.
  assert.ok(Math.abs(stability.throughputSpread - 5.5 / 1000) < 1e-9, String(stability.throughputSpread));
  assert.equal(stability.steady, true);
});

test('roundStability: a machine whose speed moves by 15% between rounds is not steady, whatever the pool', () => {
  const levels = [1500, 1300, 1200, 1500, 1250, 1500, 1280, 1210];
  const stability = roundStability([size(10, levels), size(11, levels), size(12, levels)]);
  assert.ok(stability.throughputSpread > 0.15, String(stability.throughputSpread));
  assert.ok(stability.p99Spread > 0.05, String(stability.p99Spread));
  assert.equal(stability.steady, false);
});

test('roundStability: the tolerance is the yardstick throughput share, inclusive', () => {
  // Quartiles 985 and 1015 of a median of 1000: a spread of exactly 3%.
  const levels = [970, 985, 1000, 1015, 1030];
  const stability = roundStability([size(3, levels)]);
  assert.ok(Math.abs(stability.throughputSpread - 0.03) < 1e-9, String(stability.throughputSpread));
  assert.equal(stability.steady, true);
  assert.equal(roundStability([size(3, levels)], { throughputShare: 0.99 }).steady, false);
  assert.throws(() => roundStability([]), RangeError);
  // Importable from the package root, as docs/sizing.md shows it (with resampleRounds beside it).
  assert.equal(poolkit.roundStability, roundStability);
  assert.equal(typeof poolkit.resampleRounds, 'function');
  assert.throws(() => roundStability([{ maxPoolSize: 1, rounds: [] }]), /at least one size with rounds/);
});

test('stored confirmations: read back from a result file, judged for steadiness beside the advisor runs they judge', () => {
  const dir = mkdtempSync(join(tmpdir(), 'poolkit-stability-'));
  try {
    const steadyLevels = [1500, 1505, 1495, 1500];
    const data = {
      machine: { cpu: 'Test CPU' },
      shapes: [
        {
          shape: 'steady shape',
          advisors: [{ measurement: { throughput: 1530 } }, { measurement: { throughput: 1470 } }, { capacity: { source: 'given' } }],
          confirmation: {
            smallestAdequate: 11,
            advices: [{ run: 1, maxPoolSize: 12, meetsGoal: true }, { run: 2, maxPoolSize: 20, meetsGoal: false }],
            sizes: [10, 11, 12].map((n) => ({ maxPoolSize: n, adequate: n >= 11, rounds: steadyLevels.map((t) => run(t)) })),
          },
        },
        { shape: 'no rounds stored', confirmation: { smallestAdequate: 4, sizes: [{ maxPoolSize: 4, adequate: true }] } },
      ],
    };
    const file = join(dir, 'advisor-x.json');
    writeFileSync(file, JSON.stringify(data));
    const sources = readConfirmations([file]);
    assert.equal(sources.length, 1, 'a confirmation without rounds is skipped');
    assert.deepEqual(sources[0].picks, [{ maxPoolSize: 12, meetsGoal: true }, { maxPoolSize: 20, meetsGoal: false }]);
    assert.deepEqual(sources[0].advisorThroughputs, [1530, 1470]);
    assert.equal(sources[0].cpu, 'Test CPU');
    const [row] = stabilityRows(sources);
    assert.equal(row.file, 'advisor-x.json');
    assert.equal(row.stability.steady, true);
    assert.equal(row.picks, 2);
    assert.equal(row.picksMeetingGoal, 1);
    // The advisor runs' median plateau (1500) over the rounds' median level (1500).
    assert.ok(Math.abs(row.advisorOverConfirmation! - 1) < 1e-9);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
