import { Long, type Document } from 'bson';
import { CommandError } from '../errors.js';
import { compileFilter, compileProjection, compileSort, encodeSingleBatchReply, idEqualityKey, recordBytes, selectRecords } from '../store/index.js';
import { getBool, getCollectionName, getDoc, getInt } from './params.js';
import { PreEncodedReply, type CommandContext, type CommandTable } from './types.js';

const ZERO = Long.fromInt(0);
const EMPTY: Document[] = [];

/** Reads `cursor: { batchSize }` of aggregate / listCollections / listIndexes. */
export function cursorBatchSize(body: Document, command: string): number | undefined {
  const cursor = getDoc(body, command, 'cursor');
  return cursor === undefined ? undefined : getInt(cursor, `${command}.cursor`, 'batchSize', { min: 0 });
}

/** `let` variables of a command, for $expr / $$var in filters and pipelines. */
export function letVariables(body: Document, command: string): Document | undefined {
  return getDoc(body, command, 'let');
}

/**
 * find: filter, projection, sort, skip, limit (negative = one batch), batchSize, singleBatch.
 * hint, comment, maxTimeMS, readConcern, allowDiskUse and collation are accepted and ignored.
 */
function find(ctx: CommandContext): Document {
  const { body, db, server } = ctx;
  const name = getCollectionName(body, 'find');
  const filter = getDoc(body, 'find', 'filter');
  const sort = getDoc(body, 'find', 'sort');
  const projection = getDoc(body, 'find', 'projection');
  const skip = getInt(body, 'find', 'skip', { min: 0 });
  let limit = getInt(body, 'find', 'limit');
  let batchSize = getInt(body, 'find', 'batchSize', { min: 0 });
  let singleBatch = getBool(body, 'find', 'singleBatch') ?? false;
  if (getBool(body, 'find', 'tailable')) {
    throw CommandError.of('BadValue', 'error processing query: tailable cursors are not supported by the embedded server');
  }
  if (limit !== undefined && limit < 0) {
    // Legacy meaning (OP_QUERY): up to |limit| documents in one batch, then close.
    limit = -limit;
    batchSize = limit;
    singleBatch = true;
  }
  const collection = server.store.collection(db, name);
  if (collection === undefined) return { cursor: { firstBatch: EMPTY, id: ZERO, ns: `${db}.${name}` }, ok: 1 };

  const idKey = sort === undefined && projection === undefined && !skip && batchSize !== 0 ? idEqualityKey(filter) : undefined;
  if (idKey !== undefined) {
    // Hot path (findOne by _id): one map lookup, no query compilation.
    const record = collection.records.get(idKey);
    const bytes = record === undefined ? undefined : recordBytes(record);
    return new PreEncodedReply(encodeSingleBatchReply(collection.nsBytes, bytes)) as unknown as Document;
  }
  const matcher = compileFilter(filter, { variables: letVariables(body, 'find') });
  const records = selectRecords(collection, matcher, { sort: compileSort(sort), skip, limit });
  const projector = compileProjection(projection);
  const docs = projector ? records.map((r) => projector(r, matcher.plainFilter)) : records.map((r) => r.doc);
  return server.cursors.firstBatch({
    ns: collection.ns,
    docs,
    lsidKey: ctx.lsidKey,
    batchSize,
    singleBatch,
    noCursorTimeout: getBool(body, 'find', 'noCursorTimeout'),
  });
}

export const commands: CommandTable = {
  find: { handler: find, opcounter: 'query', help: 'queries a collection and opens a cursor' },
};
