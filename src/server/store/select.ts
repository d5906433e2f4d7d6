import type { Collection, StoredRecord } from './collection.js';
import type { Matcher } from './matcher.js';
import { sortItems, type SortSpec } from './sort.js';

/**
 * Record selection shared by find, count, distinct, update, delete, findAndModify and the
 * leading stages of aggregate: `_id` equality by map lookup, otherwise a scan of the plain
 * mirrors in natural order; then sort, skip, limit.
 */
export interface SelectOptions {
  readonly sort?: SortSpec;
  readonly skip?: number;
  /** 0 or undefined: no limit. */
  readonly limit?: number;
}

const plainOfRecord = (record: StoredRecord) => record.plain;

export function selectRecords(collection: Collection | undefined, matcher: Matcher, options: SelectOptions = {}): StoredRecord[] {
  if (collection === undefined) return [];
  const skip = options.skip ?? 0;
  const limit = options.limit && options.limit > 0 ? options.limit : Infinity;
  let matched: StoredRecord[];
  if (matcher.idKeys !== undefined) {
    matched = [];
    for (const key of matcher.idKeys) {
      const record = collection.records.get(key);
      if (record !== undefined && !matched.includes(record)) matched.push(record);
    }
    if (matched.length > 1 && !options.sort) {
      // $in by _id returns documents in natural order, like a collection scan would.
      const order = new Map([...collection.records.keys()].map((k, i) => [k, i]));
      matched.sort((a, b) => order.get(a.key)! - order.get(b.key)!);
    }
  } else if (options.sort) {
    matched = [];
    for (const record of collection.records.values()) if (matcher.test(record.plain)) matched.push(record);
  } else {
    // No sort: stop scanning once skip + limit documents matched.
    matched = [];
    const wanted = skip + limit;
    for (const record of collection.records.values()) {
      if (matcher.matchesAll || matcher.test(record.plain)) {
        matched.push(record);
        if (matched.length >= wanted) break;
      }
    }
  }
  if (options.sort) matched = sortItems(matched, plainOfRecord, options.sort);
  if (skip > 0 || matched.length > limit) matched = matched.slice(skip, skip + limit);
  return matched;
}

/** The first matching record in sort (or natural) order. */
export function firstRecord(collection: Collection | undefined, matcher: Matcher, sort?: SortSpec): StoredRecord | undefined {
  return selectRecords(collection, matcher, { sort, limit: 1 })[0];
}
