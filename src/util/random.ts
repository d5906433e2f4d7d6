/**
 * Seedable pseudo-random numbers (sfc32 seeded through splitmix32). Every random choice in the
 * project (fault probabilities, latency distributions, jitter) takes a `random` function or a
 * `seed` so tests and experiments are repeatable.
 */
export type RandomSource = () => number;

export function createRandom(seed?: number | string): RandomSource {
  if (seed === undefined) return Math.random;
  let s = typeof seed === 'number' ? seed >>> 0 : hashString(seed);
  const next32 = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = next32();
  let b = next32();
  let c = next32();
  let d = next32();
  return () => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

function hashString(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Standard normal deviate (Box–Muller) from a uniform source. */
export function normal(random: RandomSource): number {
  let u = 0;
  while (u === 0) u = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}
