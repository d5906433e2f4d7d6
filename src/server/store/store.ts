import type { Document } from 'bson';
import { CommandError } from '../errors.js';
import { Collection, MemoryBudget } from './collection.js';
import { Index } from './indexes.js';

/** Databases mongod always lists, even when they hold nothing a client created. */
export const SYSTEM_DATABASES = ['admin', 'config', 'local'] as const;

const INVALID_DB_CHARS = /[/\\. "$*<>:|?\0]/;

export function validateDatabaseName(name: string): void {
  if (typeof name !== 'string' || name.length === 0) throw CommandError.of('InvalidNamespace', 'Invalid database name: empty');
  if (name.length >= 64) throw CommandError.of('InvalidNamespace', `db name is too long: '${name}' is ${name.length} characters (max 63)`);
  if (INVALID_DB_CHARS.test(name)) throw CommandError.of('InvalidNamespace', `Invalid database name: '${name}'`);
}

/** Rules mongod applies to a collection that is about to be written (created). */
export function validateCollectionName(db: string, name: string): void {
  validateDatabaseName(db);
  if (typeof name !== 'string' || name.length === 0) throw CommandError.of('InvalidNamespace', `Invalid namespace specified '${db}.'`);
  if (name.includes('$') || name.includes('\0')) throw CommandError.of('InvalidNamespace', `Invalid collection name: ${name}`);
  if (name.startsWith('.') || name.endsWith('.')) throw CommandError.of('InvalidNamespace', `Invalid namespace specified '${db}.${name}'`);
  if (name.startsWith('system.')) throw CommandError.of('InvalidNamespace', `Invalid system namespace: ${db}.${name}`);
  if (Buffer.byteLength(`${db}.${name}`) > 255) {
    throw CommandError.of('InvalidNamespace', `Fully qualified namespace is too long. Namespace: ${db}.${name} Max: 255`);
  }
}

export class Database {
  readonly name: string;
  readonly collections = new Map<string, Collection>();

  constructor(name: string) {
    this.name = name;
  }
}

export interface StoreOptions {
  /** Cap on the bytes of stored documents (BSON sizes); writes beyond it fail with ExceededMemoryLimit. */
  maxMemoryBytes?: number;
}

/**
 * The in-memory data of one server: databases → collections → documents. A database exists
 * while it has a collection, as on mongod. Survives `restart()` of the server (it lives in the core).
 */
export class Store {
  readonly memory: MemoryBudget;
  readonly #databases = new Map<string, Database>();

  constructor(options: StoreOptions = {}) {
    const limit = options.maxMemoryBytes;
    if (limit !== undefined && (!Number.isFinite(limit) || limit <= 0)) {
      throw new RangeError(`maxMemoryBytes must be a positive number of bytes, got ${String(limit)}`);
    }
    this.memory = new MemoryBudget(limit);
  }

  /** Bytes of stored documents counted against maxMemoryBytes (0 when there is no limit). */
  get usedBytes(): number {
    return this.memory.used;
  }

  database(name: string): Database | undefined {
    return this.#databases.get(name);
  }

  databases(): Database[] {
    return [...this.#databases.values()];
  }

  collection(db: string, name: string): Collection | undefined {
    return this.#databases.get(db)?.collections.get(name);
  }

  /** Creates the collection (explicit `create`); NamespaceExists when it is there already. */
  createCollection(db: string, name: string, options: Document = {}): Collection {
    validateCollectionName(db, name);
    if (this.collection(db, name)) throw CommandError.of('NamespaceExists', `Collection ${db}.${name} already exists.`);
    const collection = new Collection(db, name, options, this.memory);
    this.#attach(collection);
    return collection;
  }

  /** The collection, created implicitly (first write, createIndexes) when missing. */
  ensureCollection(db: string, name: string): { collection: Collection; created: boolean } {
    const existing = this.collection(db, name);
    if (existing) return { collection: existing, created: false };
    return { collection: this.createCollection(db, name), created: true };
  }

  #attach(collection: Collection): void {
    let database = this.#databases.get(collection.db);
    if (!database) this.#databases.set(collection.db, (database = new Database(collection.db)));
    database.collections.set(collection.name, collection);
  }

  dropCollection(db: string, name: string): Collection | undefined {
    const database = this.#databases.get(db);
    const collection = database?.collections.get(name);
    if (!database || !collection) return undefined;
    database.collections.delete(name);
    collection.releaseMemory();
    if (database.collections.size === 0) this.#databases.delete(db);
    return collection;
  }

  dropDatabase(db: string): boolean {
    const database = this.#databases.get(db);
    if (!database) return false;
    for (const collection of database.collections.values()) collection.releaseMemory();
    this.#databases.delete(db);
    return true;
  }

  /** renameCollection: keeps documents and indexes; `dropTarget` replaces an existing target. */
  renameCollection(fromDb: string, from: string, toDb: string, to: string, dropTarget: boolean): void {
    const source = this.collection(fromDb, from);
    if (!source) throw CommandError.of('NamespaceNotFound', `Source collection ${fromDb}.${from} does not exist`);
    validateCollectionName(toDb, to);
    if (fromDb === toDb && from === to) throw CommandError.of('IllegalOperation', `Can't rename a collection to itself`);
    if (this.collection(toDb, to)) {
      if (!dropTarget) throw CommandError.of('NamespaceExists', 'target namespace exists');
      this.dropCollection(toDb, to);
    }
    const target = new Collection(toDb, to, source.options, this.memory);
    for (const index of source.indexes) target.createIndex(new Index(index.spec));
    // Move records without re-counting their bytes: the budget already holds them.
    source.releaseMemory();
    for (const record of source.records.values()) target.insert(record.doc);
    this.dropCollection(fromDb, from);
    this.#attach(target);
  }

  /**
   * Replaces a collection's documents in one step ($out): the new contents are built aside with the
   * target's indexes and only swapped in when every document fits, so a failure leaves the old data.
   */
  replaceContents(db: string, name: string, docs: Document[]): void {
    validateCollectionName(db, name);
    const previous = this.collection(db, name);
    const next = new Collection(db, name, previous?.options ?? {}, this.memory);
    for (const index of previous?.indexes ?? []) next.createIndex(new Index(index.spec));
    try {
      for (const doc of docs) next.insert(doc);
    } catch (err) {
      next.releaseMemory();
      throw err;
    }
    if (previous) this.dropCollection(db, name);
    this.#attach(next);
  }
}
