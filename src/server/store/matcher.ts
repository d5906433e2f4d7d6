import { BSONRegExp, type Document } from 'bson';
import type { Query } from 'mingo';
import { compileQuery, testQuery, type MingoContext } from './mingo.js';
import { getPath, isPlainObject, keyOf, plainOf } from './values.js';

/**
 * A compiled query filter. `{_id: <value>}` (and `{_id: {$eq: v}}`, `{_id: {$in: [...]}}`) is
 * recognised without mingo: the store answers it with a map lookup, which is the hot path of
 * `findOne({_id})`. Everything else is matched by mingo on each document's plain mirror.
 */
export interface Matcher {
  /** Equality keys of `_id` when the filter only constrains `_id` by equality (map lookups). */
  readonly idKeys: readonly string[] | undefined;
  /** True when the filter matches every document. */
  readonly matchesAll: boolean;
  /** The filter as plain values (for positional `$` and upsert). */
  readonly plainFilter: Document;
  test(plain: Document): boolean;
}

const ALWAYS: Matcher = { idKeys: undefined, matchesAll: true, plainFilter: {}, test: () => true };

/** A value usable as a direct `_id` equality key (not a query operator document, array or regex). */
function isEqualityValue(v: unknown): boolean {
  if (v === undefined || Array.isArray(v) || v instanceof RegExp || v instanceof BSONRegExp) return false;
  if (isPlainObject(v)) {
    for (const key in v) return !key.startsWith('$');
  }
  return true;
}

/** The `_id` constraint when it is the filter's only field. */
function onlyId(filter: Document): unknown {
  let count = 0;
  for (const key in filter) {
    if (key !== '_id' || ++count > 1) return undefined;
  }
  return filter._id;
}

/** The single operator of `{ $op: arg }`, or undefined. */
function singleOperator(v: Document): string | undefined {
  let op: string | undefined;
  for (const key in v) {
    if (op !== undefined) return undefined;
    op = key;
  }
  return op;
}

function idEqualityKeys(filter: Document): string[] | undefined {
  const v = onlyId(filter);
  if (v === undefined) return undefined;
  if (isEqualityValue(v)) return [keyOf(v)];
  if (!isPlainObject(v)) return undefined;
  const op = singleOperator(v);
  if (op === '$eq' && isEqualityValue(v.$eq)) return [keyOf(v.$eq)];
  if (op === '$in' && Array.isArray(v.$in) && v.$in.every(isEqualityValue)) return v.$in.map(keyOf);
  return undefined;
}

/** Matcher of an `_id` equality filter: equal equality keys mean a match, no mingo needed. */
class IdMatcher implements Matcher {
  readonly idKeys: readonly string[];
  readonly matchesAll = false;
  readonly #filter: Document;
  #plainFilter: Document | undefined;

  constructor(idKeys: readonly string[], filter: Document) {
    this.idKeys = idKeys;
    this.#filter = filter;
  }

  get plainFilter(): Document {
    return (this.#plainFilter ??= plainOf(this.#filter));
  }

  test(plain: Document): boolean {
    return this.idKeys.includes(keyOf(plain._id));
  }
}

/**
 * The equality key when `filter` is exactly `{_id: <value>}` or `{_id: {$eq: <value>}}`: the
 * allocation-light test behind find's `_id` fast path.
 */
export function idEqualityKey(filter: Document | undefined): string | undefined {
  if (filter === undefined) return undefined;
  const v = onlyId(filter);
  if (v === undefined) return undefined;
  if (isEqualityValue(v)) return keyOf(v);
  if (isPlainObject(v) && singleOperator(v) === '$eq' && isEqualityValue(v.$eq)) return keyOf(v.$eq);
  return undefined;
}

export function compileFilter(filter: Document | undefined, ctx?: MingoContext): Matcher {
  if (filter === undefined) return ALWAYS;
  let empty = true;
  for (const _ in filter) {
    empty = false;
    break;
  }
  if (empty) return ALWAYS;
  const idKeys = idEqualityKeys(filter);
  if (idKeys !== undefined) return new IdMatcher(idKeys, filter);
  const plainFilter = plainOf(filter) as Document;
  const query = compileQuery(plainFilter, ctx);
  return { idKeys: undefined, matchesAll: false, plainFilter, test: (plain) => testQuery(query, plain) };
}

/** Clauses of a filter that constrain `path` or a path below it (top level and inside $and). */
function clausesFor(filter: Document, path: string, out: Document[]): void {
  for (const key in filter) {
    if (key === '$and' && Array.isArray(filter.$and)) {
      for (const clause of filter.$and) if (isPlainObject(clause)) clausesFor(clause, path, out);
    } else if (key === path || key.startsWith(`${path}.`)) {
      out.push({ [key]: filter[key] });
    }
  }
}

/** A shallow copy of `doc` with the value at `path` replaced (objects copied along the way). */
function withValueAt(doc: Document, segs: string[], value: unknown, i = 0): Document {
  const copy: any = Array.isArray(doc) ? doc.slice() : { ...doc };
  const seg = segs[i];
  if (i === segs.length - 1) copy[seg] = value;
  else copy[seg] = withValueAt(copy[seg], segs, value, i + 1);
  return copy;
}

const positionalQueries = new WeakMap<Document, Map<string, Query | null>>();

/**
 * The index of the first element of the array at `arrayPath` that the query matched, as mongod
 * records it for the positional `$` operator (updates and projections). Undefined when the query
 * does not constrain that array.
 */
export function positionalIndex(plainDoc: Document, plainFilter: Document, arrayPath: string): number | undefined {
  const array = getPath(plainDoc, arrayPath);
  if (!Array.isArray(array)) return undefined;
  let cache = positionalQueries.get(plainFilter);
  if (!cache) positionalQueries.set(plainFilter, (cache = new Map()));
  let query = cache.get(arrayPath);
  if (query === undefined) {
    const clauses: Document[] = [];
    clausesFor(plainFilter, arrayPath, clauses);
    query = clauses.length === 0 ? null : compileQuery({ $and: clauses });
    cache.set(arrayPath, query);
  }
  if (query === null) return undefined;
  const segs = arrayPath.split('.');
  for (let i = 0; i < array.length; i++) {
    if (testQuery(query, withValueAt(plainDoc, segs, [array[i]]))) return i;
  }
  return undefined;
}
