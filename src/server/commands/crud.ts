import { calculateObjectSize, type Document } from 'bson';
import { CommandError, ErrorCodes } from '../errors.js';
import {
  applyUpdate,
  compileArrayFilters,
  compileFilter,
  compileProjection,
  compileSort,
  compileUpdate,
  firstRecord,
  keyOf,
  knownSizeBound,
  MAX_BSON_OBJECT_SIZE,
  positionalIndex,
  prepareForInsert,
  selectRecords,
  typedEquals,
  upsertDocument,
  valuesAtPath,
  type Collection,
  type CompiledUpdate,
  type MingoContext,
  type Store,
  type StoredRecord,
} from '../store/index.js';
import { getArray, getBool, getCollectionName, getDoc, getInt, getString } from './params.js';
import { letVariables } from './query.js';
import type { CommandContext, CommandTable } from './types.js';

/** mongod's maxWriteBatchSize. */
const MAX_WRITE_BATCH = 100_000;

function missingField(command: string, field: string): CommandError {
  return new CommandError(40414, `BSON field '${command}.${field}' is missing but a required field`, { codeName: 'Location40414' });
}

function statements(body: Document, command: string, field: string): unknown[] {
  const list = getArray(body, command, field);
  if (list === undefined) throw missingField(command, field);
  if (list.length === 0 || list.length > MAX_WRITE_BATCH) {
    throw CommandError.of('InvalidLength', `Write batch sizes must be between 1 and ${MAX_WRITE_BATCH}. Got ${list.length} operations.`);
  }
  return list;
}

function statementDoc(stmt: unknown, command: string): Document {
  if (stmt === null || typeof stmt !== 'object' || Array.isArray(stmt)) {
    throw CommandError.of('TypeMismatch', `BSON field '${command}' is the wrong type '${Array.isArray(stmt) ? 'array' : typeof stmt}', expected type 'object'`);
  }
  return stmt as Document;
}

/** A per-statement error as it appears in `writeErrors`. */
function writeError(index: number, err: unknown): Document {
  const error =
    err instanceof CommandError ? err : new CommandError(ErrorCodes.InternalError, err instanceof Error ? err.message : String(err), { codeName: 'InternalError' });
  const out: Document = { index, code: error.code, errmsg: error.message };
  if (error.extra) Object.assign(out, error.extra);
  return out;
}

/** BSON bytes of a generated `_id` element (type, "_id\0", 12-byte ObjectId). */
const GENERATED_ID_BYTES = 17;

/**
 * An inserted document is part of the request, so it can only exceed 16 MiB when the request does:
 * only then are sizes computed (and refused over 16 MiB, BSONObjectTooLarge). Otherwise the request
 * size is a free upper bound, kept with the record so that later updates can often skip sizing too.
 */
function insertSizeBound(requestSize: number): number | undefined {
  return requestSize + GENERATED_ID_BYTES <= MAX_BSON_OBJECT_SIZE ? requestSize + GENERATED_ID_BYTES : undefined;
}

function insertedSize(doc: Document): number {
  const size = calculateObjectSize(doc);
  if (size > MAX_BSON_OBJECT_SIZE) {
    throw CommandError.of('BSONObjectTooLarge', `object to insert too large. size in bytes: ${size}, max size: ${MAX_BSON_OBJECT_SIZE}`);
  }
  return size;
}

/**
 * The size of an updated document, refused over 16 MiB as mongod 7.0 refuses it (17419; mongod 8
 * reports 10334 with the same message). Computed only when the previous size (or a bound on it)
 * plus the update's growth bound cannot rule it out; the result is kept with the new record.
 */
function updatedSize(update: CompiledUpdate, previous: StoredRecord, next: Document): { size?: number; sizeBound?: number } {
  if (update.kind === 'operators' && update.growthBound !== Infinity) {
    const before = knownSizeBound(previous);
    if (before !== undefined && before + update.growthBound <= MAX_BSON_OBJECT_SIZE) return { sizeBound: before + update.growthBound };
  }
  const size = calculateObjectSize(next);
  if (size > MAX_BSON_OBJECT_SIZE) {
    throw new CommandError(17419, `Resulting document after update is larger than ${MAX_BSON_OBJECT_SIZE}`, { codeName: 'Location17419' });
  }
  return { size };
}

/** An upserted document is always measured (upserts are rare); mongod: 17420. */
function upsertSize(doc: Document): number {
  const size = calculateObjectSize(doc);
  if (size > MAX_BSON_OBJECT_SIZE) {
    throw new CommandError(17420, `Document to upsert is larger than ${MAX_BSON_OBJECT_SIZE}`, { codeName: 'Location17420' });
  }
  return size;
}

function insert(ctx: CommandContext): Document {
  const { body, db, server } = ctx;
  const name = getCollectionName(body, 'insert');
  const documents = statements(body, 'insert', 'documents');
  const ordered = getBool(body, 'insert', 'ordered') ?? true;
  const bypassValidation = getBool(body, 'insert', 'bypassDocumentValidation') ?? false;
  const { collection } = server.store.ensureCollection(db, name);
  const sizeBound = insertSizeBound(ctx.requestSize);
  const options = { bypassValidation, sizeBound };
  let n = 0;
  let writeErrors: Document[] | undefined;
  for (let i = 0; i < documents.length; i++) {
    try {
      const doc = prepareForInsert(statementDoc(documents[i], 'insert.documents'));
      collection.insert(doc, sizeBound === undefined ? { bypassValidation, size: insertedSize(doc) } : options);
      n++;
    } catch (err) {
      (writeErrors ??= []).push(writeError(i, err));
      if (ordered) break;
    }
  }
  return writeErrors ? { n, writeErrors, ok: 1 } : { n, ok: 1 };
}

export interface UpdateStatement {
  readonly filter: Document;
  readonly update: CompiledUpdate;
  readonly arrayFilters: unknown[] | undefined;
  readonly multi: boolean;
  readonly upsert: boolean;
  readonly mingo: MingoContext;
  readonly bypassValidation: boolean;
}

export interface UpdateOutcome {
  n: number;
  nModified: number;
  upsertedId?: unknown;
}

/** Positional `$` support: the array index the filter matched in this document. */
function positionalFor(record: StoredRecord, plainFilter: Document): (path: string) => number | undefined {
  return (path) => positionalIndex(record.plain, plainFilter, path);
}

/** Runs one update statement (update command, bulk writes). */
export function executeUpdate(store: Store, db: string, name: string, stmt: UpdateStatement): UpdateOutcome {
  const { update } = stmt;
  if (stmt.multi && update.kind === 'replacement') throw CommandError.of('FailedToParse', 'multi update is not supported for replacement-style update');
  const filters = compileArrayFilters(stmt.arrayFilters, update, stmt.mingo);
  const matcher = compileFilter(stmt.filter, stmt.mingo);
  const collection = store.collection(db, name);
  const records = selectRecords(collection, matcher, { limit: stmt.multi ? 0 : 1 });
  if (records.length === 0) {
    if (!stmt.upsert) return { n: 0, nModified: 0 };
    const doc = prepareForInsert(upsertDocument(update, stmt.filter, { mingo: stmt.mingo }, filters));
    const size = upsertSize(doc);
    store.ensureCollection(db, name).collection.insert(doc, { bypassValidation: stmt.bypassValidation, size });
    return { n: 1, nModified: 0, upsertedId: doc._id };
  }
  let nModified = 0;
  for (const record of records) {
    const positional = update.kind === 'operators' && update.usesPositional ? positionalFor(record, matcher.plainFilter) : undefined;
    const next = applyUpdate(update, record.doc, { isUpsertInsert: false, positional, mingo: stmt.mingo }, filters);
    if (typedEquals(next, record.doc)) continue;
    const sizes = updatedSize(update, record, next);
    collection!.replace(record, next, { bypassValidation: stmt.bypassValidation, size: sizes.size, sizeBound: sizes.sizeBound });
    nModified++;
  }
  return { n: records.length, nModified };
}

function update(ctx: CommandContext): Document {
  const { body, db, server } = ctx;
  const name = getCollectionName(body, 'update');
  const updates = statements(body, 'update', 'updates');
  const ordered = getBool(body, 'update', 'ordered') ?? true;
  const bypassValidation = getBool(body, 'update', 'bypassDocumentValidation') ?? false;
  const variables = letVariables(body, 'update');
  let n = 0;
  let nModified = 0;
  let upserted: Document[] | undefined;
  let writeErrors: Document[] | undefined;
  for (let i = 0; i < updates.length; i++) {
    try {
      const stmt = statementDoc(updates[i], 'update.updates');
      const filter = getDoc(stmt, 'update.updates', 'q');
      if (filter === undefined) throw missingField('update.updates', 'q');
      if (stmt.u === undefined) throw missingField('update.updates', 'u');
      const constants = getDoc(stmt, 'update.updates', 'c');
      const outcome = executeUpdate(server.store, db, name, {
        filter,
        update: compileUpdate(stmt.u),
        arrayFilters: getArray(stmt, 'update.updates', 'arrayFilters'),
        multi: getBool(stmt, 'update.updates', 'multi') ?? false,
        upsert: getBool(stmt, 'update.updates', 'upsert') ?? false,
        mingo: { variables: constants || variables ? { ...variables, ...constants } : undefined },
        bypassValidation,
      });
      n += outcome.n;
      nModified += outcome.nModified;
      if (outcome.upsertedId !== undefined) (upserted ??= []).push({ index: i, _id: outcome.upsertedId });
    } catch (err) {
      (writeErrors ??= []).push(writeError(i, err));
      if (ordered) break;
    }
  }
  const reply: Document = { n, nModified };
  if (upserted) reply.upserted = upserted;
  if (writeErrors) reply.writeErrors = writeErrors;
  reply.ok = 1;
  return reply;
}

function remove(ctx: CommandContext): Document {
  const { body, db, server } = ctx;
  const name = getCollectionName(body, 'delete');
  const deletes = statements(body, 'delete', 'deletes');
  const ordered = getBool(body, 'delete', 'ordered') ?? true;
  const variables = letVariables(body, 'delete');
  let n = 0;
  let writeErrors: Document[] | undefined;
  for (let i = 0; i < deletes.length; i++) {
    try {
      const stmt = statementDoc(deletes[i], 'delete.deletes');
      const filter = getDoc(stmt, 'delete.deletes', 'q');
      if (filter === undefined) throw missingField('delete.deletes', 'q');
      const limit = getInt(stmt, 'delete.deletes', 'limit');
      if (limit === undefined) throw missingField('delete.deletes', 'limit');
      if (limit !== 0 && limit !== 1) throw CommandError.of('FailedToParse', `The limit field in delete objects must be 0 or 1. Got ${limit}`);
      const collection = server.store.collection(db, name);
      const records = selectRecords(collection, compileFilter(filter, { variables }), { limit });
      for (const record of records) collection!.remove(record);
      n += records.length;
    } catch (err) {
      (writeErrors ??= []).push(writeError(i, err));
      if (ordered) break;
    }
  }
  return writeErrors ? { n, writeErrors, ok: 1 } : { n, ok: 1 };
}

function findAndModify(ctx: CommandContext): Document {
  const { body, db, server, commandName } = ctx;
  const name = getCollectionName(body, commandName);
  const query = getDoc(body, commandName, 'query') ?? {};
  const sort = compileSort(getDoc(body, commandName, 'sort'));
  const isRemove = getBool(body, commandName, 'remove') ?? false;
  const returnNew = getBool(body, commandName, 'new') ?? false;
  const upsert = getBool(body, commandName, 'upsert') ?? false;
  const projector = compileProjection(getDoc(body, commandName, 'fields'));
  const arrayFilters = getArray(body, commandName, 'arrayFilters');
  const bypassValidation = getBool(body, commandName, 'bypassDocumentValidation') ?? false;
  const mingo: MingoContext = { variables: letVariables(body, commandName) };
  const hasUpdate = body.update !== undefined && body.update !== null;
  if (isRemove && hasUpdate) throw CommandError.of('FailedToParse', 'Cannot specify both an update and remove=true');
  if (!isRemove && !hasUpdate) throw CommandError.of('FailedToParse', 'Either an update or remove=true must be specified');
  if (isRemove && upsert) throw CommandError.of('FailedToParse', 'Cannot specify both upsert=true and remove=true ');
  if (isRemove && returnNew) throw CommandError.of('FailedToParse', "Cannot specify both new=true and remove=true; 'remove' always returns the deleted document");
  if (isRemove && arrayFilters) throw CommandError.of('FailedToParse', 'Cannot specify arrayFilters and remove=true');

  const matcher = compileFilter(query, mingo);
  const collection = server.store.collection(db, name);
  const record = firstRecord(collection, matcher, sort);
  const project = (r: { doc: Document; plain: Document } | undefined): Document | null =>
    r === undefined ? null : projector ? projector(r, matcher.plainFilter) : r.doc;

  if (isRemove) {
    if (record) collection!.remove(record);
    return { lastErrorObject: { n: record ? 1 : 0 }, value: project(record), ok: 1 };
  }

  const update = compileUpdate(body.update);
  const filters = compileArrayFilters(arrayFilters, update, mingo);
  if (record) {
    const positional = update.kind === 'operators' && update.usesPositional ? positionalFor(record, matcher.plainFilter) : undefined;
    const next = applyUpdate(update, record.doc, { isUpsertInsert: false, positional, mingo }, filters);
    let stored: StoredRecord = record;
    if (!typedEquals(next, record.doc)) {
      const sizes = updatedSize(update, record, next);
      stored = collection!.replace(record, next, { bypassValidation, size: sizes.size, sizeBound: sizes.sizeBound });
    }
    return { lastErrorObject: { n: 1, updatedExisting: true }, value: project(returnNew ? stored : record), ok: 1 };
  }
  if (!upsert) return { lastErrorObject: { n: 0, updatedExisting: false }, value: null, ok: 1 };
  const doc = prepareForInsert(upsertDocument(update, query, { mingo }, filters));
  const size = upsertSize(doc);
  const inserted = server.store.ensureCollection(db, name).collection.insert(doc, { bypassValidation, size });
  return {
    lastErrorObject: { n: 1, updatedExisting: false, upserted: doc._id },
    value: returnNew ? project(inserted) : null,
    ok: 1,
  };
}

function count(ctx: CommandContext): Document {
  const { body, db, server } = ctx;
  const name = getCollectionName(body, 'count');
  const query = getDoc(body, 'count', 'query');
  const skip = getInt(body, 'count', 'skip', { min: 0 }) ?? 0;
  const limit = Math.abs(getInt(body, 'count', 'limit') ?? 0);
  const collection = server.store.collection(db, name);
  if (collection === undefined) return { n: 0, ok: 1 };
  const matcher = compileFilter(query, { variables: letVariables(body, 'count') });
  let n: number;
  if (matcher.matchesAll) n = collection.count;
  else n = selectRecords(collection, matcher).length;
  n = Math.max(0, n - skip);
  if (limit > 0) n = Math.min(n, limit);
  return { n, ok: 1 };
}

function distinct(ctx: CommandContext): Document {
  const { body, db, server } = ctx;
  const name = getCollectionName(body, 'distinct');
  const key = getString(body, 'distinct', 'key');
  if (key === undefined) throw missingField('distinct', 'key');
  // mongod parses the key as a FieldPath: 40352 (as FerretDB and mongod's field_path.cpp report it).
  if (key.length === 0) throw new CommandError(40352, 'FieldPath cannot be constructed with empty string', { codeName: 'Location40352' });
  if (key.endsWith('.')) throw new CommandError(40353, "FieldPath must not end with a '.'.", { codeName: 'Location40353' });
  const query = getDoc(body, 'distinct', 'query');
  const collection: Collection | undefined = server.store.collection(db, name);
  const seen = new Set<string>();
  const values: unknown[] = [];
  for (const record of selectRecords(collection, compileFilter(query, { variables: letVariables(body, 'distinct') }))) {
    for (const value of valuesAtPath(record.doc, key)) {
      if (value === undefined) continue;
      const k = keyOf(value);
      if (seen.has(k)) continue;
      seen.add(k);
      values.push(value);
    }
  }
  return { values, ok: 1 };
}

export const commands: CommandTable = {
  insert: { handler: insert, write: true, opcounter: 'insert', help: 'inserts documents' },
  update: { handler: update, write: true, opcounter: 'update', help: 'updates documents (operators, replacement, pipeline, upsert)' },
  delete: { handler: remove, write: true, opcounter: 'delete', help: 'deletes documents' },
  findAndModify: { handler: findAndModify, write: true, help: 'updates or removes one document and returns it' },
  findandmodify: { handler: findAndModify, write: true, help: 'alias of findAndModify' },
  count: { handler: count, help: 'counts matching documents' },
  distinct: { handler: distinct, help: 'distinct values of a field' },
};
