import type { Document } from 'bson';
import { CommandError } from '../errors.js';
import { compareValues, isNumberLike, isPlainObject, numberOf, valuesAtPath } from './values.js';

/**
 * Sort specifications with mongod's semantics: an array field sorts by its smallest element when
 * ascending and its largest when descending; a missing field sorts like null; `$natural` is
 * insertion order.
 */
export interface SortKey {
  readonly path: string;
  readonly direction: 1 | -1;
}

export interface SortSpec {
  readonly keys: readonly SortKey[];
  /** Set when the spec is only `{ $natural: ±1 }`. */
  readonly natural?: 1 | -1;
}

export function compileSort(spec: Document | undefined): SortSpec | undefined {
  if (spec === undefined || spec === null) return undefined;
  const keys: SortKey[] = [];
  let natural: 1 | -1 | undefined;
  for (const path of Object.keys(spec)) {
    const v = spec[path];
    if (isPlainObject(v) && '$meta' in v) {
      throw CommandError.of('BadValue', `$meta sort by '${String(v.$meta)}' is not supported by the embedded server`);
    }
    const n = isNumberLike(v) ? numberOf(v) : NaN;
    if (n !== 1 && n !== -1) {
      throw new CommandError(15975, '$sort key ordering must be 1 (for ascending) or -1 (for descending)', { codeName: 'Location15975' });
    }
    if (path === '$natural') natural = n;
    else keys.push({ path, direction: n });
  }
  if (keys.length === 0 && natural === undefined) return undefined;
  return natural !== undefined && keys.length === 0 ? { keys, natural } : { keys };
}

function sortValue(plain: Document, key: SortKey): unknown {
  const values = valuesAtPath(plain, key.path);
  let best = values[0] ?? null;
  for (let i = 1; i < values.length; i++) {
    const c = compareValues(values[i] ?? null, best);
    if (key.direction === 1 ? c < 0 : c > 0) best = values[i] ?? null;
  }
  return best;
}

/** Sorts items (stable) by the plain view each one exposes. */
export function sortItems<T>(items: T[], plainOf: (item: T) => Document, spec: SortSpec): T[] {
  if (spec.keys.length === 0) return spec.natural === -1 ? items.slice().reverse() : items;
  const keyed = items.map((item) => {
    const plain = plainOf(item);
    return { item, values: spec.keys.map((k) => sortValue(plain, k)) };
  });
  keyed.sort((a, b) => {
    for (let i = 0; i < spec.keys.length; i++) {
      const c = compareValues(a.values[i], b.values[i]);
      if (c !== 0) return c * spec.keys[i].direction;
    }
    return 0;
  });
  return keyed.map((k) => k.item);
}
