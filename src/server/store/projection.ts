import type { Document } from 'bson';
import { CommandError } from '../errors.js';
import { compileQuery, runAggregation, testQuery } from './mingo.js';
import { positionalIndex } from './matcher.js';
import { withIdFirst } from './update.js';
import { isNumberLike, isPlainObject, numberOf, plainOf, setField, typedOf } from './values.js';

/**
 * Find projections applied to typed documents, so projected results keep their BSON types:
 * inclusion, exclusion, `_id`, `$slice`, `$elemMatch` and positional `a.$`. Projections with
 * aggregation expressions (`{ total: { $add: [...] } }`) run through mingo on the plain view and
 * are re-typed afterwards (computed numbers come back as int32/double).
 */
export interface ProjectionInput {
  readonly doc: Document;
  readonly plain: Document;
}

export type Projector = (input: ProjectionInput, plainFilter: Document) => Document;

type Node = Map<string, Node | Leaf>;
type Leaf =
  | { kind: 'include' }
  | { kind: 'slice'; skip: number; limit: number | undefined; count?: number }
  | { kind: 'elemMatch'; test: (plainElement: unknown) => boolean }
  | { kind: 'positional'; path: string };

function isTruthyFlag(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (isNumberLike(v)) return numberOf(v) !== 0;
  return undefined;
}

function addPath(root: Node, path: string, leaf: Leaf): void {
  const segs = path.split('.');
  let node = root;
  for (let i = 0; i < segs.length - 1; i++) {
    let next = node.get(segs[i]);
    if (next === undefined || !(next instanceof Map)) {
      next = new Map();
      node.set(segs[i], next);
    }
    node = next;
  }
  node.set(segs[segs.length - 1], leaf);
}

function parseSlice(path: string, arg: unknown): Leaf {
  if (isNumberLike(arg)) {
    const n = Math.trunc(numberOf(arg));
    return n >= 0 ? { kind: 'slice', skip: 0, limit: n } : { kind: 'slice', skip: n, limit: undefined };
  }
  if (Array.isArray(arg) && arg.length === 2 && isNumberLike(arg[0]) && isNumberLike(arg[1])) {
    const limit = Math.trunc(numberOf(arg[1]));
    if (limit <= 0) throw new CommandError(28724, 'First argument to $slice must be an array, but is of type: missing', { codeName: 'Location28724' });
    return { kind: 'slice', skip: Math.trunc(numberOf(arg[0])), limit };
  }
  throw new CommandError(28667, `Invalid $slice syntax for field '${path}'`, { codeName: 'Location28667' });
}

export function compileProjection(spec: Document | undefined): Projector | undefined {
  if (spec === undefined || spec === null) return undefined;
  const keys = Object.keys(spec);
  if (keys.length === 0) return undefined;
  const root: Node = new Map();
  let inclusion = false;
  let exclusion = false;
  let idFlag: boolean | undefined;
  let complex = false;
  const excluded: string[] = [];
  for (const path of keys) {
    const v = spec[path];
    const flag = isTruthyFlag(v);
    if (path === '_id' && flag !== undefined) {
      idFlag = flag;
      continue;
    }
    if (path.endsWith('.$')) {
      inclusion = true;
      addPath(root, path.slice(0, -2), { kind: 'positional', path: path.slice(0, -2) });
    } else if (flag === true) {
      inclusion = true;
      addPath(root, path, { kind: 'include' });
    } else if (flag === false) {
      exclusion = true;
      excluded.push(path);
    } else if (isPlainObject(v) && Object.keys(v).length === 1 && '$slice' in v) {
      addPath(root, path, parseSlice(path, v.$slice));
    } else if (isPlainObject(v) && Object.keys(v).length === 1 && '$elemMatch' in v) {
      inclusion = true;
      const query = compileQuery({ [path]: { $elemMatch: plainOf(v.$elemMatch) } });
      addPath(root, path, { kind: 'elemMatch', test: (element) => testQuery(query, { [path]: [element] }) });
    } else {
      complex = true;
    }
  }
  if (complex) return expressionProjector(spec);
  if (inclusion && exclusion) {
    throw new CommandError(31254, `Cannot do exclusion on field ${excluded[0]} in inclusion projection`, { codeName: 'Location31254' });
  }
  if (exclusion) for (const path of excluded) addPath(root, path, { kind: 'include' });
  const includeId = idFlag !== false;
  if (inclusion) {
    return (input, filter) => {
      const out: Document = {};
      if (includeId && input.doc._id !== undefined) out._id = input.doc._id;
      includeInto(out, input.doc, root, input, filter, '');
      return out;
    };
  }
  // Exclusion mode (also `$slice` alone): everything except the excluded paths.
  return (input, filter) => {
    const out = excludeFrom(input.doc, root, input, filter, '');
    if (!includeId) delete out._id;
    return out;
  };
}

function applyLeaf(value: unknown, leaf: Leaf, input: ProjectionInput, filter: Document): unknown {
  switch (leaf.kind) {
    case 'include':
      return value;
    case 'slice': {
      if (!Array.isArray(value)) return value;
      const start = leaf.skip < 0 ? Math.max(0, value.length + leaf.skip) : Math.min(leaf.skip, value.length);
      return leaf.limit === undefined ? value.slice(start) : value.slice(start, start + leaf.limit);
    }
    case 'elemMatch': {
      if (!Array.isArray(value)) return undefined;
      for (const element of value) if (leaf.test(plainOf(element))) return [element];
      return undefined;
    }
    case 'positional': {
      if (!Array.isArray(value)) return value;
      const index = positionalIndex(input.plain, filter, leaf.path);
      if (index === undefined) {
        throw CommandError.of('BadValue', 'Executor error during find command :: caused by :: positional operator \'.$\' couldn\'t find a matching element in the array');
      }
      return [value[index]];
    }
  }
}

function includeInto(out: Document, doc: Document, node: Node, input: ProjectionInput, filter: Document, prefix: string): void {
  for (const key of Object.keys(doc)) {
    const spec = node.get(key);
    if (spec === undefined) continue;
    const value = doc[key];
    if (!(spec instanceof Map)) {
      const projected = applyLeaf(value, spec, input, filter);
      if (projected !== undefined) setField(out, key, projected);
    } else if (isPlainObject(value)) {
      const sub: Document = {};
      includeInto(sub, value, spec, input, filter, `${prefix}${key}.`);
      setField(out, key, sub);
    } else if (Array.isArray(value)) {
      const elements = value.filter(isPlainObject).map((element) => {
        const sub: Document = {};
        includeInto(sub, element, spec, input, filter, `${prefix}${key}.`);
        return sub;
      });
      setField(out, key, elements);
    }
  }
}

function excludeFrom(doc: Document, node: Node, input: ProjectionInput, filter: Document, prefix: string): Document {
  const out: Document = {};
  for (const key of Object.keys(doc)) {
    const spec = node.get(key);
    const value = doc[key];
    if (spec === undefined) {
      setField(out, key, value);
    } else if (!(spec instanceof Map)) {
      if (spec.kind === 'include') continue; // excluded
      const projected = applyLeaf(value, spec, input, filter);
      if (projected !== undefined) setField(out, key, projected);
    } else if (isPlainObject(value)) {
      setField(out, key, excludeFrom(value, spec, input, filter, `${prefix}${key}.`));
    } else if (Array.isArray(value)) {
      setField(out, key, value.map((element) => (isPlainObject(element) ? excludeFrom(element, spec, input, filter, `${prefix}${key}.`) : element)));
    } else {
      setField(out, key, value);
    }
  }
  return out;
}

/** Projections with expressions: mingo's $project on the plain view, then re-typed. */
function expressionProjector(spec: Document): Projector {
  const stage = [{ $project: plainOf(spec) }];
  return (input) => {
    const [projected] = runAggregation(stage, [plainOf(input.doc)]);
    const typed = typedOf(projected ?? {}, input.doc) as Document;
    return typed._id === undefined ? typed : withIdFirst(typed, typed._id);
  };
}
