/**
 * "Did you mean" for option names. Compares case-insensitively and ignoring `_`/`-`, so the
 * PyMongo spelling `max_pool_size` finds `maxPoolSize`, and also accepts a candidate that
 * contains the typed name (`maxIdleTime` → `maxIdleTimeMS`).
 */
export function suggest(input: string, candidates: Iterable<string>): string | undefined {
  const typed = normalise(input);
  if (typed.length === 0) return undefined;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const name = normalise(candidate);
    if (name === typed) return candidate;
    const distance = name.includes(typed) && typed.length >= 4 ? name.length - typed.length : editDistance(typed, name);
    if (distance < bestDistance) {
      bestDistance = distance;
      best = candidate;
    }
  }
  const allowed = Math.max(2, Math.floor(typed.length / 3));
  return bestDistance <= allowed ? best : undefined;
}

export function didYouMean(input: string, candidates: Iterable<string>): string {
  const match = suggest(input, candidates);
  return match ? `; did you mean ${match}?` : '';
}

function normalise(name: string): string {
  return name.toLowerCase().replace(/[_-]/g, '');
}

/** Levenshtein distance (insert, delete, substitute), two rows. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
    }
    previous = current;
  }
  return previous[b.length];
}
