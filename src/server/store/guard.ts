import { calculateObjectSize, type Document } from 'bson';
import { Context, evalExpr } from 'mingo/core';
import * as accumulatorOperators from 'mingo/operators/accumulator';
import * as expressionOperators from 'mingo/operators/expression';
import * as pipelineOperators from 'mingo/operators/pipeline';
import * as projectionOperators from 'mingo/operators/projection';
import * as queryOperators from 'mingo/operators/query';
import * as windowOperators from 'mingo/operators/window';
import { Lazy } from 'mingo/lazy';
import { CommandError } from '../errors.js';

/**
 * Resource guards around mingo. A pipeline or `$expr` filter is client-supplied code that runs
 * synchronously on the event loop: one bad argument could loop forever (`$densify` with step 0,
 * `$sample` with a negative size) or allocate an array so large that V8 aborts the whole process
 * (`$range: [0, 1e9]`). A runaway loop cannot be interrupted from JavaScript, so the guard works
 * in three layers, all giving the client a mongod error code instead of taking the server down:
 *
 * 1. Argument validation, as mongod parses stages: `$sample`, `$densify`, `$bucketAuto`, `$limit`,
 *    `$skip`, `$graphLookup`, nested `$out`/`$merge`, and `$range` (whose length is computed
 *    before anything is allocated, with mongod's memory rule).
 * 2. Bounded generation: `$densify` may generate at most 500,000 documents
 *    (internalQueryMaxAllowedDensifyDocs); `$sample` never returns more documents than it got.
 * 3. Memory accounting, as mongod's per-stage limits: every expression result that is an array or
 *    string is capped and charged to the document being evaluated (one budget per document and
 *    stage); documents that blocking stages ($group, $sort, $facet...) hold are charged to that
 *    stage (100 MiB, mongod's limit without allowDiskUse); the result of a whole aggregation is
 *    capped, and each returned document must fit in 16 MiB.
 *
 * The same operator tables serve every mingo call (filters, projections, update pipelines,
 * aggregation), so no path reaches an unguarded operator.
 */

export const LIMITS = Object.freeze({
  /** maxBsonObjectSize: a returned or stored document. */
  maxBsonObjectSize: 16 * 1024 * 1024,
  /** mongod's memory limit for one blocking stage without allowDiskUse (internalDocumentSourceGroupMaxMemoryBytes...). */
  stageMemoryBytes: 100 * 1024 * 1024,
  /** mongod's internalQueryMaxRangeBytes: `$range` output, counted as mongod counts it (16 bytes per value). */
  rangeMemoryBytes: 100 * 1024 * 1024,
  /** Ours: what evaluating the expressions of one document in one stage may allocate (arrays and strings). */
  evaluationMemoryBytes: 512 * 1024 * 1024,
  /** Ours: the documents one aggregation returns are all held in memory (the cursor is a snapshot). */
  resultMemoryBytes: 512 * 1024 * 1024,
  /** mongod's internalQueryMaxAllowedDensifyDocs. */
  maxDensifyDocs: 500_000,
});

/** mongod sizes an in-memory value as sizeof(Value): 16 bytes. */
const VALUE_BYTES = 16;
/** Longest array an expression may produce (mongod's $range limit, applied to every array). */
export const MAX_EXPRESSION_ARRAY = Math.floor(LIMITS.rangeMemoryBytes / VALUE_BYTES);
/** Longest string an expression may produce. */
export const MAX_EXPRESSION_STRING = LIMITS.stageMemoryBytes;
/** Smaller results are not worth charging (the check runs on every operator call). */
const CHARGE_ARRAY_FROM = 1024;
const CHARGE_STRING_FROM = 16 * 1024;

// ---------------------------------------------------------------------------------------------
// Scope: one mingo call (runAggregation, one query test) at a time; mingo is synchronous.

interface Scope {
  /** `allowDiskUse: true` was requested: limits are reported as 146 rather than 292 (we never spill). */
  allowDiskUse: boolean;
  /** Documents already in memory before the pipeline ran (inputs): holding them costs nothing new. */
  inputs: WeakSet<object> | undefined;
  /** Bytes charged to the document being evaluated. */
  charged: number;
}

let scope: Scope = { allowDiskUse: false, inputs: undefined, charged: 0 };

export interface GuardOptions {
  readonly allowDiskUse?: boolean;
  readonly inputs?: readonly object[];
}

/** Runs `fn` (one mingo call) with fresh accounting; nested calls ($merge pipelines) get their own. */
export function guarded<T>(options: GuardOptions, fn: () => T): T {
  const previous = scope;
  scope = {
    allowDiskUse: options.allowDiskUse === true,
    inputs: options.inputs ? new WeakSet(options.inputs) : undefined,
    charged: 0,
  };
  try {
    return fn();
  } finally {
    scope = previous;
  }
}

/** A new document is about to be evaluated (query test, stage boundary). */
export function resetEvaluation(): void {
  scope.charged = 0;
}

function memoryError(message: string): CommandError {
  return CommandError.of('ExceededMemoryLimit', message);
}

function charge(op: string, bytes: number): void {
  scope.charged += bytes;
  if (scope.charged > LIMITS.evaluationMemoryBytes) {
    throw memoryError(
      `${op} would use too much memory: evaluating the expressions of one document allocated more than ${LIMITS.evaluationMemoryBytes} bytes, and the embedded server cannot spill to disk`,
    );
  }
}

/** Operators that return one of their inputs (or part of one) rather than allocating. */
const PASS_THROUGH = new Set(['$cond', '$ifNull', '$switch', '$let', '$literal', '$getField', '$arrayElemAt', '$first', '$last', '$reduce']);

function checkResult(op: string, result: unknown): void {
  if (typeof result === 'string') {
    if (result.length > MAX_EXPRESSION_STRING) {
      throw memoryError(`${op} would produce a string of ${result.length} characters; the limit is ${MAX_EXPRESSION_STRING}`);
    }
    if (result.length >= CHARGE_STRING_FROM && !PASS_THROUGH.has(op)) charge(op, result.length);
  } else if (Array.isArray(result)) {
    if (result.length > MAX_EXPRESSION_ARRAY) {
      throw memoryError(`${op} would produce an array of ${result.length} elements (${result.length * VALUE_BYTES} bytes); the memory limit is ${LIMITS.rangeMemoryBytes} bytes`);
    }
    if (result.length >= CHARGE_ARRAY_FROM && !PASS_THROUGH.has(op)) charge(op, result.length * VALUE_BYTES);
  }
}

// ---------------------------------------------------------------------------------------------
// Expression operators

type ExpressionOp = (obj: any, expr: any, options: any) => any;
type LazyIterator = ReturnType<typeof Lazy>;
type PipelineOp = (coll: LazyIterator, expr: any, options: any) => LazyIterator;

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'missing';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'double';
  if (typeof v === 'boolean') return 'bool';
  if (v instanceof Date) return 'date';
  return typeof v === 'object' ? 'object' : typeof v;
}

function located(code: number, message: string): CommandError {
  return new CommandError(code, message, { codeName: `Location${code}` });
}

const isInt32 = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= -2147483648 && v <= 2147483647;

/** $range with mongod's checks (expression.cpp ExpressionRange): the length is known before allocating. */
const $range: ExpressionOp = (obj, expr, options) => {
  if (!Array.isArray(expr) || expr.length < 2 || expr.length > 3) {
    throw located(28667, `Expression $range takes at least 2 arguments, and at most 3, but ${Array.isArray(expr) ? expr.length : 1} were passed in.`);
  }
  const [start, end, step = 1] = evalExpr(obj, expr, options) as unknown[];
  const check = (v: unknown, what: string, numericCode: number, intCode: number): number => {
    if (typeof v !== 'number') throw located(numericCode, `$range requires a numeric ${what}, found value of type: ${typeName(v)}`);
    if (!isInt32(v)) throw located(intCode, `$range requires a ${what} that can be represented as a 32-bit integer, found value: ${v}`);
    return v;
  };
  const from = check(start, 'starting value', 34443, 34444);
  const to = check(end, 'ending value', 34445, 34446);
  const by = check(step, 'step value', 34447, 34448);
  if (by === 0) throw located(34449, '$range requires a non-zero step value');
  const steps = Math.trunc((to - from) / by);
  const length = steps >= 0 ? 1 + steps : 0;
  const memNeeded = 24 + length * VALUE_BYTES;
  if (memNeeded >= LIMITS.rangeMemoryBytes) {
    throw memoryError(`$range would use too much memory (${memNeeded} bytes) and cannot spill to disk. Memory limit: ${LIMITS.rangeMemoryBytes} bytes`);
  }
  const out: number[] = [];
  for (let v = from; by > 0 ? v < to : v > to; v += by) out.push(v);
  return out;
};

/** Evaluates the arguments once, checks the output size, then lets mingo's operator build it. */
function presized(op: string, original: ExpressionOp, sizeOf: (args: unknown) => { length: number; unit: 'elements' | 'chars' } | undefined): ExpressionOp {
  return (obj, expr, options) => {
    const args = evalExpr(obj, expr, options);
    const size = sizeOf(args);
    if (size) {
      const max = size.unit === 'elements' ? MAX_EXPRESSION_ARRAY : MAX_EXPRESSION_STRING;
      if (size.length > max) throw memoryError(`${op} would produce ${size.length} ${size.unit}; the limit is ${max}`);
    }
    // Already-evaluated values go back in as literals so they are not evaluated twice.
    const literal = Array.isArray(args) ? args.map((v) => ({ $literal: v })) : { $literal: args };
    return original(obj, literal, options);
  };
}

const sumLengths = (args: unknown, unit: 'elements' | 'chars') => {
  if (!Array.isArray(args)) return undefined;
  let length = 0;
  for (const a of args) if (Array.isArray(a) || typeof a === 'string') length += a.length;
  return { length, unit };
};

function replacedLength(args: unknown, firstOnly: boolean): { length: number; unit: 'chars' } | undefined {
  if (args === null || typeof args !== 'object') return undefined;
  const { input, find, replacement } = args as Document;
  if (typeof input !== 'string' || typeof find !== 'string' || typeof replacement !== 'string') return undefined;
  const growth = replacement.length - find.length;
  if (growth <= 0) return undefined;
  let occurrences = 0;
  if (find.length === 0) occurrences = firstOnly ? 1 : input.length + 1;
  else for (let i = input.indexOf(find); i !== -1 && !(firstOnly && occurrences > 0); i = input.indexOf(find, i + find.length)) occurrences++;
  return { length: input.length + occurrences * growth, unit: 'chars' };
}

const EXPRESSION_OVERRIDES: Record<string, ExpressionOp> = {
  $range,
  $concatArrays: presized('$concatArrays', expressionOperators.$concatArrays as ExpressionOp, (a) => sumLengths(a, 'elements')),
  $concat: presized('$concat', expressionOperators.$concat as ExpressionOp, (a) => sumLengths(a, 'chars')),
  $replaceAll: presized('$replaceAll', expressionOperators.$replaceAll as ExpressionOp, (a) => replacedLength(a, false)),
  $replaceOne: presized('$replaceOne', expressionOperators.$replaceOne as ExpressionOp, (a) => replacedLength(a, true)),
};

function guardExpression(name: string, op: ExpressionOp): ExpressionOp {
  return (obj, expr, options) => {
    const result = op(obj, expr, options);
    checkResult(name, result);
    return result;
  };
}

// ---------------------------------------------------------------------------------------------
// Pipeline stages: argument validation (as mongod parses them), bounded generation, accounting

const isPlainObject = (v: unknown): v is Document => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date);

/** `$skip` / `$limit` arguments of stages mingo runs (as pipeline.ts checks the ones the store runs). */
function nonNegativeIntArg(stage: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw CommandError.of('BadValue', `invalid argument to ${stage} stage: expected a non-negative integer, got ${String(v)}`);
  }
  return v;
}

function limitArg(v: unknown): number {
  const n = nonNegativeIntArg('$limit', v);
  if (n === 0) throw located(15958, 'the limit must be positive');
  return n;
}

function validateSample(spec: unknown): Document {
  if (!isPlainObject(spec)) throw located(28745, 'the $sample stage specification must be an object');
  let size: number | undefined;
  for (const [key, v] of Object.entries(spec)) {
    if (key !== 'size') throw located(28748, `unrecognized option to $sample: ${key}`);
    if (typeof v !== 'number' || Number.isNaN(v)) throw located(28746, 'size argument to $sample must be a number');
    size = Math.trunc(v);
  }
  if (size === undefined) throw located(28749, '$sample stage must specify a size');
  // mongod 7.0 accepts 0 (an empty result); newer versions require a positive size.
  if (size < 0) throw located(28747, 'size argument to $sample must not be negative');
  return { size };
}

/** $sample: up to `size` distinct documents in random order (mingo's draws with replacement, forever if size < 0). */
const $sample: PipelineOp = (coll, expr) => {
  const { size } = validateSample(expr);
  return coll.transform((items: unknown[]) => {
    const n = Math.min(size, items.length);
    const pool = items.slice();
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(Math.random() * (pool.length - i));
      const t = pool[i];
      pool[i] = pool[j];
      pool[j] = t;
    }
    pool.length = n;
    return Lazy(pool);
  });
};

const TIME_UNITS = new Set(['year', 'quarter', 'month', 'week', 'day', 'hour', 'minute', 'second', 'millisecond']);

/** mongod's RangeStatement::parse (document_source_densify.cpp) and the $densify IDL checks. */
function validateDensify(spec: unknown): void {
  if (!isPlainObject(spec)) throw CommandError.of('FailedToParse', `The $densify stage specification must be an object, found ${typeName(spec)}`);
  const missing = (f: string) => new CommandError(40414, `BSON field '$densify.${f}' is missing but a required field`, { codeName: 'Location40414' });
  if (spec.field === undefined) throw missing('field');
  if (typeof spec.field !== 'string' || spec.field.length === 0 || spec.field.startsWith('$')) {
    throw CommandError.of('BadValue', `$densify 'field' must be a non-empty field path that does not start with '$'`);
  }
  if (spec.range === undefined) throw missing('range');
  if (!isPlainObject(spec.range)) throw CommandError.of('TypeMismatch', `BSON field '$densify.range' is the wrong type '${typeName(spec.range)}', expected type 'object'`);
  const { step, bounds, unit } = spec.range;
  if (step === undefined) throw missing('range.step');
  if (bounds === undefined) throw missing('range.bounds');
  if (typeof step !== 'number' || !(step > 0) || !Number.isFinite(step)) {
    throw located(5733401, 'The step parameter in a range statement must be a strictly positive numeric value');
  }
  if (unit !== undefined) {
    if (!Number.isInteger(step)) throw located(6586400, 'The step parameter in a range statement must be a whole number when densifying a date range');
    if (typeof unit !== 'string' || !TIME_UNITS.has(unit)) throw CommandError.of('FailedToParse', `unknown time unit value: ${String(unit)}`);
  }
  const partitions = spec.partitionByFields;
  if (partitions !== undefined && (!Array.isArray(partitions) || partitions.some((p) => typeof p !== 'string'))) {
    throw CommandError.of('TypeMismatch', "BSON field '$densify.partitionByFields' must be an array of strings");
  }
  if (Array.isArray(bounds)) {
    if (bounds.length !== 2) throw located(5733403, 'A bounding array in a range statement must have exactly two elements');
    const [lo, hi] = bounds;
    if (typeof lo === 'number') {
      if (unit !== undefined) throw located(5733409, 'Numeric bounds may not have unit parameter');
      if (typeof hi !== 'number') throw located(5733406, 'A bounding array must contain either both dates or both numeric types');
      if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw located(5946800, 'Explicit bounds must be numeric or dates');
    } else if (lo instanceof Date) {
      if (!(hi instanceof Date)) throw located(5733405, 'A bounding array must contain either both dates or both numeric types');
      if (unit === undefined) throw located(5733410, 'A bounding array of dates must specify a unit');
    } else {
      throw located(5946800, 'Explicit bounds must be numeric or dates');
    }
    if (!((lo as number) <= (hi as number))) throw located(5733402, 'A bounding array must be an ascending array of either two dates or two numbers');
  } else if (typeof bounds === 'string') {
    if (bounds !== 'full' && bounds !== 'partition') throw located(5946802, "Bounds string must either be 'full' or 'partition'");
    if (bounds === 'partition' && (!Array.isArray(partitions) || partitions.length === 0)) {
      throw located(5733408, "One cannot specify the bounds as 'partition' without specifying a non-empty array of partitionByFields. You may have meant to specify 'full' bounds.");
    }
  } else {
    throw located(5733404, "The bounds in a range statement must be the string 'full', 'partition', or an ascending array of two numbers or two dates");
  }
}

function validateBucketAuto(spec: unknown): void {
  if (!isPlainObject(spec)) throw located(40240, `The argument to $bucketAuto must be an object, but found type: ${typeName(spec)}.`);
  const buckets = spec.buckets;
  if (typeof buckets !== 'number') throw located(40241, `The $bucketAuto 'buckets' field must be a numeric value, but found type: ${typeName(buckets)}.`);
  if (!isInt32(buckets)) throw located(40242, `The $bucketAuto 'buckets' field must be representable as a 32-bit integer, but found ${buckets}.`);
  if (buckets <= 0) throw located(40243, `The $bucketAuto 'buckets' field must be greater than 0, but found: ${buckets}.`);
}

function validateGraphLookup(spec: unknown): void {
  if (!isPlainObject(spec) || spec.maxDepth === undefined) return;
  if (typeof spec.maxDepth !== 'number') throw located(40100, `maxDepth must be numeric, found type: ${typeName(spec.maxDepth)}`);
  if (!(spec.maxDepth >= 0) || !Number.isInteger(spec.maxDepth)) throw located(40101, `maxDepth requires a nonnegative argument, found: ${spec.maxDepth}`);
}

/** Stages a sub-pipeline may not contain (mongod: 40600 in $facet, 51047 in $lookup). */
const NOT_IN_SUBPIPELINE = new Set(['$out', '$merge', '$changeStream', '$collStats', '$indexStats', '$currentOp', '$listSessions']);

function checkSubPipeline(pipeline: unknown, where: '$facet' | '$lookup' | '$unionWith'): void {
  if (!Array.isArray(pipeline)) return;
  for (const stage of pipeline) {
    const name = isPlainObject(stage) ? Object.keys(stage)[0] : undefined;
    if (name === undefined) continue;
    if (NOT_IN_SUBPIPELINE.has(name) || (where === '$facet' && name === '$facet')) {
      if (where === '$facet') throw located(40600, `${name} is not allowed to be used within a $facet stage`);
      if (where === '$lookup') throw located(51047, `${name} is not allowed within a $lookup's sub-pipeline`);
      // mongod's code for $unionWith (31441) is from memory; the message is its wording.
      throw located(31441, `${name} is not allowed within a $unionWith's sub-pipeline`);
    }
  }
}

const VALIDATORS: Record<string, (spec: any) => void> = {
  $densify: validateDensify,
  $bucketAuto: validateBucketAuto,
  $graphLookup: validateGraphLookup,
  $limit: limitArg,
  $skip: (v) => nonNegativeIntArg('$skip', v),
  $facet: (spec) => {
    if (isPlainObject(spec)) for (const sub of Object.values(spec)) checkSubPipeline(sub, '$facet');
  },
  $lookup: (spec) => {
    if (isPlainObject(spec)) checkSubPipeline(spec.pipeline, '$lookup');
  },
  $unionWith: (spec) => {
    if (isPlainObject(spec)) checkSubPipeline(spec.pipeline, '$unionWith');
  },
};

/** Stages that hold every input document before producing output (mingo materializes them). */
const BLOCKING = new Set(['$group', '$sort', '$bucket', '$bucketAuto', '$sortByCount', '$setWindowFields', '$facet', '$densify', '$fill', '$sample', '$count']);

/** BSON size of a (plain) document. Not cached: a WeakMap of millions of entries slows the GC down. */
export function approximateSize(doc: object): number {
  return calculateObjectSize(doc as Document);
}

function stageLimitError(stage: string, bytes: number): CommandError {
  const message = `Exceeded memory limit for ${stage}: it would hold more than ${LIMITS.stageMemoryBytes} bytes (${bytes} so far), and the embedded server cannot spill to disk`;
  if (scope.allowDiskUse) return memoryError(message);
  return new CommandError(292, `${message}. mongod needs allowDiskUse: true for this.`, { codeName: 'QueryExceededMemoryLimitNoDiskUseAllowed' });
}

function guardStage(name: string, op: PipelineOp): PipelineOp {
  const validate = VALIDATORS[name];
  const blocking = BLOCKING.has(name);
  return (coll, expr, options) => {
    if (validate) validate(expr);
    let inputCount = 0;
    let held = 0;
    // Each document entering or leaving a stage starts a fresh evaluation budget.
    coll.map((doc: unknown) => {
      scope.charged = 0;
      inputCount++;
      if (blocking && doc !== null && typeof doc === 'object' && !(scope.inputs && scope.inputs.has(doc))) {
        held += approximateSize(doc);
        if (held > LIMITS.stageMemoryBytes) throw stageLimitError(name, held);
      }
      return doc;
    });
    const out = op(coll, expr, options);
    let outputCount = 0;
    return out.map((doc: unknown) => {
      scope.charged = 0;
      if (name === '$densify') {
        // Generated documents = output - input; mongod stops at internalQueryMaxAllowedDensifyDocs.
        const generated = ++outputCount - inputCount;
        if (generated > LIMITS.maxDensifyDocs) {
          throw located(
            5897900,
            `Generated ${generated} documents in $densify, which is over the limit of ${LIMITS.maxDensifyDocs}. Increase the 'internalQueryMaxAllowedDensifyDocs' parameter to allow more generated documents`,
          );
        }
      }
      return doc;
    });
  };
}

const STAGE_OVERRIDES: Record<string, PipelineOp> = { $sample };

function operatorsOf(module: Record<string, unknown>): Record<string, any> {
  const out: Record<string, any> = {};
  for (const [name, fn] of Object.entries(module)) if (name.startsWith('$') && typeof fn === 'function') out[name] = fn;
  return out;
}

function buildContext(): Context {
  const expression: Record<string, ExpressionOp> = {};
  for (const [name, fn] of Object.entries(operatorsOf(expressionOperators))) {
    expression[name] = guardExpression(name, EXPRESSION_OVERRIDES[name] ?? fn);
  }
  const pipeline: Record<string, PipelineOp> = {};
  for (const [name, fn] of Object.entries(operatorsOf(pipelineOperators))) {
    pipeline[name] = guardStage(name, STAGE_OVERRIDES[name] ?? fn);
  }
  return Context.init({
    accumulator: operatorsOf(accumulatorOperators),
    expression,
    pipeline,
    projection: operatorsOf(projectionOperators),
    query: operatorsOf(queryOperators),
    window: operatorsOf(windowOperators),
  } as any);
}

/** The operator tables every mingo call uses. */
export const GUARDED_CONTEXT: Context = buildContext();

/**
 * Collects an aggregation's output one document at a time, so an oversized result stops early:
 * each new document must fit in 16 MiB (BSONObjectTooLarge, as mongod reports it) and all of
 * them together in LIMITS.resultMemoryBytes.
 */
export function collectResults(iterator: LazyIterator, checkSizes: boolean): Document[] {
  const out: Document[] = [];
  let total = 0;
  for (;;) {
    const { value, done } = iterator.next() as { value: Document; done: boolean };
    if (done) return out;
    if (checkSizes && value !== null && typeof value === 'object' && !(scope.inputs && scope.inputs.has(value))) {
      const size = approximateSize(value);
      if (size > LIMITS.maxBsonObjectSize) {
        const first = Object.keys(value)[0];
        throw CommandError.of(
          'BSONObjectTooLarge',
          `BSONObj size: ${size} (0x${size.toString(16).toUpperCase()}) is invalid. Size must be between 0 and 16793600(16MB)${first === undefined ? '' : ` First element: ${first}`}`,
        );
      }
      total += size;
      if (total > LIMITS.resultMemoryBytes) {
        throw memoryError(`The aggregation result exceeds ${LIMITS.resultMemoryBytes} bytes; the embedded server holds results in memory. Add $limit, or write them with $out/$merge in parts.`);
      }
    }
    out.push(value);
  }
}

