import type { Document } from 'bson';
import type { Query } from 'mingo';
import { CommandError } from '../errors.js';
import { compileQuery, testQuery } from './mingo.js';
import { formatValue, isNumberLike, isPlainObject, keyOf, numberOf, plainOf, typedEquals, valuesAtPath } from './values.js';

/**
 * Secondary indexes. Only unique indexes keep entries (key → owning document): they are what the
 * store must enforce. Other indexes are metadata (listIndexes, stats); queries scan, which is fast
 * enough for an in-memory test server.
 */

const KEY_SEPARATOR = '\u0001';
const INDEX_TYPES = new Set(['text', '2d', '2dsphere', 'hashed', 'geoHaystack', 'columnstore', 'wildcard']);
/** Options that make two indexes with the same key different, as mongod compares them. */
const DISTINGUISHING_OPTIONS = ['unique', 'sparse', 'partialFilterExpression', 'expireAfterSeconds', 'collation', 'hidden'];
const ALLOWED_OPTIONS = new Set([
  'key',
  'name',
  'v',
  'ns',
  'unique',
  'sparse',
  'partialFilterExpression',
  'expireAfterSeconds',
  'background',
  'hidden',
  'collation',
  'weights',
  'default_language',
  'language_override',
  'textIndexVersion',
  '2dsphereIndexVersion',
  'bits',
  'min',
  'max',
  'bucketSize',
  'wildcardProjection',
  'storageEngine',
  'prepareUnique',
  'clustered',
]);

export const ID_INDEX_SPEC: Document = Object.freeze({ v: 2, key: { _id: 1 }, name: '_id_' });

function cannotCreate(message: string): CommandError {
  return new CommandError(67, message, { codeName: 'CannotCreateIndex' });
}

function validateKeyPattern(key: unknown): asserts key is Document {
  if (!isPlainObject(key) || Object.keys(key).length === 0) throw cannotCreate('Index keys cannot be an empty field.');
  for (const [field, v] of Object.entries(key)) {
    if (field.length === 0) throw cannotCreate('Index keys cannot be an empty field.');
    if (isNumberLike(v)) {
      const n = numberOf(v);
      if (n === 0 || Number.isNaN(n)) throw cannotCreate(`Values in the index key pattern can't be 0 (field '${field}')`);
    } else if (typeof v !== 'string' || !INDEX_TYPES.has(v)) {
      throw cannotCreate(
        `Values in v:2 index key pattern cannot be of type ${typeof v === 'string' ? `string '${v}'` : typeof v}. Only numbers > 0, numbers < 0, and strings are allowed.`,
      );
    }
  }
}

export class Index {
  readonly name: string;
  /** As listIndexes reports it: `{ v: 2, key, name, ...options }`. */
  readonly spec: Document;
  readonly fields: readonly string[];
  readonly unique: boolean;
  readonly sparse: boolean;
  readonly #partial: Query | undefined;
  /** Unique indexes only: index key → equality key of the owning document's `_id`. */
  readonly entries: Map<string, string> | undefined;

  constructor(spec: Document) {
    validateKeyPattern(spec.key);
    if (typeof spec.name !== 'string' || spec.name.length === 0) {
      throw CommandError.of('FailedToParse', `Error in specification ${formatValue(spec)} :: caused by :: The 'name' field is a required property of an index specification`);
    }
    for (const option of Object.keys(spec)) {
      if (!ALLOWED_OPTIONS.has(option)) {
        throw new CommandError(197, `The field '${option}' is not valid for an index specification. Specification: ${formatValue(spec)}`, {
          codeName: 'InvalidIndexSpecificationOption',
        });
      }
    }
    if (spec.name === '_id_' && !typedEquals(Object.keys(spec.key), ['_id'])) {
      throw cannotCreate("The index name '_id_' is reserved for the _id index, which must have key pattern {_id: 1}");
    }
    this.name = spec.name;
    this.fields = Object.keys(spec.key);
    this.unique = truthy(spec.unique);
    this.sparse = truthy(spec.sparse);
    if (this.unique && Object.values(spec.key).some((v) => v === 'hashed' || v === 'text')) {
      throw cannotCreate(`${Object.values(spec.key).includes('text') ? 'text' : 'hashed'} indexes do not support unique constraints`);
    }
    if (spec.partialFilterExpression !== undefined) {
      if (!isPlainObject(spec.partialFilterExpression)) throw cannotCreate('partialFilterExpression must be an object');
      this.#partial = compileQuery(plainOf(spec.partialFilterExpression));
    }
    const normalized: Document = { v: 2, key: spec.key, name: spec.name };
    for (const [k, v] of Object.entries(spec)) {
      if (k !== 'v' && k !== 'key' && k !== 'name' && k !== 'ns' && k !== 'background') normalized[k] = v;
    }
    this.spec = normalized;
    this.entries = this.unique ? new Map() : undefined;
  }

  /** True when this index and `spec` describe the same index (key and distinguishing options). */
  sameDefinition(other: Index): boolean {
    if (!typedEquals(plainOf(this.spec.key), plainOf(other.spec.key))) return false;
    return DISTINGUISHING_OPTIONS.every((o) => normalizeOption(this.spec[o]) === normalizeOption(other.spec[o]));
  }

  sameKey(other: Index): boolean {
    return typedEquals(plainOf(this.spec.key), plainOf(other.spec.key));
  }

  /**
   * The index keys of a document (several for array fields), or null when the document is not
   * in the index (sparse and missing every field, or outside the partial filter). A missing
   * field is null, as on mongod.
   */
  keysOf(doc: Document, plain: Document): { key: string; values: unknown[] }[] | null {
    if (this.#partial !== undefined && !testQuery(this.#partial, plain)) return null;
    const perField = this.fields.map((f) => valuesAtPath(doc, f));
    if (this.sparse && perField.every((values) => values.length === 1 && values[0] === undefined)) return null;
    let combos: unknown[][] = [[]];
    for (const values of perField) {
      const next: unknown[][] = [];
      for (const combo of combos) for (const v of values) next.push([...combo, v === undefined ? null : v]);
      combos = next;
    }
    const seen = new Set<string>();
    const out: { key: string; values: unknown[] }[] = [];
    for (const values of combos) {
      const key = values.length === 1 ? keyOf(values[0]) : values.map(keyOf).join(KEY_SEPARATOR);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ key, values });
    }
    return out;
  }

  /** `{ a: 1 }` and `{ a: "x" }` for the E11000 message and error fields. */
  keyPatternAndValue(values: unknown[]): { keyPattern: Document; keyValue: Document } {
    const keyPattern: Document = {};
    const keyValue: Document = {};
    this.fields.forEach((field, i) => {
      keyPattern[field] = this.spec.key[field];
      keyValue[field] = values[i];
    });
    return { keyPattern, keyValue };
  }
}

function truthy(v: unknown): boolean {
  if (isNumberLike(v)) return numberOf(v) !== 0;
  return v === true;
}

function normalizeOption(v: unknown): string {
  if (v === undefined || v === false) return '';
  if (isNumberLike(v)) return `n${numberOf(v)}`;
  return keyOf(v);
}

/** The E11000 error mongod returns, with keyPattern/keyValue. */
export function duplicateKeyError(ns: string, indexName: string, keyPattern: Document, keyValue: Document): CommandError {
  const shown = Object.entries(keyValue)
    .map(([k, v]) => `${k}: ${formatValue(v)}`)
    .join(', ');
  return CommandError.of('DuplicateKey', `E11000 duplicate key error collection: ${ns} index: ${indexName} dup key: { ${shown} }`, {
    extra: { keyPattern, keyValue },
  });
}
