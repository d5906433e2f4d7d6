/**
 * Shape-constrained least-squares fits for measurements across pool sizes.
 *
 * Throughput against maxPoolSize rises to a plateau or peak and may fall past it (connection
 * overhead); p99 latency falls, then may rise. Single short runs on a shared machine scatter by
 * several percent around that shape, so "the best run" of a sweep is mostly the luckiest one (the
 * winner's curse) and a size on the plateau can look inadequate by chance. `shapeFit` removes
 * isolated spikes and dips (running median of three, which leaves monotone stretches as they are),
 * then fits the known shape (isotonic regression by pool-adjacent-violators, the turning point
 * chosen by least squares): noise is averaged across neighbouring sizes without assuming a formula.
 */

/** Running median of three, with Tukey's end-point rule; a monotone sequence is returned unchanged. */
export function median3(values: readonly number[]): number[] {
  const n = values.length;
  if (n < 3) return [...values];
  const mid = (a: number, b: number, c: number) => Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
  const out = values.map((v, i) => (i === 0 || i === n - 1 ? v : mid(values[i - 1], v, values[i + 1])));
  out[0] = mid(values[0], out[1], 3 * out[1] - 2 * out[2]);
  out[n - 1] = mid(values[n - 1], out[n - 2], 3 * out[n - 2] - 2 * out[n - 3]);
  return out;
}

/** `median3`, then `unimodalFit`: the curve a sweep's judgement uses. */
export function shapeFit(values: readonly number[], weights: readonly number[], shape: 'peak' | 'valley'): number[] {
  return unimodalFit(median3(values), weights, shape);
}

/** Non-decreasing (or non-increasing) weighted least-squares fit: pool-adjacent-violators. */
export function isotonicFit(values: readonly number[], weights: readonly number[], direction: 'increasing' | 'decreasing' = 'increasing'): number[] {
  const sign = direction === 'increasing' ? 1 : -1;
  // Blocks of merged points: mean (in the fitted direction's sign), total weight, length.
  const means: number[] = [];
  const totals: number[] = [];
  const lengths: number[] = [];
  for (let i = 0; i < values.length; i++) {
    means.push(sign * values[i]);
    totals.push(weights[i]);
    lengths.push(1);
    while (means.length > 1 && means[means.length - 2] > means[means.length - 1]) {
      const w = totals[totals.length - 2] + totals[totals.length - 1];
      const m = (means[means.length - 2] * totals[totals.length - 2] + means[means.length - 1] * totals[totals.length - 1]) / w;
      const n = lengths[lengths.length - 2] + lengths[lengths.length - 1];
      means.splice(-2, 2, m);
      totals.splice(-2, 2, w);
      lengths.splice(-2, 2, n);
    }
  }
  const fitted: number[] = [];
  for (let b = 0; b < means.length; b++) for (let k = 0; k < lengths[b]; k++) fitted.push(sign * means[b]);
  return fitted;
}

/**
 * Unimodal weighted least-squares fit: `peak` rises then falls (throughput), `valley` falls then
 * rises (latency). Every turning point is tried; the one with the least squared error wins.
 * O(n²) in the number of points, which a sweep keeps small (≤ a few hundred).
 */
export function unimodalFit(values: readonly number[], weights: readonly number[], shape: 'peak' | 'valley'): number[] {
  const n = values.length;
  if (n !== weights.length) throw new RangeError('values and weights differ in length');
  if (n <= 2) return [...values];
  const [up, down] = shape === 'peak' ? (['increasing', 'decreasing'] as const) : (['decreasing', 'increasing'] as const);
  let best: number[] = [];
  let bestError = Infinity;
  for (let turn = 0; turn < n; turn++) {
    // Fit [0, turn] one way and (turn, n) the other.
    const left = isotonicFit(values.slice(0, turn + 1), weights.slice(0, turn + 1), up);
    const right = isotonicFit(values.slice(turn + 1), weights.slice(turn + 1), down);
    // Rising then falling (or the reverse) whatever the values at the join: always unimodal.
    const fitted = [...left, ...right];
    let error = 0;
    for (let i = 0; i < n; i++) error += weights[i] * (values[i] - fitted[i]) ** 2;
    if (error < bestError - 1e-12) {
      bestError = error;
      best = fitted;
    }
  }
  return best;
}
