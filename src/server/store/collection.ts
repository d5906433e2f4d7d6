import { BSONRegExp, calculateObjectSize, ObjectId, UUID, type Document } from 'bson';
import type { Query } from 'mingo';
import { CommandError } from '../errors.js';
import { compileQuery, testQuery } from './mingo.js';
import { duplicateKeyError, ID_INDEX_SPEC, Index } from './indexes.js';
import { formatValue, isNumberLike, isPlainObject, keyOf, mirrorForStorage, numberOf, plainOf, setField } from './values.js';

/** Largest document mongod stores (maxBsonObjectSize). */
export const MAX_BSON_OBJECT_SIZE = 16 * 1024 * 1024;

/**
 * One stored document: the typed document exactly as it will be sent back, its plain mirror for
 * matching (computed once, at write time) and its BSON size (computed when first needed).
 * Records are immutable: an update stores a new record under the same key.
 */
export interface StoredRecord {
  /** Equality key of `_id` (see keyOf). */
  readonly key: string;
  readonly doc: Document;
  readonly plain: Document;
  /** BSON size in bytes; -1 until computed. */
  size: number;
  /** An upper bound on the BSON size known without computing it (from the request, or a previous size plus an update's growth). */
  readonly maxSize?: number;
  /** Encoded BSON, cached by the find fast path for small documents. */
  bytes?: Uint8Array;
}

export function recordSize(record: StoredRecord): number {
  if (record.size < 0) record.size = calculateObjectSize(record.doc);
  return record.size;
}

/** The record's size if known, else an upper bound if known (nothing is computed). */
export function knownSizeBound(record: StoredRecord): number | undefined {
  return record.size >= 0 ? record.size : record.maxSize;
}

/** The store-wide byte budget behind `maxMemoryBytes`. */
export class MemoryBudget {
  readonly limit: number | undefined;
  used = 0;

  constructor(limit: number | undefined) {
    this.limit = limit;
  }

  /** Sizes are only computed on writes when there is a limit to enforce. */
  get tracking(): boolean {
    return this.limit !== undefined;
  }

  /** Takes `delta` bytes (> 0) from the budget, or throws ExceededMemoryLimit. */
  reserve(delta: number): void {
    if (this.limit !== undefined && this.used + delta > this.limit) {
      throw CommandError.of(
        'ExceededMemoryLimit',
        `Exceeded the embedded server's maxMemoryBytes (${this.limit} bytes): ${this.used} bytes are stored and this write needs ${delta} more. Delete data, or start the server with a larger maxMemoryBytes.`,
      );
    }
    this.used += delta;
  }

  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}

export interface WriteOptions {
  /** `bypassDocumentValidation` of the command. */
  readonly bypassValidation?: boolean;
  /** The document's exact BSON size, when the caller computed it (saves computing it again). */
  readonly size?: number;
  /** An upper bound on the document's BSON size, when the caller knows one for free. */
  readonly sizeBound?: number;
}

function validateId(id: unknown): void {
  if (Array.isArray(id)) throw CommandError.of('BadValue', "The '_id' value cannot be of type array");
  if (id instanceof RegExp || id instanceof BSONRegExp) throw CommandError.of('BadValue', "The '_id' value cannot be of type regex");
  if (isPlainObject(id)) {
    for (const key of Object.keys(id)) {
      if (key.startsWith('$')) throw CommandError.of('DollarPrefixedFieldName', `_id fields may not contain '$'-prefixed fields: ${key} is not valid for storage.`);
    }
  }
}

/** `_id` first (generated when missing), as mongod stores a new document. */
export function prepareForInsert(doc: Document): Document {
  let first: string | undefined;
  for (const key in doc) {
    first = key;
    break;
  }
  if (first === '_id') {
    validateId(doc._id);
    return doc;
  }
  const id = doc._id === undefined ? new ObjectId() : doc._id;
  validateId(id);
  const out: Document = { _id: id };
  for (const key in doc) if (key !== '_id') setField(out, key, doc[key]);
  return out;
}

function truthy(v: unknown): boolean {
  return v === true || (isNumberLike(v) && numberOf(v) !== 0);
}

export class Collection {
  readonly db: string;
  readonly name: string;
  readonly ns: string;
  /** UTF-8 bytes of `ns`, for pre-encoded replies. */
  readonly nsBytes: Uint8Array;
  readonly uuid = new UUID();
  /** Options given to `create` (capped, size, max, validator...), reported by listCollections. */
  readonly options: Document;
  /** Documents by `_id` equality key, in insertion (natural) order. */
  readonly records = new Map<string, StoredRecord>();
  /** Secondary indexes (the `_id` index is `records`). */
  readonly indexes: Index[] = [];
  readonly #memory: MemoryBudget;
  readonly #validator: Query | undefined;
  readonly #validatorAction: 'error' | 'warn';
  readonly #validationLevel: 'strict' | 'moderate' | 'off';
  /** Bytes of stored documents counted against the budget (only when the budget tracks sizes). */
  #trackedBytes = 0;

  constructor(db: string, name: string, options: Document, memory: MemoryBudget) {
    this.db = db;
    this.name = name;
    this.ns = `${db}.${name}`;
    this.nsBytes = Buffer.from(this.ns, 'utf8');
    this.options = options;
    this.#memory = memory;
    if (options.validator !== undefined) {
      if (!isPlainObject(options.validator)) throw CommandError.of('TypeMismatch', "'validator' must be an object");
      if ('$jsonSchema' in options.validator) {
        throw CommandError.of('CommandNotSupported', '$jsonSchema validators are not supported by the embedded server');
      }
      this.#validator = compileQuery(plainOf(options.validator));
    }
    this.#validatorAction = options.validationAction === 'warn' ? 'warn' : 'error';
    this.#validationLevel = options.validationLevel === 'off' ? 'off' : options.validationLevel === 'moderate' ? 'moderate' : 'strict';
  }

  get count(): number {
    return this.records.size;
  }

  get capped(): boolean {
    return truthy(this.options.capped);
  }

  /** Index specs as listIndexes reports them, `_id_` first. */
  indexSpecs(): Document[] {
    return [ID_INDEX_SPEC, ...this.indexes.map((i) => i.spec)];
  }

  getByKey(key: string): StoredRecord | undefined {
    return this.records.get(key);
  }

  #checkValidator(record: { doc: Document; plain: Document }, previous: StoredRecord | undefined, options: WriteOptions): void {
    if (this.#validator === undefined || options.bypassValidation || this.#validationLevel === 'off' || this.#validatorAction === 'warn') return;
    if (testQuery(this.#validator, record.plain)) return;
    // `moderate`: updates to documents that were already invalid are allowed.
    if (previous && this.#validationLevel === 'moderate' && !testQuery(this.#validator, previous.plain)) return;
    throw new CommandError(121, 'Document failed validation', {
      codeName: 'DocumentValidationFailure',
      extra: { errInfo: { failingDocumentId: record.doc._id, details: { operatorName: '$and', specifiedAs: this.options.validator } } },
    });
  }

  /** Index keys of a candidate record per unique index; throws E11000 on a collision with another document. */
  #uniqueKeys(doc: Document, plain: Document, ownKey: string): string[][] {
    const all: string[][] = [];
    for (const index of this.indexes) {
      if (index.entries === undefined) {
        all.push([]);
        continue;
      }
      const keys = index.keysOf(doc, plain) ?? [];
      for (const { key, values } of keys) {
        const owner = index.entries.get(key);
        if (owner !== undefined && owner !== ownKey) {
          const { keyPattern, keyValue } = index.keyPatternAndValue(values);
          throw duplicateKeyError(this.ns, index.name, keyPattern, keyValue);
        }
      }
      all.push(keys.map((k) => k.key));
    }
    return all;
  }

  #addEntries(ownKey: string, keys: string[][]): void {
    this.indexes.forEach((index, i) => {
      if (index.entries) for (const key of keys[i]) index.entries.set(key, ownKey);
    });
  }

  #removeEntries(record: StoredRecord): void {
    for (const index of this.indexes) {
      if (!index.entries) continue;
      for (const { key } of index.keysOf(record.doc, record.plain) ?? []) {
        if (index.entries.get(key) === record.key) index.entries.delete(key);
      }
    }
  }

  /** Inserts a document (`_id` first, already prepared). Throws E11000, validation or memory errors. */
  insert(doc: Document, options: WriteOptions = {}): StoredRecord {
    const key = keyOf(doc._id);
    if (this.records.has(key)) throw duplicateKeyError(this.ns, '_id_', { _id: 1 }, { _id: doc._id });
    const plain = mirrorForStorage(doc) as Document;
    const record: StoredRecord = { key, doc, plain, size: options.size ?? -1, maxSize: options.sizeBound };
    const keys = this.#uniqueKeys(doc, plain, key);
    this.#checkValidator(record, undefined, options);
    if (this.#memory.tracking || this.capped) {
      if (record.size < 0) record.size = calculateObjectSize(doc);
      if (this.#memory.tracking) {
        this.#memory.reserve(record.size);
        this.#trackedBytes += record.size;
      }
    }
    this.records.set(key, record);
    this.#addEntries(key, keys);
    if (this.capped) this.#trimCapped();
    return record;
  }

  /** Stores a new version of a document (same `_id`). Throws without changing anything on failure. */
  replace(previous: StoredRecord, doc: Document, options: WriteOptions = {}): StoredRecord {
    const plain = mirrorForStorage(doc) as Document;
    const record: StoredRecord = { key: previous.key, doc, plain, size: options.size ?? -1, maxSize: options.sizeBound };
    const keys = this.#uniqueKeys(doc, plain, previous.key);
    this.#checkValidator(record, previous, options);
    if (this.#memory.tracking) {
      if (record.size < 0) record.size = calculateObjectSize(doc);
      const delta = record.size - recordSize(previous);
      if (delta > 0) this.#memory.reserve(delta);
      else this.#memory.release(-delta);
      this.#trackedBytes += delta;
    }
    this.#removeEntries(previous);
    this.records.set(previous.key, record);
    this.#addEntries(previous.key, keys);
    return record;
  }

  remove(record: StoredRecord): void {
    if (this.records.get(record.key) !== record) return;
    this.records.delete(record.key);
    this.#removeEntries(record);
    if (this.#memory.tracking) {
      this.#memory.release(recordSize(record));
      this.#trackedBytes -= recordSize(record);
    }
  }

  /** Releases this collection's bytes from the budget (drop). */
  releaseMemory(): void {
    this.#memory.release(this.#trackedBytes);
    this.#trackedBytes = 0;
  }

  #trimCapped(): void {
    const max = this.options.max !== undefined && isNumberLike(this.options.max) ? numberOf(this.options.max) : undefined;
    const maxBytes = isNumberLike(this.options.size) ? numberOf(this.options.size) : undefined;
    let bytes = 0;
    if (maxBytes !== undefined) for (const r of this.records.values()) bytes += recordSize(r);
    for (const oldest of this.records.values()) {
      const tooMany = max !== undefined && max > 0 && this.records.size > max;
      const tooBig = maxBytes !== undefined && bytes > maxBytes && this.records.size > 1;
      if (!tooMany && !tooBig) break;
      bytes -= recordSize(oldest);
      this.remove(oldest);
    }
  }

  /** Adds an index; checks existing documents first (E11000 when a unique index would be violated). */
  createIndex(index: Index): 'created' | 'exists' {
    const existing = this.indexes.find((i) => i.name === index.name);
    if (existing) {
      if (existing.sameDefinition(index)) return 'exists';
      if (!existing.sameKey(index)) {
        throw CommandError.of(
          'IndexKeySpecsConflict',
          `An existing index has the same name as the requested index. When index names are not specified, they are auto generated and can cause conflicts. Please refer to our documentation. Requested index: ${formatValue(index.spec)}, existing index: ${formatValue(existing.spec)}`,
        );
      }
      throw CommandError.of(
        'IndexOptionsConflict',
        `An equivalent index already exists with the same name but different options. Requested index: ${formatValue(index.spec)}, existing index: ${formatValue(existing.spec)}`,
      );
    }
    if (index.fields.length === 1 && index.fields[0] === '_id' && index.spec.partialFilterExpression === undefined && numberOf(index.spec.key._id) === 1) {
      if (index.name === '_id_') return 'exists';
      throw CommandError.of('IndexOptionsConflict', 'Index already exists with a different name: _id_');
    }
    const sameKey = this.indexes.find((i) => i.sameKey(index) && keyOf(i.spec.partialFilterExpression) === keyOf(index.spec.partialFilterExpression));
    if (sameKey) {
      throw CommandError.of(
        'IndexOptionsConflict',
        sameKey.sameDefinition(index)
          ? `Index already exists with a different name: ${sameKey.name}`
          : `An existing index has the same key pattern but different options. Requested index: ${formatValue(index.spec)}, existing index: ${formatValue(sameKey.spec)}`,
      );
    }
    if (index.entries) {
      for (const record of this.records.values()) {
        for (const { key, values } of index.keysOf(record.doc, record.plain) ?? []) {
          const owner = index.entries.get(key);
          if (owner !== undefined && owner !== record.key) {
            index.entries.clear();
            const { keyPattern, keyValue } = index.keyPatternAndValue(values);
            throw duplicateKeyError(this.ns, index.name, keyPattern, keyValue);
          }
          index.entries.set(key, record.key);
        }
      }
    }
    this.indexes.push(index);
    return 'created';
  }

  dropIndex(name: string): boolean {
    const i = this.indexes.findIndex((x) => x.name === name);
    if (i < 0) return false;
    this.indexes.splice(i, 1);
    return true;
  }

  /** Sizes for collStats/dbStats: data bytes are BSON sizes; index sizes are estimates. */
  stats(): { count: number; size: number; indexSizes: Record<string, number> } {
    let size = 0;
    for (const record of this.records.values()) size += recordSize(record);
    const perEntry = 40;
    const indexSizes: Record<string, number> = { _id_: this.records.size * perEntry };
    for (const index of this.indexes) indexSizes[index.name] = (index.entries?.size ?? this.records.size) * perEntry;
    return { count: this.records.size, size, indexSizes };
  }
}
