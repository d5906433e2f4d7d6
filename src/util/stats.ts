// Order statistics shared by the sizing, advisor and benchmark code.

/** The q-quantile (0..1) with linear interpolation between order statistics; NaN for no values. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const at = q * (sorted.length - 1);
  const below = Math.floor(at);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (at - below) * (sorted[above] - sorted[below]);
}

/** The median: the middle value, or the mean of the middle two for an even count; NaN for no values. */
export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}
