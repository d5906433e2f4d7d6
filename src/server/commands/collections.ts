import type { Document } from 'bson';
import { CommandError } from '../errors.js';
import {
  collectionStats,
  compileFilter,
  ID_INDEX_SPEC,
  plainOf,
  SYSTEM_DATABASES,
  validateDatabaseName,
  type Collection,
} from '../store/index.js';
import { getBool, getCollectionName, getDoc, getInt, getNumber, getString } from './params.js';
import { cursorBatchSize } from './query.js';
import type { CommandContext, CommandTable } from './types.js';

function adminOnly(ctx: CommandContext): void {
  if (ctx.db !== 'admin') throw CommandError.of('Unauthorized', `${ctx.commandName} may only be run against the admin database.`);
}

function scaleOf(body: Document, command: string): number {
  const scale = getInt(body, command, 'scale', { min: 1 }) ?? 1;
  return scale;
}

/** Bytes a database occupies, as listDatabases / dbStats estimate them (storage rounded to 4 KiB pages). */
function databaseSizes(collections: Iterable<Collection>): { objects: number; dataSize: number; storageSize: number; indexes: number; indexSize: number } {
  let objects = 0;
  let dataSize = 0;
  let storageSize = 0;
  let indexes = 0;
  let indexSize = 0;
  for (const collection of collections) {
    const { count, size, indexSizes } = collection.stats();
    objects += count;
    dataSize += size;
    storageSize += Math.max(4096, Math.ceil(size / 4096) * 4096);
    indexes += collection.indexes.length + 1;
    for (const bytes of Object.values(indexSizes)) indexSize += Math.max(4096, bytes);
  }
  return { objects, dataSize, storageSize, indexes, indexSize };
}

function listDatabases(ctx: CommandContext): Document {
  adminOnly(ctx);
  const { body, server } = ctx;
  const nameOnly = getBool(body, 'listDatabases', 'nameOnly') ?? false;
  const filter = getDoc(body, 'listDatabases', 'filter');
  const names = new Set<string>(SYSTEM_DATABASES);
  for (const database of server.store.databases()) names.add(database.name);
  let databases: Document[] = [...names].sort().map((name) => {
    const database = server.store.database(name);
    const sizes = databaseSizes(database?.collections.values() ?? []);
    // admin/config/local exist on every mongod (system collections), so they are never empty there.
    const sizeOnDisk = database ? sizes.storageSize + sizes.indexSize : 8192;
    return { name, sizeOnDisk, empty: database ? sizes.objects === 0 : false };
  });
  if (filter) {
    const matcher = compileFilter(filter);
    databases = databases.filter((d) => matcher.test(plainOf(d)));
  }
  if (nameOnly) return { databases: databases.map((d) => ({ name: d.name })), ok: 1 };
  const totalSize = databases.reduce((sum, d) => sum + (d.sizeOnDisk as number), 0);
  return { databases, totalSize, totalSizeMb: Math.floor(totalSize / (1024 * 1024)), ok: 1 };
}

function listCollections(ctx: CommandContext): Document {
  const { body, db, server } = ctx;
  validateDatabaseName(db);
  const nameOnly = getBool(body, 'listCollections', 'nameOnly') ?? false;
  const filter = getDoc(body, 'listCollections', 'filter');
  const collections = [...(server.store.database(db)?.collections.values() ?? [])].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let entries: Document[] = collections.map((c) => ({
    name: c.name,
    type: 'collection',
    options: c.options,
    info: { readOnly: false, uuid: c.uuid },
    idIndex: ID_INDEX_SPEC,
  }));
  if (filter) {
    const matcher = compileFilter(filter);
    entries = entries.filter((e) => matcher.test(plainOf(e)));
  }
  if (nameOnly) entries = entries.map((e) => ({ name: e.name, type: e.type }));
  return server.cursors.firstBatch({
    ns: `${db}.$cmd.listCollections`,
    docs: entries,
    lsidKey: ctx.lsidKey,
    batchSize: cursorBatchSize(body, 'listCollections'),
  });
}

/** Fields of a `create` command that are options of the collection (listCollections reports them). */
const CREATE_OPTIONS = new Set([
  'capped',
  'size',
  'max',
  'validator',
  'validationLevel',
  'validationAction',
  'collation',
  'storageEngine',
  'indexOptionDefaults',
  'changeStreamPreAndPostImages',
  'expireAfterSeconds',
]);
const UNSUPPORTED_CREATE_OPTIONS = ['viewOn', 'pipeline', 'timeseries', 'clusteredIndex', 'encryptedFields'];

function create(ctx: CommandContext): Document {
  const { body, db, server } = ctx;
  const name = getCollectionName(body, 'create');
  for (const option of UNSUPPORTED_CREATE_OPTIONS) {
    if (body[option] !== undefined) throw CommandError.of('CommandNotSupported', `create with '${option}' (views, time series, clustered collections) is not supported by the embedded server`);
  }
  const options: Document = {};
  for (const [key, value] of Object.entries(body)) if (CREATE_OPTIONS.has(key)) options[key] = value;
  if (getBool(body, 'create', 'capped')) {
    const size = getNumber(body, 'create', 'size');
    if (size === undefined) throw CommandError.of('InvalidOptions', "the 'size' field is required when 'capped' is true");
    // mongod rounds a capped collection's size up to a multiple of 256 bytes.
    options.size = Math.ceil(size / 256) * 256;
  }
  server.store.createCollection(db, name, options);
  return { ok: 1 };
}

function drop(ctx: CommandContext): Document {
  const { body, db, server } = ctx;
  const name = getCollectionName(body, 'drop');
  const dropped = server.store.dropCollection(db, name);
  // mongod 7 answers ok:1 for a collection that does not exist.
  if (!dropped) return { ok: 1 };
  server.cursors.killNamespace(dropped.ns);
  return { nIndexesWas: dropped.indexes.length + 1, ns: dropped.ns, ok: 1 };
}

function dropDatabase(ctx: CommandContext): Document {
  const { db, server } = ctx;
  validateDatabaseName(db);
  if (!server.store.dropDatabase(db)) return { ok: 1 };
  server.cursors.killNamespace(`${db}.`);
  return { dropped: db, ok: 1 };
}

function splitNamespace(ns: string, which: 'source' | 'target'): [string, string] {
  const dot = ns.indexOf('.');
  if (dot <= 0 || dot === ns.length - 1) throw CommandError.of('InvalidNamespace', `Invalid ${which} namespace: ${ns}`);
  return [ns.slice(0, dot), ns.slice(dot + 1)];
}

function renameCollection(ctx: CommandContext): Document {
  adminOnly(ctx);
  const { body, server } = ctx;
  const from = getString(body, 'renameCollection', 'renameCollection');
  const to = getString(body, 'renameCollection', 'to');
  if (from === undefined) throw CommandError.of('InvalidNamespace', 'Invalid source namespace: ');
  if (to === undefined) throw new CommandError(40414, "BSON field 'renameCollection.to' is missing but a required field", { codeName: 'Location40414' });
  const [fromDb, fromColl] = splitNamespace(from, 'source');
  const [toDb, toColl] = splitNamespace(to, 'target');
  const dropTarget = getBool(body, 'renameCollection', 'dropTarget') ?? false;
  server.store.renameCollection(fromDb, fromColl, toDb, toColl, dropTarget);
  server.cursors.killNamespace(from);
  if (dropTarget) server.cursors.killNamespace(to);
  return { ok: 1 };
}

function dbStats(ctx: CommandContext): Document {
  const { body, db, server, commandName } = ctx;
  validateDatabaseName(db);
  const scale = scaleOf(body, commandName);
  const database = server.store.database(db);
  const collections = [...(database?.collections.values() ?? [])];
  const sizes = databaseSizes(collections);
  return {
    db,
    collections: collections.length,
    views: 0,
    objects: sizes.objects,
    avgObjSize: sizes.objects === 0 ? 0 : sizes.dataSize / sizes.objects,
    dataSize: Math.floor(sizes.dataSize / scale),
    storageSize: Math.floor(sizes.storageSize / scale),
    indexes: sizes.indexes,
    indexSize: Math.floor(sizes.indexSize / scale),
    totalSize: Math.floor((sizes.storageSize + sizes.indexSize) / scale),
    scaleFactor: scale,
    fsUsedSize: 0,
    fsTotalSize: 0,
    ok: 1,
  };
}

function collStats(ctx: CommandContext): Document {
  const { body, db, server, commandName } = ctx;
  const name = getCollectionName(body, commandName);
  const collection = server.store.collection(db, name);
  if (!collection) throw CommandError.of('NamespaceNotFound', `Collection [${db}.${name}] not found.`);
  return { ...collectionStats(collection, scaleOf(body, commandName)), ok: 1 };
}

export const commands: CommandTable = {
  listDatabases: { handler: listDatabases, help: 'lists databases (admin only)' },
  listCollections: { handler: listCollections, help: 'lists the collections of a database (cursor)' },
  create: { handler: create, write: true, help: 'creates a collection (capped, validator)' },
  drop: { handler: drop, write: true, help: 'drops a collection' },
  dropDatabase: { handler: dropDatabase, write: true, help: 'drops the current database' },
  renameCollection: { handler: renameCollection, write: true, help: 'renames a collection (admin only; across databases too)' },
  dbStats: { handler: dbStats, help: 'database statistics' },
  dbstats: { handler: dbStats, help: 'alias of dbStats' },
  collStats: { handler: collStats, help: 'collection statistics' },
  collstats: { handler: collStats, help: 'alias of collStats' },
};
