import { BSONRegExp, calculateObjectSize, ObjectId, Timestamp, type Document } from 'bson';
import type { Query } from 'mingo';
import { CommandError } from '../errors.js';
import { compileQuery, runAggregation, testQuery, type MingoContext } from './mingo.js';
import { arithmetic, bitwise, isIntegral, numericKind, NumericOverflow, zeroLike } from './numeric.js';
import {
  bsonTypeName,
  cloneTyped,
  compareValues,
  formatValue,
  isIndexSegment,
  isNumberLike,
  isPlainObject,
  keyOf,
  numberOf,
  plainOf,
  setField,
  typedOf,
  valuesAtPath,
} from './values.js';

/**
 * Updates applied to typed documents, keeping BSON types the way mongod does: unchanged fields
 * keep their type and position, `$inc` of an int by an int stays int (long on overflow), a `$set`
 * value is stored with its own type. Three forms: operator documents, replacement documents and
 * aggregation pipelines (run by mingo on the plain view, then re-typed field by field).
 */

const OPERATORS = new Set([
  '$set',
  '$unset',
  '$inc',
  '$mul',
  '$min',
  '$max',
  '$rename',
  '$setOnInsert',
  '$currentDate',
  '$push',
  '$addToSet',
  '$pop',
  '$pull',
  '$pullAll',
  '$bit',
]);

const PIPELINE_STAGES = new Set(['$addFields', '$set', '$project', '$unset', '$replaceRoot', '$replaceWith']);

interface OpEntry {
  readonly op: string;
  readonly path: string;
  readonly segs: readonly string[];
  readonly arg: unknown;
}

export type CompiledUpdate =
  | { readonly kind: 'replacement'; readonly doc: Document }
  | {
      readonly kind: 'operators';
      readonly entries: readonly OpEntry[];
      readonly usesPositional: boolean;
      /**
       * Upper bound on how many bytes this update can add to a document's BSON size (Infinity when
       * it depends on the document: `$[]` / `$[id]` apply to every element, array indexes pad).
       */
      readonly growthBound: number;
    }
  | { readonly kind: 'pipeline'; readonly pipeline: Document[] };

export interface UpdateOptions {
  /** The document is being inserted by an upsert: `$setOnInsert` applies. */
  readonly isUpsertInsert: boolean;
  /** Index matched by the query in the array at `arrayPath`, for the positional `$`. */
  readonly positional?: (arrayPath: string) => number | undefined;
  readonly mingo?: MingoContext;
}

export interface CompiledArrayFilters {
  readonly byId: Map<string, Query>;
}

function failedToParse(message: string): CommandError {
  return CommandError.of('FailedToParse', message);
}

function badValue(message: string): CommandError {
  return CommandError.of('BadValue', message);
}

function notViable(message: string): CommandError {
  return CommandError.of('PathNotViable', message);
}

function firstKey(doc: Document): string | undefined {
  for (const key in doc) return key;
  return undefined;
}

/** Splits and validates an update path. */
function splitPath(path: string): string[] {
  if (path.length === 0) throw new CommandError(56, 'An empty update path is not valid.', { codeName: 'EmptyFieldName' });
  const segs = path.split('.');
  if (segs.some((s) => s.length === 0)) {
    throw new CommandError(56, `The update path '${path}' contains an empty field name, which is not allowed.`, { codeName: 'EmptyFieldName' });
  }
  return segs;
}

const isPositional = (seg: string): boolean => seg === '$' || (seg.startsWith('$[') && seg.endsWith(']'));

/** Update paths in the order mongod (5.0+) applies them: field names lexicographically, array indexes numerically. */
function comparePaths(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] === b[i]) continue;
    if (isIndexSegment(a[i]) && isIndexSegment(b[i])) return Number(a[i]) - Number(b[i]);
    return a[i] < b[i] ? -1 : 1;
  }
  return a.length - b.length;
}

function checkConflicts(entries: OpEntry[]): void {
  const all: { path: string; segs: readonly string[] }[] = [];
  for (const e of entries) {
    all.push(e);
    if (e.op === '$rename') all.push({ path: e.arg as string, segs: (e.arg as string).split('.') });
  }
  for (let i = 0; i < all.length; i++) {
    for (let j = i + 1; j < all.length; j++) {
      const a = all[i].segs;
      const b = all[j].segs;
      const n = Math.min(a.length, b.length);
      let k = 0;
      while (k < n && a[k] === b[k]) k++;
      if (k === n) {
        const [longer, shorter] = a.length >= b.length ? [all[i], all[j]] : [all[j], all[i]];
        throw CommandError.of('ConflictingUpdateOperators', `Updating the path '${longer.path}' would create a conflict at '${shorter.path}'`);
      }
    }
  }
}

function validateOperatorArg(op: string, path: string, arg: unknown): void {
  switch (op) {
    case '$inc':
    case '$mul':
      if (!isNumberLike(arg)) {
        throw CommandError.of('TypeMismatch', `Cannot ${op === '$inc' ? 'increment' : 'multiply'} with non-numeric argument: {${path}: ${formatValue(arg)}}`);
      }
      break;
    case '$rename':
      if (typeof arg !== 'string') throw badValue(`The 'to' field for $rename must be a string: ${path}: ${formatValue(arg)}`);
      if (arg === path) throw badValue(`The source and target field for $rename must differ: ${path}: ${formatValue(arg)}`);
      if (path.split('.').some(isPositional)) throw badValue(`The source field for $rename may not be dynamic: ${path}`);
      if (arg.split('.').some(isPositional)) throw badValue(`The destination field for $rename may not be dynamic: ${arg}`);
      splitPath(arg);
      break;
    case '$currentDate': {
      const ok = arg === true || typeof arg === 'boolean' || (isPlainObject(arg) && (arg.$type === 'date' || arg.$type === 'timestamp'));
      if (!ok) throw badValue(`${formatValue(arg)} is not valid type for $currentDate. Please use a boolean ('true') or a $type expression ({$type: 'timestamp/date'}).`);
      break;
    }
    case '$pop': {
      const n = isNumberLike(arg) ? numberOf(arg) : NaN;
      if (n !== 1 && n !== -1) throw failedToParse(`$pop expects 1 or -1, found: ${formatValue(arg)}`);
      break;
    }
    case '$pullAll':
      if (!Array.isArray(arg)) throw badValue(`$pullAll requires an array argument but was given a ${bsonTypeName(arg)}`);
      break;
    case '$bit': {
      if (!isPlainObject(arg) || Object.keys(arg).length === 0) {
        throw badValue(`The $bit modifier is not compatible with a ${bsonTypeName(arg)}. You must pass in an embedded document: {$bit: {field: {and/or/xor: #}}`);
      }
      for (const [k, v] of Object.entries(arg)) {
        if (k !== 'and' && k !== 'or' && k !== 'xor') throw badValue(`The $bit modifier only supports 'and', 'or', and 'xor', not '${k}' which is an unknown operator: {${k}: ${formatValue(v)}}`);
        if (!isIntegral(v)) throw badValue(`The $bit modifier field must be an Integer(32/64 bit); a '${bsonTypeName(v)}' is not supported here: {${k}: ${formatValue(v)}}`);
      }
      break;
    }
    case '$push':
    case '$addToSet':
      if (isPlainObject(arg) && '$each' in arg) {
        if (!Array.isArray(arg.$each)) throw badValue(`The argument to $each in ${op} must be an array but it was of type: ${bsonTypeName(arg.$each)}`);
        for (const k of Object.keys(arg)) {
          const allowed = op === '$push' ? ['$each', '$slice', '$sort', '$position'] : ['$each'];
          if (!allowed.includes(k)) throw badValue(op === '$push' ? `Unrecognized clause in $push: ${k}` : `Found unexpected fields after $each in $addToSet: ${formatValue(arg)}`);
        }
        if ('$slice' in arg && !(isNumberLike(arg.$slice) && Number.isInteger(numberOf(arg.$slice)))) {
          throw badValue(`The value for $slice must be an integer value but was given type: ${bsonTypeName(arg.$slice)}`);
        }
        if ('$position' in arg && !(isNumberLike(arg.$position) && Number.isInteger(numberOf(arg.$position)))) {
          throw badValue(`The value for $position must be an integer value, not of type: ${bsonTypeName(arg.$position)}`);
        }
        if ('$sort' in arg) {
          const s = arg.$sort;
          const valid = (isNumberLike(s) && Math.abs(numberOf(s)) === 1) || (isPlainObject(s) && Object.values(s).every((d) => isNumberLike(d) && Math.abs(numberOf(d)) === 1));
          if (!valid) throw badValue('The $sort is invalid: use 1/-1 to sort the whole element, or {field:1/-1} to sort embedded fields');
        }
      }
      break;
    default:
      break;
  }
}

/** Parses and validates an update (`u` of an update statement, `update` of findAndModify). */
export function compileUpdate(u: unknown): CompiledUpdate {
  if (Array.isArray(u)) {
    for (const stage of u) {
      if (!isPlainObject(stage) || Object.keys(stage).length !== 1) {
        throw failedToParse('A pipeline stage specification object must contain exactly one field.');
      }
      const name = firstKey(stage)!;
      if (!PIPELINE_STAGES.has(name)) throw CommandError.of('InvalidOptions', `${name} is not allowed to be used within an update`);
    }
    return { kind: 'pipeline', pipeline: u as Document[] };
  }
  if (!isPlainObject(u)) throw CommandError.of('TypeMismatch', `Update argument must be either an object or an array`);
  const first = firstKey(u);
  if (first === undefined || !first.startsWith('$')) {
    for (const key of Object.keys(u)) {
      if (key.startsWith('$')) {
        throw CommandError.of(
          'DollarPrefixedFieldName',
          `The dollar ($) prefixed field '${key}' in '${key}' is not allowed in the context of an update's replacement document. Consider using an aggregation pipeline with $replaceWith.`,
        );
      }
    }
    return { kind: 'replacement', doc: u };
  }
  const entries: OpEntry[] = [];
  let usesPositional = false;
  for (const op of Object.keys(u)) {
    if (!OPERATORS.has(op)) {
      throw failedToParse(`Unknown modifier: ${op}. Expected a valid update modifier or pipeline-style update specified as an array`);
    }
    const fields = u[op];
    if (!isPlainObject(fields)) {
      throw failedToParse(`Modifiers operate on fields but we found type ${bsonTypeName(fields)} instead. For example: {$mod: {<field>: ...}} not {${op}: ${formatValue(fields)}}`);
    }
    for (const path of Object.keys(fields)) {
      const segs = splitPath(path);
      if (segs.includes('$') || segs.some((s) => s.startsWith('$['))) usesPositional = true;
      validateOperatorArg(op, path, fields[path]);
      entries.push({ op, path, segs, arg: fields[path] });
    }
  }
  checkConflicts(entries);
  entries.sort((a, b) => comparePaths(a.segs, b.segs));
  return { kind: 'operators', entries, usesPositional, growthBound: growthBound(entries) };
}

/** BSON bytes an element `{ <key>: v }` takes inside a document. */
function elementBytes(key: string, v: unknown): number {
  return calculateObjectSize({ [key]: v }) - 5;
}

/**
 * How much one application of these operators can grow a document: values set, elements pushed,
 * wider numbers, and the embedded documents a path may create. Cheap (the arguments are small) and
 * computed once per statement, so most updates need no size computation of the whole document.
 */
function growthBound(entries: readonly OpEntry[]): number {
  let bound = 0;
  for (const { op, path, segs, arg } of entries) {
    if (segs.some((s) => s.startsWith('$[') || isIndexSegment(s))) return Infinity;
    // Each segment may become an embedded document: type, key, NUL, length, terminator.
    const pathBytes = path.length + 7 * segs.length;
    switch (op) {
      case '$set':
      case '$setOnInsert':
      case '$min':
      case '$max':
        bound += pathBytes + elementBytes('', arg);
        break;
      case '$inc':
      case '$mul':
      case '$bit':
      case '$currentDate':
        bound += pathBytes + 17; // at most a Decimal128 replacing nothing
        break;
      case '$rename':
        bound += (arg as string).length + 7 * (arg as string).split('.').length;
        break;
      case '$push':
      case '$addToSet': {
        const values = isPlainObject(arg) && '$each' in arg ? (arg.$each as unknown[]) : [arg];
        bound += pathBytes;
        // Each new element: its value plus an index key of up to 10 characters.
        for (const v of values) bound += elementBytes('0123456789', v);
        break;
      }
      default:
        break; // $unset, $pop, $pull, $pullAll only shrink
    }
  }
  return bound;
}

/** Compiles `arrayFilters` and checks that each identifier is used by the update, as mongod does. */
export function compileArrayFilters(arrayFilters: unknown[] | undefined, update: CompiledUpdate, mingo?: MingoContext): CompiledArrayFilters {
  const byId = new Map<string, Query>();
  for (const filter of arrayFilters ?? []) {
    if (!isPlainObject(filter)) throw failedToParse(`BSON field 'update.updates.arrayFilters' is the wrong type, expected object`);
    let id: string | undefined;
    for (const key of Object.keys(filter)) {
      const top = key.startsWith('$') ? undefined : key.split('.')[0];
      if (top === undefined) continue;
      if (id !== undefined && id !== top) {
        throw failedToParse(`Error parsing array filter :: caused by :: Expected a single top-level field name, found '${id}' and '${top}'`);
      }
      id = top;
    }
    if (id === undefined) throw failedToParse('Cannot use an expression without a top-level field name in arrayFilters');
    if (!/^[a-z][a-zA-Z0-9]*$/.test(id)) {
      throw badValue(`Error parsing array filter :: caused by :: The top-level field name must be an alphanumeric string beginning with a lowercase letter, found '${id}'`);
    }
    if (byId.has(id)) throw failedToParse(`Found multiple array filters with the same top-level field name ${id}`);
    byId.set(id, compileQuery(plainOf(filter), mingo));
  }
  const used = new Set<string>();
  if (update.kind === 'operators') {
    for (const e of update.entries) {
      for (const seg of e.segs) {
        const m = /^\$\[(.+)\]$/.exec(seg);
        if (!m) continue;
        if (!byId.has(m[1])) throw badValue(`No array filter found for identifier '${m[1]}' in path '${e.path}'`);
        used.add(m[1]);
      }
    }
  } else if (byId.size > 0 && update.kind === 'replacement') {
    throw failedToParse('Cannot specify arrayFilters and a replacement-style update');
  }
  for (const id of byId.keys()) {
    if (!used.has(id)) throw failedToParse(`The array filter for identifier '${id}' was not used in the update`);
  }
  return { byId };
}

// ---------------------------------------------------------------------------------------------
// Paths over typed documents

type Container = Document | unknown[];

function childOf(container: Container, seg: string): unknown {
  if (Array.isArray(container)) return isIndexSegment(seg) ? container[Number(seg)] : undefined;
  return Object.prototype.hasOwnProperty.call(container, seg) ? (container as Document)[seg] : undefined;
}

function describe(seg: string, value: unknown): string {
  return `{${seg}: ${formatValue(value)}}`;
}

/** mongod pads an array with at most this many nulls to reach an index (pathsupport::kMaxPaddingAllowed). */
export const MAX_ARRAY_PADDING = 1_500_000;

function setChild(container: Container, seg: string, value: unknown, parentSeg: string): void {
  if (Array.isArray(container)) {
    if (!isIndexSegment(seg)) throw notViable(`Cannot create field '${seg}' in element ${describe(parentSeg, container)}`);
    const index = Number(seg);
    if (index - container.length > MAX_ARRAY_PADDING) {
      // mongod (update/path_support.cpp): CannotBackfillArray, "can't backfill more than 1500000 elements".
      throw new CommandError(34, `can't backfill more than ${MAX_ARRAY_PADDING} elements`, { codeName: 'CannotBackfillArray' });
    }
    while (container.length < index) container.push(null);
    container[index] = value;
  } else {
    setField(container as Document, seg, value);
  }
}

/** The parent container of a path, creating missing embedded documents on the way. */
function parentForWrite(doc: Document, segs: readonly string[]): Container {
  let current: Container = doc;
  let currentSeg = '';
  for (let i = 0; i < segs.length - 1; i++) {
    const seg = segs[i];
    let next = childOf(current, seg);
    if (next === undefined) {
      next = {};
      setChild(current, seg, next, currentSeg);
    } else if (next === null || typeof next !== 'object' || (!isPlainObject(next) && !Array.isArray(next))) {
      throw notViable(`Cannot create field '${segs[i + 1]}' in element ${describe(seg, next)}`);
    }
    current = next as Container;
    currentSeg = seg;
  }
  if (Array.isArray(current) && !isIndexSegment(segs[segs.length - 1])) {
    throw notViable(`Cannot create field '${segs[segs.length - 1]}' in element ${describe(currentSeg || segs[0], current)}`);
  }
  return current;
}

/** The parent container of a path when every step exists, else undefined (no write). */
function parentForRead(doc: Document, segs: readonly string[]): Container | undefined {
  let current: unknown = doc;
  for (let i = 0; i < segs.length - 1; i++) {
    if (current === null || typeof current !== 'object') return undefined;
    current = childOf(current as Container, segs[i]);
  }
  if (current === null || typeof current !== 'object' || (!isPlainObject(current) && !Array.isArray(current))) return undefined;
  return current as Container;
}

function getAt(doc: Document, segs: readonly string[]): unknown {
  const parent = parentForRead(doc, segs);
  return parent === undefined ? undefined : childOf(parent, segs[segs.length - 1]);
}

function setAt(doc: Document, segs: readonly string[], value: unknown): void {
  const parent = parentForWrite(doc, segs);
  setChild(parent, segs[segs.length - 1], value, segs[segs.length - 2] ?? '');
}

function unsetAt(doc: Document, segs: readonly string[]): void {
  const parent = parentForRead(doc, segs);
  if (parent === undefined) return;
  const last = segs[segs.length - 1];
  if (Array.isArray(parent)) {
    if (isIndexSegment(last) && Number(last) < parent.length) parent[Number(last)] = null;
  } else {
    delete (parent as Document)[last];
  }
}

/** Expands `$`, `$[]` and `$[id]` into concrete paths for this document. */
function expandPaths(doc: Document, entry: OpEntry, options: UpdateOptions, filters: CompiledArrayFilters | undefined): string[][] {
  let prefixes: string[][] = [[]];
  for (const seg of entry.segs) {
    if (!isPositional(seg)) {
      for (const p of prefixes) p.push(seg);
      continue;
    }
    const next: string[][] = [];
    for (const prefix of prefixes) {
      if (seg === '$') {
        const index = options.isUpsertInsert ? undefined : options.positional?.(prefix.join('.'));
        if (index === undefined) throw badValue('The positional operator did not find the match needed from the query.');
        next.push([...prefix, String(index)]);
        continue;
      }
      const array = prefix.length === 0 ? undefined : getAt(doc, prefix);
      if (!Array.isArray(array)) {
        if (array === undefined && options.isUpsertInsert) continue;
        throw badValue(`The path '${prefix.join('.')}' must exist in the document in order to apply array updates.`);
      }
      const id = seg.slice(2, -1);
      const query = id === '' ? undefined : filters?.byId.get(id);
      for (let i = 0; i < array.length; i++) {
        if (query === undefined || testQuery(query, { [id]: plainOf(array[i]) })) next.push([...prefix, String(i)]);
      }
    }
    prefixes = next;
  }
  return prefixes;
}

function nonNumericField(op: string, doc: Document, path: string, value: unknown): CommandError {
  return CommandError.of(
    'TypeMismatch',
    `Cannot apply ${op} to a value of non-numeric type. {_id: ${formatValue(doc._id)}} has the field '${path}' of non-numeric type ${bsonTypeName(value)}`,
  );
}

function sortElements(values: unknown[], spec: unknown): unknown[] {
  if (isNumberLike(spec)) {
    const dir = numberOf(spec);
    return values.slice().sort((a, b) => compareValues(a, b) * dir);
  }
  const keys = Object.entries(spec as Document).map(([path, d]) => ({ path, dir: numberOf(d) }));
  return values.slice().sort((a, b) => {
    for (const { path, dir } of keys) {
      const va = isPlainObject(a) ? valuesAtPath(a, path)[0] ?? null : null;
      const vb = isPlainObject(b) ? valuesAtPath(b, path)[0] ?? null : null;
      const c = compareValues(va, vb);
      if (c !== 0) return c * dir;
    }
    return 0;
  });
}

function pullMatcher(condition: unknown, mingo: MingoContext | undefined): (element: unknown) => boolean {
  if (isPlainObject(condition)) {
    const plainCondition = plainOf(condition);
    const operatorDoc = Object.keys(condition).length > 0 && Object.keys(condition).every((k) => k.startsWith('$'));
    if (operatorDoc) {
      const query = compileQuery({ v: plainCondition }, mingo);
      return (element) => testQuery(query, { v: plainOf(element) });
    }
    const query = compileQuery(plainCondition, mingo);
    return (element) => isPlainObject(element) && testQuery(query, plainOf(element));
  }
  return (element) => compareValues(element, condition) === 0 && !(Array.isArray(condition) !== Array.isArray(element));
}

let timestampIncrement = 0;

function applyEntry(doc: Document, entry: OpEntry, segs: string[], options: UpdateOptions): void {
  const path = segs.join('.');
  const { op, arg } = entry;
  switch (op) {
    case '$set':
    case '$setOnInsert':
      setAt(doc, segs, cloneTyped(arg));
      return;
    case '$unset':
      unsetAt(doc, segs);
      return;
    case '$inc':
    case '$mul': {
      const current = getAt(doc, segs);
      if (current === undefined) {
        setAt(doc, segs, op === '$inc' ? arg : zeroLike(arg));
        return;
      }
      if (numericKind(current) < 0) throw nonNumericField(op, doc, path, current);
      try {
        setAt(doc, segs, arithmetic(op === '$inc' ? 'add' : 'mul', current, arg));
      } catch (err) {
        if (!(err instanceof NumericOverflow)) throw err;
        throw badValue(`Failed to apply ${op} operations to current value (${bsonTypeName(current)} ${formatValue(current)}) for document {_id: ${formatValue(doc._id)}}`);
      }
      return;
    }
    case '$min':
    case '$max': {
      const current = getAt(doc, segs);
      const c = current === undefined ? 0 : compareValues(arg, current);
      if (current === undefined || (op === '$min' ? c < 0 : c > 0)) setAt(doc, segs, cloneTyped(arg));
      return;
    }
    case '$currentDate': {
      const now = new Date();
      const asTimestamp = isPlainObject(arg) && arg.$type === 'timestamp';
      setAt(doc, segs, asTimestamp ? new Timestamp({ t: Math.floor(now.getTime() / 1000), i: ++timestampIncrement }) : now);
      return;
    }
    case '$rename': {
      const value = getAt(doc, segs);
      if (value === undefined) return;
      const parent = parentForRead(doc, segs);
      if (Array.isArray(parent)) throw badValue(`The source field cannot be an array element, '${path}' in doc with ${describe(segs[0], doc[segs[0]])} has an array field called '${segs[segs.length - 2]}'`);
      const target = (arg as string).split('.');
      const targetParent = parentForRead(doc, target);
      if (Array.isArray(targetParent)) throw badValue(`The destination field cannot be an array element, '${arg as string}' in doc with ${describe(target[0], doc[target[0]])} has an array field called '${target[target.length - 2]}'`);
      unsetAt(doc, segs);
      setAt(doc, target, value);
      return;
    }
    case '$push': {
      const current = getAt(doc, segs);
      if (current !== undefined && !Array.isArray(current)) {
        throw badValue(`The field '${path}' must be an array but is of type ${bsonTypeName(current)} in document {_id: ${formatValue(doc._id)}}`);
      }
      const spec = isPlainObject(arg) && '$each' in arg ? arg : undefined;
      const values = spec ? (spec.$each as unknown[]).map(cloneTyped) : [cloneTyped(arg)];
      let array = current ? (current as unknown[]).slice() : [];
      if (spec && spec.$position !== undefined) {
        let position = Math.trunc(numberOf(spec.$position));
        if (position < 0) position = Math.max(0, array.length + position);
        array.splice(Math.min(position, array.length), 0, ...values);
      } else {
        array.push(...values);
      }
      if (spec && spec.$sort !== undefined) array = sortElements(array, spec.$sort);
      if (spec && spec.$slice !== undefined) {
        const n = Math.trunc(numberOf(spec.$slice));
        array = n >= 0 ? array.slice(0, n) : array.slice(Math.max(0, array.length + n));
      }
      setAt(doc, segs, array);
      return;
    }
    case '$addToSet': {
      const current = getAt(doc, segs);
      if (current !== undefined && !Array.isArray(current)) {
        throw badValue(`Cannot apply $addToSet to non-array field. Field named '${segs[segs.length - 1]}' has non-array type ${bsonTypeName(current)}`);
      }
      const values = isPlainObject(arg) && '$each' in arg ? (arg.$each as unknown[]) : [arg];
      const array = current ? (current as unknown[]).slice() : [];
      const seen = new Set(array.map(keyOf));
      for (const v of values) {
        const k = keyOf(v);
        if (seen.has(k)) continue;
        seen.add(k);
        array.push(cloneTyped(v));
      }
      setAt(doc, segs, array);
      return;
    }
    case '$pop': {
      const current = getAt(doc, segs);
      if (current === undefined) return;
      if (!Array.isArray(current)) throw badValue(`Path '${path}' contains an element of non-array type '${bsonTypeName(current)}'`);
      setAt(doc, segs, numberOf(arg) === 1 ? current.slice(0, -1) : current.slice(1));
      return;
    }
    case '$pull':
    case '$pullAll': {
      const current = getAt(doc, segs);
      if (current === undefined) return;
      if (!Array.isArray(current)) throw badValue(`Cannot apply ${op} to a non-array value`);
      const matches =
        op === '$pull' ? pullMatcher(arg, options.mingo) : (element: unknown) => (arg as unknown[]).some((v) => compareValues(v, element) === 0);
      setAt(doc, segs, current.filter((element) => !matches(element)));
      return;
    }
    case '$bit': {
      const current = getAt(doc, segs);
      let value: unknown = current === undefined ? 0 : current;
      if (!isIntegral(value) && current !== undefined) {
        throw badValue(`Cannot apply $bit to a value of non-integral type.{_id: ${formatValue(doc._id)}} has the field ${segs[segs.length - 1]} of non-integer type ${bsonTypeName(current)}`);
      }
      for (const [k, v] of Object.entries(arg as Document)) value = bitwise(k as 'and' | 'or' | 'xor', value, v);
      setAt(doc, segs, value);
      return;
    }
    default:
      throw failedToParse(`Unknown modifier: ${op}`);
  }
}

function idChanged(before: Document, after: Document): boolean {
  if (before._id === undefined) return false;
  return after._id === undefined || keyOf(after._id) !== keyOf(before._id);
}

/** `_id` first, as mongod stores it. */
export function withIdFirst(doc: Document, id: unknown): Document {
  if (firstKey(doc) === '_id' && doc._id === id) return doc;
  const out: Document = { _id: id };
  for (const key in doc) if (key !== '_id') setField(out, key, doc[key]);
  return out;
}

/**
 * Applies a compiled update to a document and returns the new document; the input is never
 * modified. Throws CommandError on invalid paths, types or an altered `_id`.
 */
export function applyUpdate(update: CompiledUpdate, before: Document, options: UpdateOptions, filters?: CompiledArrayFilters): Document {
  switch (update.kind) {
    case 'replacement': {
      const replacement = update.doc;
      if (replacement._id !== undefined && before._id !== undefined && keyOf(replacement._id) !== keyOf(before._id)) {
        throw CommandError.of(
          'ImmutableField',
          `After applying the update, the (immutable) field '_id' was found to have been altered to _id: ${formatValue(replacement._id)}`,
        );
      }
      const doc = cloneTyped(replacement);
      const id = before._id !== undefined ? before._id : doc._id;
      return id === undefined ? doc : withIdFirst(doc, id);
    }
    case 'pipeline': {
      // The caller refuses a result over 16 MiB with the update's own code (17419).
      const [out] = runAggregation(update.pipeline.map((s) => plainOf(s)), [plainOf(before)], options.mingo, { checkResultSizes: false });
      if (!isPlainObject(out)) throw badValue('The update pipeline must produce a document');
      const doc = typedOf(out, before) as Document;
      if (before._id !== undefined && doc._id !== undefined && keyOf(doc._id) !== keyOf(before._id)) {
        throw CommandError.of('ImmutableField', `After applying the update, the (immutable) field '_id' was found to have been altered to _id: ${formatValue(doc._id)}`);
      }
      const id = before._id !== undefined ? before._id : doc._id;
      return id === undefined ? doc : withIdFirst(doc, id);
    }
    case 'operators': {
      const doc = cloneTyped(before);
      for (const entry of update.entries) {
        if (entry.op === '$setOnInsert' && !options.isUpsertInsert) continue;
        const concrete = update.usesPositional ? expandPaths(doc, entry, options, filters) : [entry.segs as string[]];
        for (const segs of concrete) applyEntry(doc, entry, segs, options);
      }
      if (idChanged(before, doc)) {
        throw CommandError.of('ImmutableField', "Performing an update on the path '_id' would modify the immutable field '_id'");
      }
      return doc;
    }
  }
}

/**
 * The document an upsert starts from: the equality conditions of the filter (`{a: 1}`,
 * `{a: {$eq: 1}}`, `{'b.c': 2}`, inside `$and` too), as mongod builds it.
 */
export function upsertSeed(filter: Document | undefined): Document {
  const seed: Document = {};
  const visit = (clause: Document): void => {
    for (const key of Object.keys(clause)) {
      const v = clause[key];
      if (key === '$and' && Array.isArray(v)) {
        for (const sub of v) if (isPlainObject(sub)) visit(sub);
        continue;
      }
      if (key.startsWith('$')) continue;
      let value: unknown;
      if (isPlainObject(v) && firstKey(v)?.startsWith('$')) {
        if ('$eq' in v) value = v.$eq;
        else if (Array.isArray(v.$in) && v.$in.length === 1) value = v.$in[0];
        else continue;
      } else {
        value = v;
      }
      if (value instanceof RegExp || value instanceof BSONRegExp) continue;
      const segs = key.split('.');
      if (segs.some((s) => s.length === 0 || s.startsWith('$'))) continue;
      try {
        setAt(seed, segs, cloneTyped(value));
      } catch {
        throw CommandError.of('NotSingleValueField', `cannot infer query fields to set, path '${key}' is matched twice`);
      }
    }
  };
  if (filter) visit(filter);
  return seed._id === undefined ? seed : withIdFirst(seed, seed._id);
}

/** Builds the document an upsert inserts. */
export function upsertDocument(update: CompiledUpdate, filter: Document | undefined, options: Omit<UpdateOptions, 'isUpsertInsert'>, filters?: CompiledArrayFilters): Document {
  let doc: Document;
  if (update.kind === 'replacement') {
    const seed = upsertSeed(filter);
    doc = cloneTyped(update.doc);
    const id = doc._id !== undefined ? doc._id : seed._id;
    if (id !== undefined) doc = withIdFirst(doc, id);
  } else {
    doc = applyUpdate(update, upsertSeed(filter), { ...options, isUpsertInsert: true }, filters);
  }
  return doc._id === undefined ? withIdFirst(doc, new ObjectId()) : doc;
}
