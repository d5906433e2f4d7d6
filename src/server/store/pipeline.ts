import { calculateObjectSize, ObjectId, type Document } from 'bson';
import { CommandError } from '../errors.js';
import { MAX_BSON_OBJECT_SIZE, prepareForInsert, type Collection, type StoredRecord } from './collection.js';
import { duplicateKeyError } from './indexes.js';
import { compileFilter } from './matcher.js';
import { runAggregation, type MingoContext } from './mingo.js';
import { selectRecords } from './select.js';
import { compileSort } from './sort.js';
import type { Store } from './store.js';
import { withIdFirst } from './update.js';
import { isNumberLike, isPlainObject, keyOf, numberOf, plainOf, typedOf } from './values.js';

/**
 * Aggregation. Leading $match/$sort/$skip/$limit stages run on the store directly (typed
 * documents, `_id` lookups); when nothing else follows, results keep their exact BSON types.
 * The rest of the pipeline runs in mingo over plain copies; its output is re-typed: a document
 * that still has the `_id` of an input document gets that document's types back for every
 * unchanged value. $out, $merge and $collStats are implemented here, against the store.
 */
export interface AggregateRequest {
  readonly store: Store;
  readonly db: string;
  /** Undefined for database-level aggregation (`aggregate: 1`). */
  readonly collection: string | undefined;
  readonly pipeline: Document[];
  readonly variables?: Document;
  /** host:port for $collStats. */
  readonly host: string;
  /** `allowDiskUse` of the command (the embedded server never spills; it changes the error code). */
  readonly allowDiskUse?: boolean;
}

export interface AggregateResult {
  readonly docs: Document[];
  /** The pipeline ended with $out or $merge (the reply's batch is empty). */
  readonly wrote: boolean;
}

const NATIVE_PREFIX = new Set(['$match', '$sort', '$skip', '$limit']);
const DB_LEVEL_SOURCES = new Set(['$documents']);

function stageName(stage: unknown, index: number): string {
  if (!isPlainObject(stage)) throw CommandError.of('TypeMismatch', `Each element of the 'pipeline' array must be an object`);
  const keys = Object.keys(stage);
  if (keys.length !== 1) {
    throw new CommandError(40323, 'A pipeline stage specification object must contain exactly one field.', { codeName: 'Location40323' });
  }
  if (keys[0] === '$changeStream') {
    throw new CommandError(40573, 'The $changeStream stage is only supported on replica sets', { codeName: 'Location40573' });
  }
  if ((keys[0] === '$out' || keys[0] === '$merge') && index >= 0) {
    throw new CommandError(40601, `${keys[0]} can only be the final stage in the pipeline`, { codeName: 'Location40601' });
  }
  return keys[0];
}

function intArg(stage: string, v: unknown): number {
  if (!isNumberLike(v) || !Number.isInteger(numberOf(v)) || numberOf(v) < 0) {
    throw CommandError.of('BadValue', `invalid argument to ${stage} stage: expected a non-negative integer, got ${String(v)}`);
  }
  return numberOf(v);
}

function target(spec: unknown, db: string, stage: '$out' | '$merge'): { db: string; coll: string } {
  if (typeof spec === 'string') return { db, coll: spec };
  if (isPlainObject(spec) && typeof spec.coll === 'string') return { db: typeof spec.db === 'string' ? spec.db : db, coll: spec.coll };
  throw CommandError.of('FailedToParse', `${stage} stage requires a collection name or { db, coll }`);
}

export function runAggregate(request: AggregateRequest): AggregateResult {
  const { store, db, pipeline } = request;
  const names = pipeline.map((stage, i) => stageName(stage, i === pipeline.length - 1 ? -1 : i));
  const last = names[names.length - 1];
  const writer = last === '$out' || last === '$merge' ? pipeline[pipeline.length - 1] : undefined;
  const stages = writer ? pipeline.slice(0, -1) : pipeline;
  const stageNames = writer ? names.slice(0, -1) : names;
  const collection = request.collection === undefined ? undefined : store.collection(db, request.collection);

  if (request.collection === undefined && stageNames.length > 0 && !DB_LEVEL_SOURCES.has(stageNames[0])) {
    throw CommandError.of('InvalidNamespace', `{aggregate: 1} is not valid for '${stageNames[0]}'; a collection is required.`);
  }

  const mingo: MingoContext = {
    variables: request.variables ? plainOf(request.variables) : undefined,
    allowDiskUse: request.allowDiskUse,
    // Fresh plain copies per lookup: mingo may mutate what it is given.
    collectionResolver: (name) => [...(store.collection(db, name)?.records.values() ?? [])].map((r) => plainOf(r.doc) as Document),
  };

  let records: StoredRecord[] | undefined;
  let produced: Document[] | undefined;
  let i = 0;
  if (stageNames[0] === '$collStats') {
    produced = [collStatsDocument(request, collection, stages[0].$collStats)];
    i = 1;
  } else if (collection !== undefined || request.collection !== undefined) {
    // Leading stages that the store runs itself, on typed documents.
    let filter: Document | undefined;
    let sort: Document | undefined;
    let skip = 0;
    let limit: number | undefined;
    for (; i < stages.length && NATIVE_PREFIX.has(stageNames[i]); i++) {
      const stage = stages[i];
      const name = stageNames[i];
      // One selection pass supports filter → sort → skip → limit; anything else in between ends it.
      if (name === '$match') {
        if (filter !== undefined || sort !== undefined || skip > 0 || limit !== undefined) break;
        if (!isPlainObject(stage.$match)) throw CommandError.of('BadValue', 'the match filter must be an expression in an object');
        filter = stage.$match;
      } else if (name === '$sort') {
        if (sort !== undefined || skip > 0 || limit !== undefined) break;
        if (!isPlainObject(stage.$sort)) throw new CommandError(15973, 'the $sort key specification must be an object', { codeName: 'Location15973' });
        sort = stage.$sort;
      } else if (name === '$skip') {
        if (limit !== undefined) break;
        skip += intArg('$skip', stage.$skip);
      } else {
        const n = intArg('$limit', stage.$limit);
        if (n === 0) throw new CommandError(15958, 'the limit must be positive', { codeName: 'Location15958' });
        limit = limit === undefined ? n : Math.min(limit, n);
      }
    }
    const matcher = compileFilter(filter, mingo);
    records = selectRecords(collection, matcher, { sort: compileSort(sort), skip, limit });
  } else {
    produced = [];
  }

  let docs: Document[];
  if (i >= stages.length) {
    docs = produced ?? records!.map((r) => r.doc);
  } else {
    const input = produced ? produced.map((d) => plainOf(d) as Document) : records!.map((r) => plainOf(r.doc) as Document);
    const output = runAggregation(stages.slice(i).map((s) => plainOf(s)), input, mingo);
    const byId = records && collection ? collection.records : undefined;
    // mingo appends `_id` after computed fields; mongod's $project/$group put it first.
    const idFirst = !stageNames.slice(i).some((n) => n === '$replaceRoot' || n === '$replaceWith');
    docs = output.map((doc) => {
      const typed = typedOf(doc, doc._id !== undefined && byId ? byId.get(keyOf(doc._id))?.doc : undefined) as Document;
      return idFirst && typed._id !== undefined ? withIdFirst(typed, typed._id) : typed;
    });
  }

  if (!writer) return { docs, wrote: false };
  if (last === '$out') {
    const { db: outDb, coll } = target(writer.$out, db, '$out');
    store.replaceContents(outDb, coll, docs.map(prepareForInsert));
  } else {
    mergeInto(store, db, writer.$merge, docs, mingo);
  }
  return { docs: [], wrote: true };
}

function collStatsDocument(request: AggregateRequest, collection: Collection | undefined, spec: unknown): Document {
  if (!collection) throw CommandError.of('NamespaceNotFound', `Unable to retrieve storageStats in $collStats stage :: caused by :: Collection [${request.db}.${request.collection}] not found.`);
  const out: Document = { ns: collection.ns, host: request.host, localTime: new Date() };
  const options = isPlainObject(spec) ? spec : {};
  if (options.count !== undefined) out.count = collection.count;
  if (options.storageStats !== undefined) out.storageStats = collectionStats(collection, 1);
  if (options.latencyStats !== undefined) {
    const zero = { latency: 0, ops: 0 };
    out.latencyStats = { reads: zero, writes: zero, commands: zero, transactions: zero };
  }
  return out;
}

/** collStats / $collStats storageStats figures (sizes divided by `scale`). */
export function collectionStats(collection: Collection, scale: number): Document {
  const { count, size, indexSizes } = collection.stats();
  const scaled: Document = {};
  let totalIndexSize = 0;
  for (const [name, bytes] of Object.entries(indexSizes)) {
    scaled[name] = Math.floor(bytes / scale);
    totalIndexSize += bytes;
  }
  const storageSize = Math.ceil(size / 4096) * 4096;
  return {
    ns: collection.ns,
    size: Math.floor(size / scale),
    count,
    avgObjSize: count === 0 ? 0 : Math.floor(size / count),
    storageSize: Math.floor(storageSize / scale),
    freeStorageSize: 0,
    capped: collection.capped,
    nindexes: collection.indexes.length + 1,
    indexBuilds: [],
    totalIndexSize: Math.floor(totalIndexSize / scale),
    totalSize: Math.floor((storageSize + totalIndexSize) / scale),
    indexSizes: scaled,
    scaleFactor: scale,
  };
}

function mergeInto(store: Store, db: string, spec: unknown, docs: Document[], mingo: MingoContext): void {
  const options: Document = typeof spec === 'string' ? { into: spec } : isPlainObject(spec) ? spec : {};
  if (options.into === undefined) throw CommandError.of('FailedToParse', "$merge requires an 'into' collection");
  const { db: intoDb, coll } = target(options.into, db, '$merge');
  const onFields: string[] = options.on === undefined ? ['_id'] : typeof options.on === 'string' ? [options.on] : (options.on as string[]);
  const whenMatched = options.whenMatched ?? 'merge';
  const whenNotMatched = options.whenNotMatched ?? 'insert';
  const { collection } = store.ensureCollection(intoDb, coll);

  const keyFor = (doc: Document): string =>
    onFields
      .map((f) => {
        const v = plainOf(f.split('.').reduce<unknown>((o, s) => (isPlainObject(o) ? o[s] : undefined), doc));
        if (v === undefined || v === null || Array.isArray(v)) {
          throw new CommandError(51132, `$merge write error: 'on' field '${f}' cannot be missing, null, undefined or an array`, { codeName: 'Location51132' });
        }
        return keyOf(v);
      })
      .join('\u0001');
  const byOn = new Map<string, string>();
  const onIsId = onFields.length === 1 && onFields[0] === '_id';
  if (!onIsId) for (const r of collection.records.values()) byOn.set(keyFor(r.doc), r.key);

  for (let doc of docs) {
    if (onIsId && doc._id === undefined) doc = withIdFirst(doc, new ObjectId());
    const key = keyFor(doc);
    const existing = onIsId ? collection.records.get(key) : collection.records.get(byOn.get(key) ?? '');
    if (existing) {
      let next: Document | undefined;
      if (Array.isArray(whenMatched)) {
        const variables = { ...(mingo.variables ?? {}), new: plainOf(doc) };
        const [out] = runAggregation(whenMatched.map((s) => plainOf(s)), [plainOf(existing.doc)], { ...mingo, variables }, { checkResultSizes: false });
        next = withIdFirst(typedOf(out ?? {}, existing.doc), existing.doc._id);
      } else if (whenMatched === 'replace') {
        next = withIdFirst({ ...doc }, existing.doc._id);
      } else if (whenMatched === 'merge') {
        next = withIdFirst({ ...existing.doc, ...doc }, existing.doc._id);
      } else if (whenMatched === 'fail') {
        throw duplicateKeyError(collection.ns, onIsId ? '_id_' : onFields.join('_'), Object.fromEntries(onFields.map((f) => [f, 1])), Object.fromEntries(onFields.map((f) => [f, doc[f]])));
      } else if (whenMatched !== 'keepExisting') {
        throw CommandError.of('BadValue', `Enumeration value '${String(whenMatched)}' for field '$merge.whenMatched' is not a valid value.`);
      }
      if (next) {
        // An update of the target document: refused over 16 MiB as an update is (mongod 7.0: 17419).
        const size = calculateObjectSize(next);
        if (size > MAX_BSON_OBJECT_SIZE) {
          throw new CommandError(17419, `Resulting document after update is larger than ${MAX_BSON_OBJECT_SIZE}`, { codeName: 'Location17419' });
        }
        collection.replace(existing, next, { size });
      }
    } else if (whenNotMatched === 'insert') {
      const record = collection.insert(prepareForInsert(doc));
      if (!onIsId) byOn.set(keyFor(record.doc), record.key);
    } else if (whenNotMatched === 'fail') {
      throw new CommandError(13113, '$merge could not find a matching document in the target collection for at least one document in the source collection', { codeName: 'MergeStageNoMatchingDocument' });
    } else if (whenNotMatched !== 'discard') {
      throw CommandError.of('BadValue', `Enumeration value '${String(whenNotMatched)}' for field '$merge.whenNotMatched' is not a valid value.`);
    }
  }
}
