/** The in-memory store of the embedded server: databases, collections, indexes, cursors. */
export { Store, Database, SYSTEM_DATABASES, validateCollectionName, validateDatabaseName, type StoreOptions } from './store.js';
export { Collection, MemoryBudget, MAX_BSON_OBJECT_SIZE, prepareForInsert, recordSize, knownSizeBound, type StoredRecord, type WriteOptions } from './collection.js';
export { LIMITS, MAX_EXPRESSION_ARRAY, MAX_EXPRESSION_STRING, GUARDED_CONTEXT } from './guard.js';
export { Index, ID_INDEX_SPEC, duplicateKeyError } from './indexes.js';
export { CursorManager, DEFAULT_FIRST_BATCH, MAX_BATCH_BYTES, type CursorManagerOptions, type CursorSource } from './cursors.js';
export { compileFilter, idEqualityKey, positionalIndex, type Matcher } from './matcher.js';
export { compileSort, sortItems, type SortSpec } from './sort.js';
export { compileProjection, type Projector } from './projection.js';
export { compileUpdate, compileArrayFilters, applyUpdate, upsertDocument, upsertSeed, withIdFirst, type CompiledUpdate, type CompiledArrayFilters } from './update.js';
export { selectRecords, firstRecord, type SelectOptions } from './select.js';
export { runAggregate, collectionStats, type AggregateRequest, type AggregateResult } from './pipeline.js';
export { withMingo, toCommandError, type MingoContext } from './mingo.js';
export { plainOf, typedOf, keyOf, compareValues, typedEquals, formatValue, bsonTypeName, valuesAtPath, getPath } from './values.js';
export { encodeSingleBatchReply, recordBytes } from './encode.js';
