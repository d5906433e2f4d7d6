import { test } from 'node:test';
import assert from 'node:assert/strict';
import { replay, replayPair, type ReplaySource } from '../../bench/move-rule.js';

const round = (throughput: number, p99MS = 40) => ({ throughput, p99MS });

test('move-rule replay: each rule applied pair after pair to every ordered draw of rounds', () => {
  const larger = [round(1000), round(1000), round(1000), round(1000)];
  // Short in every round (90% of the throughput): every rule moves, after all its pairs.
  const always = replayPair([round(900), round(900), round(900), round(900)], larger, [2, 3]);
  assert.deepEqual(always.get(2), { moved: 1, pairs: 2 });
  assert.deepEqual(always.get(3), { moved: 1, pairs: 3 });
  // Never short: no move, and the first pair decides.
  assert.deepEqual(replayPair([round(1000), round(990), round(1000), round(1000)], larger, [2, 3]).get(3), { moved: 0, pairs: 1 });
  // Short in 2 of 4 rounds (one by throughput, one by a p99 of 1.25 ×): 2 of 2 moves in 2/4 × 1/3 of the
  // draws, 3 of 3 never (only two rounds are short).
  const half = replayPair([round(900), round(1000, 50), round(1000), round(1000)], larger, [2, 3]);
  assert.ok(Math.abs(half.get(2)!.moved - 1 / 6) < 1e-12, String(half.get(2)!.moved));
  assert.equal(half.get(3)!.moved, 0);
  // Pairs measured by 2 of 2: 1 when the first drawn round keeps up (1/2), else 2.
  assert.ok(Math.abs(half.get(2)!.pairs - 1.5) < 1e-12);
});

test('move-rule replay: comparisons grouped by the smaller size against the smallest adequate, only with adequate larger sizes up to 2 ×', () => {
  const size = (maxPoolSize: number, adequate: boolean, throughput: number) => ({ maxPoolSize, adequate, rounds: [round(throughput), round(throughput), round(throughput)] });
  const source: ReplaySource = { file: 'x', shape: 'x', smallestAdequate: 4, sizes: [size(3, false, 900), size(4, true, 1000), size(5, true, 1000), size(9, true, 1000)] };
  const groups = replay([source], [2, 3], 3);
  const byOffset = Object.fromEntries(groups.map((g) => [`${g.truth} ${g.offset}`, g]));
  // 3 against 4 and 5 (9 is more than 2 × 3): short, caught every time.
  assert.equal(byOffset['short −1'].comparisons, 2);
  assert.equal(byOffset['short −1'].rules['3'].moved, 1);
  // 4 against 5 (not 9: more than 2 × 4); 5 against 9: adequate, never moved.
  assert.equal(byOffset['adequate 0'].comparisons, 1);
  assert.equal(byOffset['adequate +1'].comparisons, 1);
  assert.equal(byOffset['adequate +1'].rules['2'].moved, 0);
});
