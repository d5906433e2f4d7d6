import type { Document } from 'bson';
import { CommandError } from '../errors.js';
import { formatValue, Index, plainOf, typedEquals } from '../store/index.js';
import { getArray, getCollectionName } from './params.js';
import { cursorBatchSize } from './query.js';
import type { CommandContext, CommandTable } from './types.js';

function createIndexes(ctx: CommandContext): Document {
  const { body, db, server } = ctx;
  const name = getCollectionName(body, 'createIndexes');
  const specs = getArray(body, 'createIndexes', 'indexes');
  if (specs === undefined) {
    throw new CommandError(40414, "BSON field 'createIndexes.indexes' is missing but a required field", { codeName: 'Location40414' });
  }
  if (specs.length === 0) throw CommandError.of('BadValue', 'Must specify at least one index to create');
  // Validate every spec before touching the collection: the command is all or nothing.
  const requested = specs.map((spec) => {
    if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) throw CommandError.of('TypeMismatch', "The 'indexes' field must be an array of objects");
    return new Index(spec as Document);
  });
  for (let i = 0; i < requested.length; i++) {
    for (let j = i + 1; j < requested.length; j++) {
      if (requested[i].name === requested[j].name && !requested[i].sameDefinition(requested[j])) {
        throw CommandError.of('IndexKeySpecsConflict', `Index with name: ${requested[i].name} already exists with different options`);
      }
    }
  }
  const { collection, created } = server.store.ensureCollection(db, name);
  const before = collection.indexes.length + 1;
  const added: string[] = [];
  try {
    for (const index of requested) {
      if (collection.createIndex(index) === 'created') added.push(index.name);
    }
  } catch (err) {
    for (const indexName of added) collection.dropIndex(indexName);
    throw err;
  }
  const reply: Document = { numIndexesBefore: before, numIndexesAfter: collection.indexes.length + 1, createdCollectionAutomatically: created };
  if (added.length === 0) reply.note = 'all indexes already exist';
  reply.ok = 1;
  return reply;
}

function listIndexes(ctx: CommandContext): Document {
  const { body, db, server } = ctx;
  const name = getCollectionName(body, 'listIndexes');
  const collection = server.store.collection(db, name);
  if (!collection) throw CommandError.of('NamespaceNotFound', `ns does not exist: ${db}.${name}`);
  return server.cursors.firstBatch({
    ns: `${db}.$cmd.listIndexes.${name}`,
    docs: collection.indexSpecs(),
    lsidKey: ctx.lsidKey,
    batchSize: cursorBatchSize(body, 'listIndexes'),
  });
}

function dropIndexes(ctx: CommandContext): Document {
  const { body, db, server, commandName } = ctx;
  const name = getCollectionName(body, commandName);
  const collection = server.store.collection(db, name);
  if (!collection) throw CommandError.of('NamespaceNotFound', `ns not found ${db}.${name}`);
  const nIndexesWas = collection.indexes.length + 1;
  const which = body.index;
  if (which === '*') {
    for (const index of [...collection.indexes]) collection.dropIndex(index.name);
    return { nIndexesWas, msg: 'non-_id indexes dropped for collection', ok: 1 };
  }
  let names: string[];
  if (typeof which === 'string') {
    names = [which];
  } else if (Array.isArray(which) && which.every((n) => typeof n === 'string')) {
    names = which as string[];
  } else if (which !== null && typeof which === 'object' && !Array.isArray(which)) {
    const key = plainOf(which);
    if (typedEquals(key, { _id: 1 })) throw CommandError.of('InvalidOptions', 'cannot drop _id index');
    const match = collection.indexes.find((i) => typedEquals(plainOf(i.spec.key), key));
    if (!match) throw CommandError.of('IndexNotFound', `can't find index with key: ${formatValue(which)}`);
    names = [match.name];
  } else {
    throw CommandError.of('TypeMismatch', "BSON field 'dropIndexes.index' is the wrong type, expected types '[string, object, array]'");
  }
  for (const indexName of names) {
    if (indexName === '_id_') throw CommandError.of('InvalidOptions', 'cannot drop _id index');
    if (!collection.indexes.some((i) => i.name === indexName)) throw CommandError.of('IndexNotFound', `index not found with name [${indexName}]`);
  }
  for (const indexName of names) collection.dropIndex(indexName);
  return { nIndexesWas, ok: 1 };
}

export const commands: CommandTable = {
  createIndexes: { handler: createIndexes, write: true, help: 'creates indexes (unique and partial indexes are enforced)' },
  listIndexes: { handler: listIndexes, help: 'lists the indexes of a collection (cursor)' },
  dropIndexes: { handler: dropIndexes, write: true, help: "drops indexes by name, key pattern, list of names or '*'" },
  deleteIndexes: { handler: dropIndexes, write: true, help: 'alias of dropIndexes' },
};
