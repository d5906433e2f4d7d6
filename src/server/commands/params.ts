import { Double, Int32, Long, Decimal128, type Document } from 'bson';
import { CommandError } from '../errors.js';
import { isNumberLike, numberOf } from '../store/values.js';

/**
 * Parameter readers for command handlers. Each names the bad argument in its error, as mongod does
 * ("BSON field 'find.limit' is the wrong type 'string', expected types '[long, int, decimal, double]'").
 */

/** A BSON number of any width, or a JS number (one definition, shared with the store). */
export function isNumeric(v: unknown): v is number | Int32 | Double | Long | Decimal128 | bigint {
  return isNumberLike(v);
}

/** A BSON numeric value as a JS number (Long beyond 2^53 loses precision; fine for parameters). */
export const toNumber: (v: unknown) => number = numberOf;

function bsonTypeName(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'missing';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'double';
  if (Array.isArray(v)) return 'array';
  if (v instanceof Int32) return 'int';
  if (v instanceof Double) return 'double';
  if (v instanceof Long) return 'long';
  if (v instanceof Date) return 'date';
  const bsontype = (v as { _bsontype?: string })._bsontype;
  if (bsontype) return bsontype.toLowerCase();
  return 'object';
}

function wrongType(command: string, field: string, v: unknown, expected: string): CommandError {
  return CommandError.of(
    'TypeMismatch',
    `BSON field '${command}.${field}' is the wrong type '${bsonTypeName(v)}', expected types '${expected}'`,
  );
}

export function getNumber(body: Document, command: string, field: string): number | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (!isNumeric(v)) throw wrongType(command, field, v, '[long, int, decimal, double]');
  return toNumber(v);
}

export function getInt(body: Document, command: string, field: string, options: { min?: number } = {}): number | undefined {
  const n = getNumber(body, command, field);
  if (n === undefined) return undefined;
  if (!Number.isFinite(n)) throw CommandError.of('BadValue', `BSON field '${command}.${field}' must be a finite number`);
  const i = Math.trunc(n);
  if (options.min !== undefined && i < options.min) {
    throw CommandError.of('BadValue', `BSON field '${command}.${field}' value must be >= ${options.min}, actual value '${i}'`);
  }
  return i;
}

export function getBool(body: Document, command: string, field: string): boolean | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  if (isNumeric(v)) return toNumber(v) !== 0;
  throw wrongType(command, field, v, 'bool');
}

export function getString(body: Document, command: string, field: string): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw wrongType(command, field, v, 'string');
  return v;
}

export function getDoc(body: Document, command: string, field: string): Document | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v) || (v as { _bsontype?: string })._bsontype) throw wrongType(command, field, v, 'object');
  return v as Document;
}

export function getArray(body: Document, command: string, field: string): unknown[] | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw wrongType(command, field, v, 'array');
  return v;
}

/** The collection name of a command whose first value is the collection (`find: 'users'`). */
export function getCollectionName(body: Document, command: string): string {
  const v = body[command];
  if (typeof v !== 'string') {
    throw CommandError.of('InvalidNamespace', `collection name has invalid type ${bsonTypeName(v)}`);
  }
  if (v.length === 0) throw CommandError.of('InvalidNamespace', `Invalid namespace specified '.'`);
  if (v.includes('\0') || v.startsWith('$') && !v.startsWith('$cmd')) {
    throw CommandError.of('InvalidNamespace', `Invalid collection name: ${v}`);
  }
  return v;
}

/**
 * Converts a typed BSON tree (Int32/Double/Long wrappers) into plain JS values for matching with
 * mingo: Int32/Double become numbers, Long becomes a number when safe (else stays Long).
 * Other BSON objects (ObjectId, Date, Binary, Decimal128...) are kept as they are.
 */
export function toPlain(v: unknown): any {
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof Int32 || v instanceof Double) return v.value;
  if (v instanceof Long) {
    const n = v.toNumber();
    return Number.isSafeInteger(n) ? n : v;
  }
  if (Array.isArray(v)) return v.map(toPlain);
  if (v instanceof Date || (v as { _bsontype?: string })._bsontype) return v;
  if (v instanceof RegExp) return v;
  const out: Document = {};
  for (const key of Object.keys(v)) out[key] = toPlain((v as Document)[key]);
  return out;
}
