import { Binary, BSONRegExp, Decimal128, Double, Int32, Long, ObjectId, Timestamp, UUID, type Document } from 'bson';

/**
 * Value helpers shared by the store: the plain mirror used for matching with mingo, equality keys
 * (1, 1.0 and Long(1) are the same key, as on mongod), BSON comparison order, typed deep equality
 * and the value formatting mongod uses in error messages.
 *
 * Stored documents are "typed": numbers are bson Int32 / Double / Long / Decimal128 objects exactly
 * as they arrived (decoded with promoteValues: false), so they go back out unchanged.
 */

const bsontypeOf = (v: object): string | undefined => (v as { _bsontype?: string })._bsontype;

/**
 * Sets a field; a field named `__proto__` (legal in BSON, decoded by js-bson as an own property)
 * is defined as data instead of replacing the object's prototype.
 */
export function setField(target: Document, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

export function isPlainObject(v: unknown): v is Document {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** A BSON number of any width, or a JS number. */
export function isNumberLike(v: unknown): boolean {
  return typeof v === 'number' || v instanceof Int32 || v instanceof Double || v instanceof Long || v instanceof Decimal128 || typeof v === 'bigint';
}

/** Numeric value as a JS number (Long beyond 2^53 and Decimal128 are approximated). */
export function numberOf(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v instanceof Int32 || v instanceof Double) return v.value;
  if (v instanceof Long) return v.toNumber();
  if (v instanceof Decimal128) return Number(v.toString());
  if (typeof v === 'bigint') return Number(v);
  return NaN;
}

function regexFromBson(v: BSONRegExp): RegExp {
  let flags = '';
  for (const f of v.options) if (f === 'i' || f === 'm' || f === 's' || f === 'u') flags += f;
  return new RegExp(v.pattern, flags);
}

/**
 * The plain view of a typed value, for mingo: every number becomes a JS number, BSONRegExp a
 * RegExp; ObjectId, Date, Binary, Timestamp... stay as they are (mingo compares them by
 * `toString`, which is right for equality). Always returns fresh objects and arrays, so mingo
 * may mutate its input without touching stored data.
 */
export function plainOf(v: unknown): any {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    const out = new Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = plainOf(v[i]);
    return out;
  }
  const t = bsontypeOf(v);
  if (t !== undefined) {
    switch (t) {
      case 'Int32':
      case 'Double':
        return (v as Int32).value;
      case 'Long':
        return (v as Long).toNumber();
      case 'Decimal128': {
        const n = Number((v as Decimal128).toString());
        return Number.isNaN(n) ? v : n;
      }
      case 'BSONRegExp':
        return regexFromBson(v as BSONRegExp);
      default:
        return v;
    }
  }
  if (v instanceof Date || v instanceof RegExp) return v;
  const out: Document = {};
  for (const key in v) setField(out, key, plainOf((v as Document)[key]));
  return out;
}

/** A Binary decoded from a request is a view into the whole message: copy it so storage owns its bytes. */
function ownedBinary(b: Binary): Binary {
  const bytes = b.buffer;
  if (bytes.byteOffset === 0 && bytes.buffer.byteLength === b.position) return b;
  const copy = Buffer.from(bytes.subarray(0, b.position));
  return b instanceof UUID ? new UUID(copy) : new Binary(copy, b.sub_type);
}

/**
 * The plain mirror of a document about to be stored (like plainOf). On the way it replaces, in
 * place, every Binary that is a view into a larger buffer (the request message) by a copy, so a
 * stored document never keeps a request buffer alive.
 */
export function mirrorForStorage(v: unknown): any {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    const out = new Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const e = v[i];
      if (e instanceof Binary) v[i] = ownedBinary(e);
      out[i] = mirrorForStorage(v[i]);
    }
    return out;
  }
  if (bsontypeOf(v) !== undefined || v instanceof Date || v instanceof RegExp) return plainOf(v);
  const out: Document = {};
  for (const key in v) {
    let value = (v as Document)[key];
    if (value instanceof Binary) {
      value = ownedBinary(value);
      setField(v as Document, key, value);
    }
    setField(out, key, mirrorForStorage(value));
  }
  return out;
}

/**
 * The typed form of a plain value produced by mingo (aggregation output, pipeline updates):
 * integers in int32 range become Int32, other numbers Double, so stored documents stay uniformly
 * typed. `ref` is the typed value that was at the same place before: when the plain value still
 * equals it, the original (e.g. a Long) is kept.
 */
export function typedOf(v: unknown, ref?: unknown): any {
  if (typeof v === 'number') {
    if (ref !== undefined && isNumberLike(ref) && numberOf(ref) === v) return ref;
    return Number.isInteger(v) && v >= -2147483648 && v <= 2147483647 && !Object.is(v, -0) ? new Int32(v) : new Double(v);
  }
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    const refArray = Array.isArray(ref) ? ref : undefined;
    const out = new Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = typedOf(v[i], refArray?.[i]);
    return out;
  }
  if (!isPlainObject(v)) return v;
  const refDoc = isPlainObject(ref) ? ref : undefined;
  const out: Document = {};
  for (const key in v) {
    const value = (v as Document)[key];
    if (value !== undefined) setField(out, key, typedOf(value, refDoc?.[key]));
  }
  return out;
}

/** Copies plain objects and arrays; BSON value objects are immutable and shared. */
export function cloneTyped<T>(v: T): T {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(cloneTyped) as T;
  if (!isPlainObject(v)) return v;
  const out: Document = {};
  for (const key in v) setField(out, key, cloneTyped((v as Document)[key]));
  return out as T;
}

// ---------------------------------------------------------------------------------------------
// Equality keys

function numberKey(n: number): string {
  return Object.is(n, -0) ? 'n0' : `n${n}`;
}

/**
 * A string that is equal for two values exactly when mongod considers them the same index key:
 * numbers compare by value across types, embedded documents by field order and values.
 * Used for the `_id` map and unique indexes.
 */
export function keyOf(v: unknown): string {
  if (v === null || v === undefined) return 'z';
  switch (typeof v) {
    case 'string':
      return `s${v}`;
    case 'number':
      return numberKey(v);
    case 'boolean':
      return v ? 'b1' : 'b0';
    case 'bigint':
      return `n${v}`;
    default:
      break;
  }
  const t = bsontypeOf(v as object);
  switch (t) {
    case 'ObjectId':
      return `o${(v as ObjectId).toHexString()}`;
    case 'Int32':
    case 'Double':
      return numberKey((v as Int32).value);
    case 'Long': {
      const l = v as Long;
      const n = l.toNumber();
      return Number.isSafeInteger(n) ? numberKey(n) : `n${l.toBigInt()}`;
    }
    case 'Decimal128': {
      const s = (v as Decimal128).toString();
      const n = Number(s);
      return Number.isFinite(n) && Number.isSafeInteger(n) ? numberKey(n) : `D${s}`;
    }
    default:
      return `${nestedKey(v)}`;
  }
}

function nestedKey(v: unknown): string {
  if (v === null || v === undefined) return 'z';
  if (typeof v === 'string') return `s${JSON.stringify(v)}`;
  if (typeof v !== 'object') return keyOf(v);
  if (Array.isArray(v)) return `[${v.map(nestedKey).join(',')}]`;
  if (v instanceof Date) return `d${v.getTime()}`;
  if (v instanceof RegExp) return `r${JSON.stringify(v.source)}/${v.flags}`;
  const t = bsontypeOf(v);
  switch (t) {
    case undefined:
      break;
    case 'ObjectId':
    case 'Int32':
    case 'Double':
    case 'Long':
    case 'Decimal128':
      return keyOf(v);
    case 'Binary':
    case 'UUID': {
      const b = v as Binary;
      return `x${b.sub_type}:${b.toString('base64')}`;
    }
    case 'Timestamp':
      return `t${(v as Timestamp).toString()}`;
    case 'BSONRegExp':
      return `r${JSON.stringify((v as BSONRegExp).pattern)}/${(v as BSONRegExp).options}`;
    case 'MinKey':
      return 'm-';
    case 'MaxKey':
      return 'm+';
    default:
      return `${t}:${JSON.stringify(String(v))}`;
  }
  let out = '{';
  for (const key in v as Document) out += `${JSON.stringify(key)}:${nestedKey((v as Document)[key])},`;
  return `${out}}`;
}

// ---------------------------------------------------------------------------------------------
// BSON comparison order: MinKey < null < numbers < strings < objects < arrays < binData
//   < ObjectId < bool < date < timestamp < regex < MaxKey

function typeRank(v: unknown): number {
  if (v === undefined || v === null) return 2;
  switch (typeof v) {
    case 'number':
    case 'bigint':
      return 3;
    case 'string':
      return 4;
    case 'boolean':
      return 9;
    default:
      break;
  }
  if (Array.isArray(v)) return 6;
  if (v instanceof Date) return 10;
  if (v instanceof RegExp) return 12;
  switch (bsontypeOf(v as object)) {
    case undefined:
      return 5;
    case 'MinKey':
      return 1;
    case 'Int32':
    case 'Double':
    case 'Long':
    case 'Decimal128':
      return 3;
    case 'BSONSymbol':
      return 4;
    case 'Binary':
    case 'UUID':
      return 7;
    case 'ObjectId':
      return 8;
    case 'Timestamp':
      return 11;
    case 'BSONRegExp':
      return 12;
    case 'MaxKey':
      return 13;
    default:
      return 5;
  }
}

const cmp = <T extends string | number | bigint>(a: T, b: T): number => (a < b ? -1 : a > b ? 1 : 0);

function compareNumbers(a: unknown, b: unknown): number {
  // Exact for Longs beyond 2^53 against each other; everything else as doubles.
  if (a instanceof Long && b instanceof Long) return cmp(a.toBigInt(), b.toBigInt());
  const x = numberOf(a);
  const y = numberOf(b);
  if (Number.isNaN(x)) return Number.isNaN(y) ? 0 : -1; // NaN sorts below every number
  if (Number.isNaN(y)) return 1;
  return cmp(x, y);
}

/** Total order of BSON values as mongod sorts them (arrays compared element by element). */
export function compareValues(a: unknown, b: unknown): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  switch (ra) {
    case 2:
    case 1:
    case 13:
      return 0;
    case 3:
      return compareNumbers(a, b);
    case 4:
      return cmp(String(a), String(b));
    case 9:
      return cmp(a ? 1 : 0, b ? 1 : 0);
    case 10:
      return cmp((a as Date).getTime(), (b as Date).getTime());
    case 6: {
      const xs = a as unknown[];
      const ys = b as unknown[];
      const n = Math.min(xs.length, ys.length);
      for (let i = 0; i < n; i++) {
        const c = compareValues(xs[i], ys[i]);
        if (c !== 0) return c;
      }
      return cmp(xs.length, ys.length);
    }
    case 5: {
      const ka = Object.keys(a as object);
      const kb = Object.keys(b as object);
      const n = Math.min(ka.length, kb.length);
      for (let i = 0; i < n; i++) {
        const va = (a as Document)[ka[i]];
        const vb = (b as Document)[kb[i]];
        const byType = cmp(typeRank(va), typeRank(vb));
        if (byType !== 0) return byType;
        const byName = cmp(ka[i], kb[i]);
        if (byName !== 0) return byName;
        const byValue = compareValues(va, vb);
        if (byValue !== 0) return byValue;
      }
      return cmp(ka.length, kb.length);
    }
    case 7: {
      const x = a as Binary;
      const y = b as Binary;
      return cmp(x.position, y.position) || cmp(x.sub_type, y.sub_type) || Buffer.compare(x.value(), y.value());
    }
    case 8:
      return cmp((a as ObjectId).toHexString(), (b as ObjectId).toHexString());
    case 11:
      return (a as Timestamp).compare(b as Timestamp);
    case 12: {
      const [sa, fa] = regexParts(a);
      const [sb, fb] = regexParts(b);
      return cmp(sa, sb) || cmp(fa, fb);
    }
    default:
      return 0;
  }
}

function regexParts(v: unknown): [string, string] {
  if (v instanceof RegExp) return [v.source, v.flags];
  const r = v as BSONRegExp;
  return [r.pattern, r.options];
}

/** Same value and same BSON type, field order included (what "modified" means for an update). */
export function typedEquals(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') {
    return typeof a === 'number' && typeof b === 'number' && Object.is(a, b);
  }
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!typedEquals(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ta = bsontypeOf(a);
  if (ta !== bsontypeOf(b)) return false;
  if (ta !== undefined || a instanceof Date || a instanceof RegExp) {
    if (ta === 'Int32' || ta === 'Double') return Object.is((a as Int32).value, (b as Int32).value);
    if (a instanceof Date) return b instanceof Date && a.getTime() === b.getTime();
    return compareValues(a, b) === 0 && nestedKey(a) === nestedKey(b);
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    if (ka[i] !== kb[i]) return false;
    if (!typedEquals((a as Document)[ka[i]], (b as Document)[kb[i]])) return false;
  }
  return true;
}

/** BSON type name as mongod prints it in messages (`int`, `long`, `string`, `object`...). */
export function bsonTypeName(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'missing';
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'boolean':
      return 'bool';
    case 'number':
      return Number.isInteger(v) ? 'int' : 'double';
    case 'bigint':
      return 'long';
    default:
      break;
  }
  if (Array.isArray(v)) return 'array';
  if (v instanceof Date) return 'date';
  if (v instanceof RegExp) return 'regex';
  const t = bsontypeOf(v as object);
  switch (t) {
    case undefined:
      return 'object';
    case 'Int32':
      return 'int';
    case 'Double':
      return 'double';
    case 'Long':
      return 'long';
    case 'Decimal128':
      return 'decimal';
    case 'ObjectId':
      return 'objectId';
    case 'Binary':
    case 'UUID':
      return 'binData';
    case 'BSONRegExp':
      return 'regex';
    case 'Timestamp':
      return 'timestamp';
    default:
      return t.toLowerCase();
  }
}

/** A value the way mongod prints it in messages: `{ a: "x", n: 1, id: ObjectId('...') }`. */
export function formatValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(v);
    default:
      break;
  }
  if (Array.isArray(v)) return v.length === 0 ? '[]' : `[ ${v.map(formatValue).join(', ')} ]`;
  if (v instanceof Date) return `new Date(${v.getTime()})`;
  if (v instanceof RegExp) return `/${v.source}/${v.flags}`;
  const t = bsontypeOf(v as object);
  switch (t) {
    case undefined: {
      const keys = Object.keys(v as object);
      if (keys.length === 0) return '{}';
      return `{ ${keys.map((k) => `${k}: ${formatValue((v as Document)[k])}`).join(', ')} }`;
    }
    case 'ObjectId':
      return `ObjectId('${(v as ObjectId).toHexString()}')`;
    case 'Int32':
    case 'Double':
      return String((v as Int32).value);
    case 'Long':
      return (v as Long).toString();
    case 'Decimal128':
      return `NumberDecimal("${(v as Decimal128).toString()}")`;
    case 'Binary':
    case 'UUID':
      return `BinData(${(v as Binary).sub_type}, ${(v as Binary).toString('hex').toUpperCase()})`;
    case 'Timestamp':
      return `Timestamp(${(v as Timestamp).t}, ${(v as Timestamp).i})`;
    default:
      return String(v);
  }
}

/** Dotted-path segments; numeric segments address array elements. */
export function isIndexSegment(seg: string): boolean {
  if (seg.length === 0 || seg.length > 9) return false;
  for (let i = 0; i < seg.length; i++) {
    const c = seg.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return seg.length === 1 || seg.charCodeAt(0) !== 48;
}

/**
 * Every value at a dotted path, expanding arrays the way queries and indexes do: `a.b` over
 * `{a: [{b: 1}, {b: [2, 3]}]}` gives 1, 2, 3. A missing path gives `undefined` once.
 */
export function valuesAtPath(doc: unknown, path: string, expandLeafArrays = true): unknown[] {
  const out: unknown[] = [];
  collect(doc, path.split('.'), 0, expandLeafArrays, out);
  if (out.length === 0) out.push(undefined);
  return out;
}

function collect(v: unknown, segs: string[], i: number, expandLeaf: boolean, out: unknown[]): void {
  if (i === segs.length) {
    if (expandLeaf && Array.isArray(v)) {
      if (v.length === 0) out.push(undefined);
      else for (const e of v) out.push(e);
    } else {
      out.push(v);
    }
    return;
  }
  if (v === null || typeof v !== 'object') return;
  const seg = segs[i];
  if (Array.isArray(v)) {
    if (isIndexSegment(seg) && Number(seg) < v.length) collect(v[Number(seg)], segs, i + 1, expandLeaf, out);
    for (const e of v) if (isPlainObject(e)) collect(e, segs, i, expandLeaf, out);
    return;
  }
  if (!isPlainObject(v)) return;
  const next = (v as Document)[seg];
  if (next === undefined) return;
  collect(next, segs, i + 1, expandLeaf, out);
}

/** The value at a dotted path without array expansion (undefined when missing). */
export function getPath(doc: unknown, path: string): unknown {
  let v: unknown = doc;
  for (const seg of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    if (Array.isArray(v)) {
      if (!isIndexSegment(seg)) return undefined;
      v = v[Number(seg)];
    } else if (isPlainObject(v)) {
      v = (v as Document)[seg];
    } else {
      return undefined;
    }
  }
  return v;
}
