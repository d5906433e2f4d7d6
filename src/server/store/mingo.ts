import { Aggregator, Query } from 'mingo';
import type { Document } from 'bson';
import { CommandError, ErrorCodes } from '../errors.js';

/**
 * The one place that talks to mingo: shared options and the translation of mingo's errors into
 * mongod's error codes. Server-side JavaScript ($where, $function, $accumulator) is disabled: it
 * would run client-supplied code inside this process.
 */

export interface MingoContext {
  /** `let` variables of the command. */
  variables?: Document;
  /** Resolves `from` / `coll` names of $lookup, $graphLookup, $unionWith to plain documents. */
  collectionResolver?: (name: string) => Document[];
}

function options(ctx: MingoContext = {}): Record<string, unknown> {
  const out: Record<string, unknown> = { scriptEnabled: false, useStrictMode: true };
  if (ctx.variables) out.variables = ctx.variables;
  if (ctx.collectionResolver) out.collectionResolver = ctx.collectionResolver;
  return out;
}

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
  if (err instanceof RangeError) return CommandError.of('BadValue', message);
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
    return query.test(plain);
  } catch (err) {
    throw toCommandError(err);
  }
}

export function runAggregation(pipeline: Document[], input: Document[], ctx?: MingoContext): Document[] {
  return withMingo(() => new Aggregator(pipeline, options(ctx)).run(input));
}
