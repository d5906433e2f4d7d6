import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  describeKnee,
  estimateFromSteps,
  KNEE_HEADROOM,
  KNEE_STALL_LIMIT,
  kneeCapacity,
  LOW_STEP_MAX_MS,
  LOW_STEP_TARGET_ERROR,
  lowStepExtensionMS,
  meanHoldTimeError,
  plateauThroughput,
  pooledStep,
  type KneeStep,
} from '../../src/advisor/capacity.js';
import { evaluatePoolSizes, isShortOf, pairP99Judged, pointsFromSweep, SIDE_BY_SIDE_PAIRS, sideBySideVerdict, verifiedPoolSize, type PoolSizePoint } from '../../src/advisor/verify.js';
import { LatencyRecorder, resampleRounds, type PointsOptions } from '../../src/bench/index.js';
import { ruleAnswers } from '../../src/advisor/rules.js';
import { betweenSize, movedTo, narrowMove, type BetweenStep, type PairedCheck, type SideBySideOutcome } from '../../src/advisor/advise.js';
import type { WorkloadMeasurement } from '../../src/advisor/measure.js';
import type { SweepResult, SweepRun } from '../../src/bench/index.js';

const point = (maxPoolSize: number, throughput: number, p99MS: number, extra: Partial<PoolSizePoint> = {}): PoolSizePoint => ({
  label: String(maxPoolSize),
  maxPoolSize,
  runs: 1,
  throughput,
  p50MS: p99MS / 2,
  p99MS,
  waitP99MS: 0,
  ops: 1000,
  errors: 0,
  dropped: 0,
  ...extra,
});

test('knee: N* = X_max × R_min, rounded up to whole connections, at least 1', () => {
  // 1600 ops/s at the plateau, 7 ms per operation alone: N* = 11.2, × 1.3 headroom = 14.56 → 15.
  assert.equal(KNEE_HEADROOM, 1.3);
  assert.deepEqual(kneeCapacity(7, 1600), { estimate: 11.2, stallEstimate: 11.2, serverCapacity: 15 });
  // Exactly 8 (5 ms × 1600/s) × 1.3 = 10.4 → 11; exactly 10 (5 ms × 2000/s × 1.3 = 13) stays 13 despite floating point.
  assert.equal(kneeCapacity(5, 1600).serverCapacity, 11);
  assert.equal(kneeCapacity(5, 2000).serverCapacity, 13);
  assert.equal(kneeCapacity(0.1, 100).serverCapacity, 1);
  const estimate = estimateFromSteps(
    { concurrency: 1, poolSize: 1, throughput: 140, holdTimeMeanMS: 7 },
    { concurrency: 64, poolSize: 64, throughput: 1500, holdTimeMeanMS: 42 },
    1600,
  );
  assert.equal(estimate.source, 'knee');
  assert.equal(estimate.knee?.maxThroughput, 1600, 'a higher throughput seen elsewhere bounds the plateau from below');
  assert.equal(estimate.serverCapacity, 15);
  assert.equal(estimate.knee?.clientStallMS, 0, 'no stall measured: the headroom alone decides');
});

test('knee: the client stall term X_max × (R_min + J) is reported, not added; a stall as long as a round trip is flagged', () => {
  // 1500 ops/s, R_min 6 ms: N* = 9, × 1.3 = 11.7 → 12 whatever the stall. A 4 ms p99 stall: 1500 × 10 ms = 15, reported only.
  assert.deepEqual(kneeCapacity(6, 1500, 4), { estimate: 9, stallEstimate: 15, serverCapacity: 12 });
  assert.equal(kneeCapacity(6, 1500, 1).serverCapacity, 12);
  assert.equal(kneeCapacity(6, 1500, 40).serverCapacity, 12);

  // The stall is the high-concurrency step's (measured under load), not the single caller's.
  const steps = (lowStall: number, highStall: number) =>
    estimateFromSteps(
      { concurrency: 1, poolSize: 1, throughput: 160, holdTimeMeanMS: 6, clientStallP99MS: lowStall },
      { concurrency: 64, poolSize: 64, throughput: 1500, holdTimeMeanMS: 42, clientStallP99MS: highStall },
    );
  const stalled = steps(30, 4);
  assert.equal(stalled.serverCapacity, 12);
  assert.equal(stalled.knee?.clientStallMS, 4);
  assert.equal(stalled.knee?.stallEstimate, 15);

  // The explanation gives the headroom's arithmetic and the stall beside it; past KNEE_STALL_LIMIT × N* it warns.
  assert.equal(KNEE_STALL_LIMIT, 2);
  const plain = describeKnee(stalled.knee!, 12);
  assert.match(plain, /N\* = X_max 1500 ops\/s × R_min 6\.00 ms = 9\.0; × 1\.3 headroom = 11\.7 → 12 \(the client's p99 stall J 4\.0 ms, X_max × \(R_min \+ J\) = 15\.0, is not added\)$/);
  // A 13 ms stall: X_max × (R_min + J) = 28.5 > 2 × N* = 18.
  assert.match(describeKnee(steps(0, 13).knee!, 12), /is not added\); the client's stalls are as long as a round trip: .*event loop/);
  assert.doesNotMatch(plain, /event loop/);
});

test('knee: the single-caller step measures on for the operations R_min needs to be known to ±3%, within 6 s of measuring', () => {
  const low = (holdTimeMeanMS: number, holdTimeStdDevMS: number, holdTimeCount: number, durationMS = 1500): KneeStep => ({
    concurrency: 1,
    poolSize: 1,
    throughput: (holdTimeCount * 1000) / durationMS,
    holdTimeMeanMS,
    holdTimeCount,
    holdTimeStdDevMS,
    durationMS,
  });
  assert.equal(LOW_STEP_TARGET_ERROR, 0.03);
  assert.equal(LOW_STEP_MAX_MS, 6000);
  // The sample standard deviation over √n: a fixed 5 ms service, σ/mean 0.1 over 270 operations, ±0.6%: precise already.
  const fixed = low(5.5, 0.55, 270);
  assert.ok(Math.abs(meanHoldTimeError(fixed)! - 0.1 / Math.sqrt(269)) < 1e-12);
  assert.equal(lowStepExtensionMS(fixed), 0);
  // Lognormal, mean 12 ms, σ 7.8 ms, 125 operations in 1.5 s (12 ms a cycle): ±5.8%. ±3% needs
  // 125 × (5.8 / 3)² ≈ 470 operations: the missing ones at 12 ms each.
  const heavy = low(12, 7.8, 125);
  const error = meanHoldTimeError(heavy)!;
  assert.ok(Math.abs(error - 0.65 / Math.sqrt(124)) < 1e-12);
  assert.equal(lowStepExtensionMS(heavy), Math.ceil(125 * ((error / 0.03) ** 2 - 1) * 12));
  // A cycle is the measured time per operation, longer than the hold when the caller spends time outside it.
  // (σ 6 ms here so that neither is capped: ±4.5%, about 1.9 s at 12 ms a cycle and 2.0 s at 13 ms.)
  const narrower = meanHoldTimeError(low(12, 6, 125))!;
  assert.equal(lowStepExtensionMS(low(12, 6, 125)), Math.ceil(125 * ((narrower / 0.03) ** 2 - 1) * 12));
  assert.equal(lowStepExtensionMS(low(12, 6, 125, 1625)), Math.ceil(125 * ((narrower / 0.03) ** 2 - 1) * 13));
  // The cap counts the time measured already: 6 s less 1.625 s.
  assert.equal(lowStepExtensionMS(low(12, 7.8, 125, 1625)), 6000 - 1625);
  // Slower still: capped at 6 s of measuring in all; nothing when under 250 ms would be left.
  assert.equal(lowStepExtensionMS(low(60, 39, 25)), 4500);
  assert.equal(lowStepExtensionMS(low(60, 39, 25, 5800)), 0);
  // One operation says nothing of the spread: unknown precision, measure to the cap.
  assert.equal(meanHoldTimeError(low(900, 0, 1)), Infinity);
  assert.equal(lowStepExtensionMS(low(900, 0, 1)), 4500);
  // A step that does not count its operations (older results) is left alone.
  assert.equal(meanHoldTimeError({ concurrency: 1, poolSize: 1, throughput: 80, holdTimeMeanMS: 12 }), undefined);
  assert.equal(lowStepExtensionMS({ concurrency: 1, poolSize: 1, throughput: 80, holdTimeMeanMS: 12 }), 0);
});

test('knee: an extended step pools its operations (mean, spread and throughput of them all), and describeKnee says how precise R_min is', () => {
  // 100 operations at 10 ms ± 2, then 300 at 14 ms ± 4: 400 at 13 ms; variance (100 × (4 + 9) + 300 × (16 + 1)) / 400 = 16.
  // 1 s at 100 ops/s and 4 s at 70 ops/s: 380 successes in 5 s.
  const a: KneeStep = { concurrency: 1, poolSize: 1, throughput: 100, holdTimeMeanMS: 10, holdTimeCount: 100, holdTimeStdDevMS: 2, clientStallP99MS: 3, durationMS: 1000 };
  const b: KneeStep = { concurrency: 1, poolSize: 1, throughput: 70, holdTimeMeanMS: 14, holdTimeCount: 300, holdTimeStdDevMS: 4, clientStallP99MS: 1, durationMS: 4000 };
  const pooled = pooledStep(a, b);
  assert.equal(pooled.holdTimeCount, 400);
  assert.ok(Math.abs(pooled.holdTimeMeanMS - 13) < 1e-12);
  assert.ok(Math.abs(pooled.holdTimeStdDevMS! - 4) < 1e-12);
  assert.equal(pooled.durationMS, 5000);
  assert.ok(Math.abs(pooled.throughput - 380 / 5) < 1e-9);
  // Without the runs' lengths, each is its operations over its throughput: 1 s and 300/70 s.
  const { durationMS: _a, ...aNoTime } = a;
  const { durationMS: _b, ...bNoTime } = b;
  assert.ok(Math.abs(pooledStep(aNoTime, bNoTime).throughput - 400 / (1 + 300 / 70)) < 1e-9);
  assert.equal(pooled.clientStallP99MS, 3, 'the worse stall of the two');
  assert.throws(() => pooledStep({ concurrency: 1, poolSize: 1, throughput: 1, holdTimeMeanMS: 1 }, b), RangeError);

  const estimate = estimateFromSteps(pooled, { concurrency: 64, poolSize: 64, throughput: 300, holdTimeMeanMS: 200 });
  // ±4 × √(400/399) / (13 × √400) = ±1.5%.
  assert.match(describeKnee(estimate.knee!, estimate.serverCapacity), /^N\* = X_max 300 ops\/s × R_min 13\.00 ms \(±1\.5%, 400 operations\) = 3\.9; /);
  // One very slow operation: its count, no precision.
  const single = estimateFromSteps({ concurrency: 1, poolSize: 1, throughput: 1, holdTimeMeanMS: 900, holdTimeCount: 1, holdTimeStdDevMS: 0 }, { concurrency: 64, poolSize: 64, throughput: 60, holdTimeMeanMS: 1000 });
  assert.match(describeKnee(single.knee!, single.serverCapacity), /R_min 900\.00 ms \(1 operation\) = /);
});

test('knee: the plateau is the median of the sizes larger than the answer, with X_max as one more, not the luckiest run', () => {
  // The answer 6; half of it far below; one lucky run of 373 among sizes that reach 329..336.
  const rows = [
    { maxPoolSize: 3, throughput: 170 },
    { maxPoolSize: 5, throughput: 320 },
    { maxPoolSize: 6, throughput: 325 },
    { maxPoolSize: 7, throughput: 331 },
    { maxPoolSize: 8, throughput: 373 },
    { maxPoolSize: 9, throughput: 329 },
    { maxPoolSize: 12, throughput: 336 },
    { maxPoolSize: 100, throughput: 334 },
  ];
  // 323 (X_max), 329, 331, 334, 336, 373: the median is (331 + 334) / 2, not 373.
  assert.equal(plateauThroughput(rows, 6, 323), 332.5);
  assert.equal(plateauThroughput(rows, 6), 334);
  // Failed sizes (no throughput) do not count; nothing larger measured: X_max alone, or 0.
  assert.equal(plateauThroughput([...rows, { maxPoolSize: 64, throughput: 0 }], 6), 334);
  assert.equal(plateauThroughput(rows, 100, 323), 323);
  assert.equal(plateauThroughput([], 6), 0);
});

test('evaluation: the yardstick is ≥ 97% of the best throughput and p99 ≤ 1.1 × the best p99', () => {
  const points = [point(4, 600, 100), point(8, 1200, 52), point(10, 1560, 41), point(12, 1600, 40), point(16, 1590, 43), point(100, 1500, 60)];
  const e = evaluatePoolSizes(points, { pick: 12, marks: { 12: ['recommended'], 100: ['driver default'] } });
  assert.deepEqual(e.best, { throughput: { maxPoolSize: 12, value: 1600 }, p99: { maxPoolSize: 12, value: 40 } });
  // 10: 97.5% and 1.025× → yes; 16: 99.4%, 1.075× → yes; 100: 93.75% → no; 8: 75% → no.
  assert.deepEqual(e.adequate, [10, 12, 16]);
  assert.equal(e.smallestAdequate, 10);
  assert.equal(e.pick?.adequate, true);
  assert.equal(e.pick?.overSmallestAdequate, 1.2);
  assert.deepEqual(e.rows.find((r) => r.maxPoolSize === 100)?.marks, ['driver default']);
  assert.equal(verifiedPoolSize(e, 12), 12, 'an adequate pick stays');
});

test('evaluation: a pick that fails moves up to the smallest larger adequate size', () => {
  const points = [point(6, 900, 80), point(8, 1100, 60), point(10, 1570, 41), point(14, 1600, 40), point(18, 1595, 40)];
  const e = evaluatePoolSizes(points, { pick: 8 });
  assert.equal(e.pick?.adequate, false);
  assert.deepEqual(e.adequate, [10, 14, 18]);
  assert.equal(verifiedPoolSize(e, 8), 10);
  // Nothing qualifies (all runs failed): the pick stays.
  const failed = evaluatePoolSizes([point(4, 0, 0, { errors: 1000 }), point(8, 0, 0, { errors: 1000 })], { pick: 4 });
  assert.deepEqual(failed.adequate, []);
  assert.equal(verifiedPoolSize(failed, 4), 4);
});

test('evaluation: a failing pick above an adequate size is kept (on the plateau its shortfall is noise)', () => {
  // 12 measured 95% (an unlucky run) while 10 and 16 qualified: shrinking to 10 would follow the noise.
  const points = [point(8, 1100, 60), point(10, 1570, 41), point(12, 1520, 42), point(16, 1600, 40)];
  const e = evaluatePoolSizes(points, { pick: 12 });
  assert.equal(e.pick?.adequate, false);
  assert.deepEqual(e.adequate, [10, 16]);
  assert.equal(verifiedPoolSize(e, 12), 12);
});

test('evaluation: a size is judged with its two neighbours (median of three), which keeps a knee and drops an outlier', () => {
  // A knee at 8, then a plateau; 12 had one unlucky run (90%, p99 1.8 ×) and 14 one lucky one
  // (1700 ops/s, p99 30 ms) that would otherwise set the best every size is held to.
  const curve: Array<[number, number, number]> = [
    [5, 1000, 70], [6, 1200, 60], [7, 1400, 50], [8, 1580, 41], [9, 1600, 40], [10, 1600, 41],
    [11, 1590, 40], [12, 1440, 72], [13, 1600, 40], [14, 1700, 30], [15, 1595, 41], [16, 1600, 40],
  ];
  const points = curve.map(([n, x, p99]) => point(n, x, p99));
  const smoothed = evaluatePoolSizes(points, { pick: 12 });
  assert.equal(smoothed.criteria.smoothNeighbours, true, 'on by default');
  assert.equal(smoothed.pick?.adequate, true, '12 is judged by median(11, 12, 13)');
  const twelve = smoothed.rows.find((r) => r.maxPoolSize === 12)!;
  assert.deepEqual(twelve.judged, { throughput: 1590, p99MS: 40, smoothed: true });
  assert.equal(twelve.throughput, 1440, 'the row still shows its own run');
  assert.deepEqual(smoothed.best.throughput, { maxPoolSize: 9, value: 1600 }, 'the lucky 1700 is not the best');
  assert.equal(smoothed.best.p99.value, 40);
  // The knee is where it was: a median of three leaves a monotone stretch unchanged (7 stays at 1400).
  assert.equal(smoothed.smallestAdequate, 8);
  assert.equal(smoothed.rows.find((r) => r.maxPoolSize === 7)!.judged.throughput, 1400);
  // Ends of the range and sizes without both neighbours keep their own values.
  assert.equal(smoothed.rows[0].judged.smoothed, false);
  assert.equal(smoothed.rows.at(-1)!.judged.smoothed, false);

  const raw = evaluatePoolSizes(points, { pick: 12, criteria: { smoothNeighbours: false } });
  assert.equal(raw.pick?.adequate, false);
  assert.deepEqual(raw.best.throughput, { maxPoolSize: 14, value: 1700 });
  assert.deepEqual(raw.adequate, [14], 'held to the lucky run, no other size qualifies');
});

test('evaluation: bestFromSmoothed keeps an unsmoothed edge of a band from setting the best', () => {
  // A contiguous band 8..12 and an isolated 20 whose one lucky run has the lowest p99.
  const points = [point(8, 1500, 50), point(9, 1600, 44), point(10, 1600, 45), point(11, 1600, 44), point(12, 1600, 46), point(20, 1600, 38)];
  const plain = evaluatePoolSizes(points);
  assert.deepEqual(plain.best.p99, { maxPoolSize: 20, value: 38 }, 'by default every size competes');
  assert.deepEqual(plain.adequate, [20], 'held to the lucky run');
  const banded = evaluatePoolSizes(points, { bestFromSmoothed: true });
  assert.deepEqual(banded.best.p99, { maxPoolSize: 10, value: 44 }, 'only 9..11 are judged with neighbours: 10 is median(45, 44, 44)');
  assert.deepEqual(banded.adequate, [9, 10, 11, 12, 20], 'the edges are still judged, against the smoothed best');
  // With no smoothed size at all (sparse sizes) the option changes nothing.
  const sparse = [point(5, 500, 90), point(20, 1600, 40), point(50, 1500, 60)];
  assert.deepEqual(evaluatePoolSizes(sparse, { bestFromSmoothed: true }).best, evaluatePoolSizes(sparse).best);
});

test('evaluation: only consecutive sizes smooth each other (5, 20, 50 keep their own runs)', () => {
  const e = evaluatePoolSizes([point(5, 500, 90), point(20, 1600, 40), point(50, 1500, 60)]);
  assert.ok(e.rows.every((r) => !r.judged.smoothed));
  assert.deepEqual(e.adequate, [20]);
  // A failed neighbour does not take part.
  const withFailure = evaluatePoolSizes([point(3, 1000, 40), point(4, 900, 90), point(5, 0, 0, { errors: 1000 })]);
  assert.equal(withFailure.rows[1].judged.smoothed, false);
});

test('evaluation: the advice does not jump to a size far above the answer on the strength of one qualifying run', () => {
  // Every size from 6 to 24 measured short of the driver default's lucky run; 100 is more than 2 × 12.
  const points = [point(6, 1200, 60), point(9, 1450, 50), point(12, 1500, 48), point(18, 1510, 47), point(24, 1505, 47), point(100, 1600, 40)];
  const e = evaluatePoolSizes(points, { pick: 12 });
  assert.deepEqual(e.adequate, [100]);
  assert.equal(verifiedPoolSize(e, 12), 12);
  // Within 2 × the answer the advice does move up.
  assert.equal(verifiedPoolSize(evaluatePoolSizes([...points.slice(0, 4), point(24, 1600, 40)], { pick: 12 }), 12), 24);
});

test('a move up: the size between the answer and the candidate is their geometric mean; the advice goes there unless it fell short too', () => {
  // 11 → 22 (the most a move can be): 15.6 → 16, which halves the step.
  assert.equal(betweenSize(11, 22), 16);
  assert.equal(betweenSize(12, 15), 13);
  // Adjacent sizes have nothing between; one apart, the one in the middle.
  assert.equal(betweenSize(22, 23), null);
  assert.equal(betweenSize(10, 12), 11);
  assert.equal(betweenSize(1, 3), 2);
  const pair = (recommendedShort: boolean) => ({ recommended: { throughput: 1, p99MS: 1 }, candidate: { throughput: 1, p99MS: 1 }, p99Judged: true, recommendedShort });
  const check: PairedCheck = { candidate: 22, pairs: [pair(true), pair(true)], confirmed: true };
  assert.equal(movedTo(check), 22, 'no size between measured');
  assert.equal(movedTo({ ...check, between: [{ size: 16, pairs: [pair(true), pair(false)], short: false }] }), 16, 'kept up in one of two pairs');
  assert.equal(movedTo({ ...check, between: [{ size: 16, pairs: [pair(true), pair(true)], short: true }] }), 22, 'short in both pairs');
  // After a bisection: the smallest size that kept up, whatever the order.
  const step = (size: number, short: boolean) => ({ size, pairs: [pair(short), pair(short)], short });
  assert.equal(movedTo({ ...check, between: [step(16, false), step(13, true), step(14, false)] }), 14);
  assert.equal(movedTo({ ...check, between: [step(16, true), step(19, true), step(20, true)] }), 22);
});

test('narrowMove bisects between the answer and the candidate, at most three steps, and not past its deadline', async () => {
  const pair = (recommendedShort: boolean) => ({ recommended: { throughput: 1, p99MS: 1 }, candidate: { throughput: 1, p99MS: 1 }, p99Judged: true, recommendedShort });
  // Sizes below `from` fall short of the candidate in all three pairs; from `from` up they keep up in the first.
  const shortBelow = (from: number) => async (size: number): Promise<SideBySideOutcome> =>
    size < from ? { pairs: [pair(true), pair(true), pair(true)], verdict: 'short' } : { pairs: [pair(false)], verdict: 'kept up' };
  const compare = shortBelow(14);
  const sizes = (r: { steps: BetweenStep[] }) => r.steps.map((s) => s.size);
  const narrowed = await narrowMove(11, 22, compare, { deadline: Infinity });
  assert.deepEqual(narrowed.steps.map((s) => [s.size, s.short]), [[16, false], [13, true], [14, false]]);
  assert.equal(narrowed.stopped, 'narrowed');
  assert.equal(movedTo({ candidate: 22, pairs: [], confirmed: true, between: narrowed.steps }), 14);
  // Three steps at most: from 16 to 32 (20 and up keep up) the fourth, 20, is not measured.
  const capped = await narrowMove(16, 32, shortBelow(20), { deadline: Infinity });
  assert.deepEqual(sizes(capped), [23, 19, 21]);
  assert.equal(capped.stopped, 'step limit');
  // Nothing between adjacent sizes; the bisection stops when none is left.
  assert.deepEqual(await narrowMove(12, 13, compare, { deadline: Infinity }), { steps: [], stopped: 'narrowed' });
  assert.deepEqual(sizes(await narrowMove(12, 15, compare, { deadline: Infinity })), [13, 14]);
  // The deadline: no step that, as long as the check (stepMS), would end after it.
  const now = performance.now();
  assert.deepEqual(await narrowMove(11, 22, compare, { deadline: now + 60_000, stepMS: 120_000 }), { steps: [], stopped: 'time limit' });
  // A step runs when it fits; the next is estimated by the longest step so far (here 50 ms, a deadline 40 ms after the first).
  const slow = async (size: number) => {
    await new Promise((resolve) => setTimeout(resolve, 50));
    return compare(size);
  };
  const timed = await narrowMove(11, 22, slow, { deadline: performance.now() + 90, stepMS: 10 });
  assert.deepEqual(sizes(timed), [16]);
  assert.equal(timed.stopped, 'time limit');
  // Aborted: no step.
  assert.deepEqual(await narrowMove(11, 22, compare, { deadline: Infinity, signal: AbortSignal.abort() }), { steps: [], stopped: 'interrupted' });
  // An undecided step (interrupted before its verdict) decides nothing and ends the bisection.
  assert.deepEqual(await narrowMove(11, 22, async () => ({ pairs: [pair(true)], verdict: 'undecided' }), { deadline: Infinity }), { steps: [], stopped: 'interrupted' });
});

test('side by side: a move needs the answer short in 3 of 3 pairs, and the pairs stop at the first it keeps up in', () => {
  assert.equal(SIDE_BY_SIDE_PAIRS, 3);
  assert.equal(sideBySideVerdict([]), 'undecided');
  assert.equal(sideBySideVerdict([true]), 'undecided');
  assert.equal(sideBySideVerdict([true, true]), 'undecided', 'two short pairs no longer move the advice');
  assert.equal(sideBySideVerdict([true, true, true]), 'short');
  assert.equal(sideBySideVerdict([false]), 'kept up', 'no further pair can make every one short');
  assert.equal(sideBySideVerdict([true, true, false]), 'kept up');
  assert.equal(sideBySideVerdict([true, true], 2), 'short', 'the replay compares the old rule of 2');
});

test('side by side: the answer is short of a larger size only by the yardstick (3% throughput, 1.1 × p99)', () => {
  const criteria = { throughputShare: 0.97, p99Factor: 1.1 };
  const run = (throughput: number, p99MS: number, ok = true) => ({ throughput, p99MS, ok });
  assert.equal(isShortOf(run(1500, 40), run(1540, 42), criteria), false, '97.4% and a lower p99: not short');
  assert.equal(isShortOf(run(1490, 40), run(1540, 40), criteria), true, '96.8%: short');
  assert.equal(isShortOf(run(1540, 45), run(1540, 40), criteria), true, 'p99 1.125 ×: short');
  assert.equal(isShortOf(run(1540, 44), run(1540, 40), criteria), false, 'p99 1.1 ×: not short');
  assert.equal(isShortOf(run(0, 0, false), run(1540, 40), criteria), true, 'a failed run is short of a good one');
  assert.equal(isShortOf(run(1000, 50), run(0, 0, false), criteria), false);
  // As the yardstick: a p99 from fewer than minP99Samples successes is not compared, throughput still is.
  const counted = { ...criteria, minP99Samples: 500 };
  const sampled = (throughput: number, p99MS: number, successes: number) => ({ throughput, p99MS, ok: true, successes });
  assert.equal(isShortOf(sampled(1540, 60, 499), sampled(1540, 40, 5000), counted), false, 'p99 1.5 × from 499 samples: not compared');
  assert.equal(isShortOf(sampled(1540, 60, 500), sampled(1540, 40, 500), counted), true, 'p99 1.5 × from 500 samples each: short');
  assert.equal(isShortOf(sampled(1400, 40, 100), sampled(1540, 40, 100), counted), true, '91% from few samples: still short on throughput');
  assert.equal(pairP99Judged(sampled(1, 1, 500), sampled(1, 1, 499), counted), false);
  assert.equal(pairP99Judged(sampled(1, 1, 500), sampled(1, 1, 500), counted), true);
});

test('evaluation: failed runs never qualify and a p99 that is too high disqualifies', () => {
  const e = evaluatePoolSizes([point(4, 1000, 10), point(8, 1000, 12), point(16, 1000, 30, { errors: 1000, ops: 1000 })]);
  assert.deepEqual(e.adequate, [4]);
  assert.equal(e.rows[2].p99Ratio, Infinity);
  assert.equal(e.pick, null);
});

test('evaluation: a p99 from too few samples is not compared (noise), only the throughput', () => {
  // 90 operations: the p99 is about the maximum of one run, so 4's 9.8 ms vs 100's 7 ms says nothing.
  const few = { ops: 90 };
  const raw = {};
  const e = evaluatePoolSizes([point(2, 300, 9.8, few), point(4, 298, 9.85, few), point(100, 300, 6.98, few)], { pick: 4, criteria: raw });
  assert.deepEqual(e.rows.map((r) => r.p99Judged), [false, false, false]);
  assert.equal(e.p99Unjudged, 3);
  assert.deepEqual(e.adequate, [2, 4, 100]);
  assert.equal(e.pick?.adequate, true);
  assert.equal(e.best.p99.value, 6.98, 'the lowest p99 is still reported as the reference');
  // Enough samples: the same numbers disqualify on the tail.
  const many = evaluatePoolSizes([point(2, 300, 9.8), point(4, 298, 9.85), point(100, 300, 6.98)], { pick: 4, criteria: raw });
  assert.deepEqual(many.adequate, [100]);
  assert.equal(many.p99Unjudged, 0);
  // Mixed: only judged rows compete for the best p99, and the threshold is a criterion.
  const mixed = evaluatePoolSizes([point(2, 1000, 5, few), point(8, 1000, 20), point(16, 1000, 21)], { criteria: raw });
  assert.equal(mixed.best.p99.maxPoolSize, 8);
  assert.deepEqual(mixed.adequate, [2, 8, 16]);
  assert.deepEqual(evaluatePoolSizes([point(2, 1000, 5, few), point(8, 1000, 20)], { criteria: { ...raw, minP99Samples: 50 } }).adequate, [2]);
});

const run = (maxPoolSize: number, throughput: number, p99: number): SweepRun => ({
  label: String(maxPoolSize),
  config: { maxPoolSize },
  result: {
    mode: 'closed',
    ops: 100,
    errors: 0,
    durationMS: 1000,
    throughput,
    latency: { p50: p99 / 2, p90: p99, p99, p999: p99, max: p99, mean: p99 / 2 },
    achievedRate: throughput,
    latencyDistribution: [],
    errorSamples: [],
  },
  poolWait: { count: 100, p50: 0, p90: 0, p99: 1, p999: 1, max: 1, mean: 0, distribution: [] },
  connectionsCreated: 0,
  checkoutFailures: 0,
});

test('pointsFromSweep combines repeated pool sizes by their median and sorts by size', () => {
  const sweep = { runs: [run(8, 1000, 20), run(4, 500, 40), run(8, 1200, 30), run(2, 300, 50), run(2, 310, 52), run(2, 100, 400)] } as SweepResult;
  const points = pointsFromSweep(sweep);
  assert.deepEqual(points.map((p) => [p.maxPoolSize, p.runs, p.throughput, p.p99MS, p.ops]), [
    // Three runs, one slowed by a stall (100 ops/s, p99 400 ms): the median ignores it.
    [2, 3, 300, 52, 300],
    [4, 1, 500, 40, 100],
    // Two runs: the median is their mean.
    [8, 2, 1100, 25, 200],
  ]);
});

test('pointsFromSweep: p99Quantile takes a lower quantile of the repeated p99s; throughput stays the median', () => {
  // Four runs of size 8, two of them hit by a slow spell (p99 60 and 90 ms).
  const sweep = { runs: [run(8, 1000, 20), run(8, 990, 60), run(8, 1010, 22), run(8, 980, 90)] } as SweepResult;
  const [median] = pointsFromSweep(sweep);
  assert.equal(median.p99MS, 41, 'median of 20, 22, 60, 90');
  const [lower] = pointsFromSweep(sweep, { p99Quantile: 0.25 });
  // 0.25 × 3 = 0.75 of the way from 20 to 22.
  assert.equal(lower.p99MS, 21.5);
  assert.equal(lower.throughput, median.throughput);
  assert.equal(lower.throughput, 995);
  assert.throws(() => pointsFromSweep(sweep, { p99Quantile: 1.5 }), /p99Quantile must be between 0 and 1/);
});

/** A run whose latency histogram holds `count` operations at `ms`, then `slow` more at `slowMS`. */
function runWithLatencies(maxPoolSize: number, count: number, ms: number, slow = 0, slowMS = 0): SweepRun {
  const recorder = new LatencyRecorder();
  for (let i = 0; i < count; i++) recorder.recordMS(ms);
  for (let i = 0; i < slow; i++) recorder.recordMS(slowMS);
  const base = run(maxPoolSize, count + slow, recorder.summary().p99);
  return { ...base, result: { ...base.result, ops: count + slow, latencyHistogram: recorder.encode() } };
}

test("pointsFromSweep: mergeHistograms takes the p99 of all the runs' operations", () => {
  // A long run that is all fast, and a short one whose p99 a few slow operations set: their p99s
  // are 10 and 100 ms (median 55), but 5 slow operations of 1100 are under 1% of all of them.
  // (The histogram keeps 3 significant digits: values come back within 0.1%.)
  const near = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) <= expected * 0.001, `${actual} is not ${expected}`);
  const sweep = { runs: [runWithLatencies(8, 1000, 10), runWithLatencies(8, 95, 10, 5, 100)] } as SweepResult;
  near(sweep.runs[0].result.latency.p99, 10);
  near(sweep.runs[1].result.latency.p99, 100);
  near(pointsFromSweep(sweep)[0].p99MS, 55);
  const [merged] = pointsFromSweep(sweep, { mergeHistograms: true });
  near(merged.p99MS, 10);
  // 15 slow of 1110: more than 1%, so the merged p99 is slow.
  const slower = { runs: [runWithLatencies(8, 1000, 10), runWithLatencies(8, 95, 10, 15, 100)] } as SweepResult;
  near(pointsFromSweep(slower, { mergeHistograms: true })[0].p99MS, 100);
  assert.throws(() => pointsFromSweep({ runs: [...sweep.runs, run(8, 1000, 10)] }, { mergeHistograms: true }), /a run of 8 has no latencyHistogram/);
  assert.throws(() => pointsFromSweep(sweep, { mergeHistograms: true, p99Quantile: 0.25 }), /exclude each other/);
  const garbled = { ...sweep.runs[0], result: { ...sweep.runs[0].result, latencyHistogram: 'not base64!' } };
  assert.throws(() => pointsFromSweep({ runs: [garbled] }, { mergeHistograms: true }), /not an encoded latency histogram/);
});

test('resampleRounds with merged histograms: a round counts by its operations', () => {
  // Size 5 has one slow round of four: 60 operations at 200 ms beside 990 at 40 ms. Merged, one
  // draw of that round is enough to put them over 1% of a resample's operations (60 of 4020), so
  // 5 is the smallest adequate size only when a resample misses that round: (3/4)^4 = 0.32. By the
  // median of the rounds' p99s it takes two draws of it: 5 wins in 0.74 of resamples.
  const rounds = [0, 1, 2, 3].map((i) => [runWithLatencies(4, 700, 80), runWithLatencies(5, 990, 40, i === 0 ? 60 : 0, 200), runWithLatencies(6, 1000, 40), runWithLatencies(7, 1000, 40)]);
  const share = (points: PointsOptions) => {
    const verdicts = resampleRounds(rounds, { resamples: 400, seed: 2, points, evaluate: { criteria: { minP99Samples: 0 } } });
    assert.deepEqual(verdicts.smallestAdequate.map((x) => x.maxPoolSize), [5, 6]);
    return verdicts.smallestAdequate[0].share;
  };
  const merged = share({ mergeHistograms: true });
  assert.ok(merged > 0.22 && merged < 0.42, `merged: 5 smallest adequate in ${merged} of resamples`);
  const median = share({});
  assert.ok(median > 0.64 && median < 0.84, `median: 5 smallest adequate in ${median} of resamples`);
});

test('resampleRounds: draws whole rounds and reports how often each size is the smallest adequate one', () => {
  // Sizes 4..8 over four rounds. 4 is always short of throughput. 5's p99 is 1.2 × the best in
  // rounds 0 and 1 and on a par in rounds 2 and 3: whether 5 or 6 is the smallest adequate size
  // depends on which rounds a resample draws. 6..8 are always on the plateau.
  const p99Of5 = [48, 48, 40, 40];
  const rounds = p99Of5.map((p99, i) => [run(4, 700, 80), run(5, 1000, p99), run(6, 1000, 40 + (i % 2)), run(7, 1000, 40), run(8, 1000, 40)]);
  const options = { resamples: 400, seed: 3, pick: 6, goalFactor: 1.25, evaluate: { criteria: { minP99Samples: 0 } } };
  const verdicts = resampleRounds(rounds, options);
  assert.equal(verdicts.resamples, 400);
  const sizes = verdicts.smallestAdequate.map((x) => x.maxPoolSize);
  assert.deepEqual(sizes, [5, 6], 'only 5 or 6 can be the smallest adequate size');
  const total = verdicts.smallestAdequate.reduce((sum, x) => sum + x.share, 0);
  assert.ok(Math.abs(total - 1) < 1e-9);
  // 5 wins when at least two of the four drawn rounds are round 2 or 3 (its median p99 is then at
  // most 44, 1.1 × the best 40): probability 11/16.
  const share5 = verdicts.smallestAdequate[0].share;
  assert.ok(share5 > 0.5 && share5 < 0.85, `5 smallest adequate in ${share5} of resamples`);
  // The pick 6 is adequate in every resample and within 1.25 × the smallest adequate (5 or 6) in all of them.
  assert.deepEqual(verdicts.pick, { maxPoolSize: 6, adequateShare: 1, withinGoalShare: 1 });
  // Same seed, same answer. The pick 7 is adequate always, but within 1.25 × the smallest adequate
  // size only when that is 6 (7 > 1.25 × 5).
  assert.deepEqual(resampleRounds(rounds, options), verdicts);
  const seven = resampleRounds(rounds, { ...options, pick: 7 });
  assert.equal(seven.pick?.adequateShare, 1);
  assert.equal(seven.pick?.withinGoalShare, verdicts.smallestAdequate[1].share);
  // Identical rounds resolve the verdict completely.
  assert.deepEqual(resampleRounds([rounds[2], rounds[2]], options).smallestAdequate, [{ maxPoolSize: 5, share: 1 }]);
  assert.throws(() => resampleRounds([]), /at least one round/);
  assert.throws(() => resampleRounds(rounds, { resamples: 0 }), /resamples must be a positive integer/);
});

test('rules: the seed formula gets the workload as written, cores × 2 + 1 the server cores', () => {
  const measurement = { throughput: 400, latencyMS: { mean: 50, p50: 45, p99: 90, max: 120 } } as WorkloadMeasurement;
  // Closed loop: 64 callers × 0.05 s × 1.5 = 4.8 → clamped to 10.
  const closed = ruleAnswers({ mode: 'closed', concurrency: 64 }, measurement, { cores: 4, coresFrom: 'server' });
  assert.deepEqual(closed.seedFormula, { maxPoolSize: 10, concurrentRequests: 64, avgDurationS: 0.05 });
  assert.deepEqual(closed.coresRule, { maxPoolSize: 9, cores: 4, coresFrom: 'server' });
  assert.equal(closed.driverDefault.maxPoolSize, 100);
  // Open loop at 400 ops/s of 2 s each: Little's law, 800 requests in flight → 800 × 2 × 1.5 → clamped to 100.
  const slow = { throughput: 400, latencyMS: { mean: 2000, p50: 2000, p99: 2000, max: 2000 } } as WorkloadMeasurement;
  const open = ruleAnswers({ mode: 'open', rate: 400 }, slow, { cores: 2, coresFrom: 'local' });
  assert.equal(open.seedFormula.concurrentRequests, 800);
  assert.equal(open.seedFormula.maxPoolSize, 100);
});
