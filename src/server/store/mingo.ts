import { Aggregator } from 'mingo/aggregator';
import { Query } from 'mingo/query';
import type { Document } from 'bson';
import { CommandError, ErrorCodes } from '../errors.js';
import { collectResults, guarded, GUARDED_CONTEXT, resetEvaluation } from './guard.js';

/**
 * The one place that talks to mingo: shared options, the guarded operator tables (guard.ts:
 * argument validation, bounded generation, memory accounting) and the translation of mingo's
 * errors into mongod's error codes. Server-side JavaScript ($where, $function, $accumulator) is
 * disabled: it would run client-supplied code inside this process.
 */

export interface MingoContext {
  /** `let` variables of the command. */
  variables?: Document;
  /** Resolves `from` / `coll` names of $lookup, $graphLookup, $unionWith to plain documents. */
  collectionResolver?: (name: string) => Document[];
  /** `allowDiskUse: true` of the command: memory limits are then reported as 146 instead of 292. */
  allowDiskUse?: boolean;
}

function options(ctx: MingoContext = {}): Record<string, unknown> {
  const out: Record<string, unknown> = { scriptEnabled: false, useStrictMode: true, context: GUARDED_CONTEXT };
  if (ctx.variables) out.variables = ctx.variables;
  if (ctx.collectionResolver) out.collectionResolver = ctx.collectionResolver;
  return out;
}

/** JavaScript's own allocation failures, which mingo lets through. */
const ALLOCATION_FAILURE = /Invalid (?:string|array|typed array) length|Array buffer allocation failed|Cannot create a string longer|Invalid array buffer length/;

export function toCommandError(err: unknown): CommandError {
  if (err instanceof CommandError) return err;
  const message = err instanceof Error ? err.message : String(err);
  let m: RegExpExecArray | null;
  if ((m = /unknown query operator (\$\w+)/.exec(message))) {
    return CommandError.of('BadValue', `unknown operator: ${m[1]}`);
  }
  if ((m = /unregistered pipeline operator (\$\w+)/.exec(message))) {
    return new CommandError(ErrorCodes.Location40324, `Unrecognized pipeline stage name: '${m[1]}'`, { codeName: 'Location40324' });
  }
  if ((m = /'(\$\w+)' is not registered/.exec(message)) || (m = /unknown (?:expression|accumulator|operator)[^$]*(\$\w+)/i.exec(message))) {
    return CommandError.of('InvalidPipelineOperator', `Unrecognized expression '${m[1]}'`);
  }
  if (/scriptEnabled/.test(message)) {
    return CommandError.of('BadValue', '$where, $function and $accumulator (server-side JavaScript) are disabled on the embedded server');
  }
  if (err instanceof RangeError) {
    if (ALLOCATION_FAILURE.test(message)) {
      return CommandError.of('ExceededMemoryLimit', `the operation would use too much memory (${message}); the embedded server cannot spill to disk`);
    }
    if (/Maximum call stack size exceeded/.test(message)) {
      return CommandError.of('BadValue', 'the query or pipeline is nested too deeply to evaluate');
    }
    return CommandError.of('BadValue', message);
  }
  return CommandError.of('BadValue', message.replace(/^mingo: /, ''));
}

/** Runs a mingo call, turning its errors into CommandErrors. */
export function withMingo<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw toCommandError(err);
  }
}

export function compileQuery(filter: Document, ctx?: MingoContext): Query {
  return withMingo(() => new Query(filter, options(ctx)));
}

/** Tests a compiled query, mapping evaluation errors ($expr on bad types...) to CommandErrors. */
export function testQuery(query: Query, plain: Document): boolean {
  try {
    resetEvaluation();
    return query.test(plain);
  } catch (err) {
    throw toCommandError(err);
  }
}

export interface AggregationOptions {
  /**
   * Each output document must fit in 16 MiB (BSONObjectTooLarge) and all of them in the result
   * limit (default true). Update pipelines turn it off: their caller reports mongod's update code.
   */
  readonly checkResultSizes?: boolean;
}

export function runAggregation(pipeline: Document[], input: Document[], ctx?: MingoContext, run: AggregationOptions = {}): Document[] {
  return withMingo(() =>
    guarded({ allowDiskUse: ctx?.allowDiskUse, inputs: input }, () =>
      collectResults(new Aggregator(pipeline, options(ctx)).stream(input), run.checkResultSizes !== false),
    ),
  );
}
