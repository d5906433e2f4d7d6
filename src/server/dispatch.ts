import type { Document } from 'bson';
import type { ServerCore } from './core.js';
import type { CommandRegistry } from './commands/registry.js';
import type { CommandContext, CommandSpec } from './commands/types.js';
import type { ConnectionState } from './connection/state.js';
import { CommandError, ErrorCodes } from './errors.js';
import type { FailAction } from './faults/failpoint.js';

/** Thrown when the connection must be dropped without a reply (failCommand closeConnection). */
export class CloseConnection extends Error {
  constructor() {
    super('connection closed by the failCommand fail point');
    this.name = 'CloseConnection';
  }
}

const NEVER_ABORTED = new AbortController().signal;

export interface ParsedCommand {
  body: Document;
  db: string;
  requestSize: number;
  lsidKey: string | undefined;
}

/** First key of a document without allocating the key array. */
export function firstKey(doc: Document): string | undefined {
  for (const key in doc) return key;
  return undefined;
}

/**
 * Runs one command through the pipeline (auth → topology → failCommand → load model → handler) and
 * returns the reply document. Errors become `{ ok: 0, ... }` replies; only CloseConnection escapes.
 */
export async function runCommand(server: ServerCore, registry: CommandRegistry, connection: ConnectionState, parsed: ParsedCommand): Promise<Document> {
  const commandName = firstKey(parsed.body);
  if (commandName === undefined) return errorReply(CommandError.of('FailedToParse', 'empty command document'));
  const spec = registry.get(commandName);
  if (spec === undefined || (spec.testOnly && !server.options.testCommands)) {
    server.stats.opcounters.command++;
    return errorReply(new CommandError(ErrorCodes.CommandNotFound, `no such command: '${commandName}'`, { codeName: 'CommandNotFound' }));
  }
  countOp(server, spec.opcounter ?? OPCOUNTER_BY_COMMAND[commandName], parsed.body);
  const ctx: CommandContext = {
    commandName,
    db: parsed.db,
    body: parsed.body,
    server,
    connection,
    signal: NEVER_ABORTED,
    requestSize: parsed.requestSize,
    lsidKey: parsed.lsidKey,
  };
  connection.lastCommand = commandName;
  connection.inflight++;
  try {
    return await pipeline(ctx, spec);
  } catch (err) {
    if (err instanceof CloseConnection) throw err;
    if (!(err instanceof CommandError)) {
      server.log.add('command failed with an internal error', { command: commandName, error: String((err as Error)?.stack ?? err) });
    }
    return errorReply(err);
  } finally {
    connection.inflight--;
  }
}

function pipeline(ctx: CommandContext, spec: CommandSpec): Promise<Document> {
  const { server } = ctx;
  const { auth, topology } = server.middleware;
  const afterTopology = () => failCommandStage(ctx, spec);
  const afterAuth = topology ? () => topology(ctx, spec, afterTopology) : afterTopology;
  return auth ? auth(ctx, spec, afterAuth) : afterAuth();
}

async function failCommandStage(ctx: CommandContext, spec: CommandSpec): Promise<Document> {
  const { server, body, commandName } = ctx;
  if (body.txnNumber !== undefined && !server.acceptsTxnNumbers) {
    throw CommandError.of('IllegalOperation', 'Transaction numbers are only allowed on a replica set member or mongos');
  }
  let action: FailAction | null = null;
  if (server.failPoints.active && commandName !== 'configureFailPoint') {
    const coll = body[commandName];
    const ns = typeof coll === 'string' ? `${ctx.db}.${coll}` : `${ctx.db}.$cmd`;
    action = server.failPoints.check(commandName, ns, ctx.connection.appName);
  }
  if (action === null) return execute(ctx, spec);
  if (action.blockTimeMS > 0) await sleep(action.blockTimeMS);
  if (action.closeConnection) throw new CloseConnection();
  if (action.errorCode !== undefined) {
    // errorLabels given (even []) replace the server's own labels; undefined leaves them to the topology.
    throw new CommandError(action.errorCode, "Failing command via 'failCommand' failpoint", { labels: action.labels ?? undefined });
  }
  const reply = await execute(ctx, spec);
  if (action.writeConcernError) {
    reply.writeConcernError = action.writeConcernError;
    if (action.labels && action.labels.length > 0) reply.errorLabels = action.labels;
  }
  return reply;
}

function execute(ctx: CommandContext, spec: CommandSpec): Promise<Document> {
  const loadModel = ctx.server.middleware.loadModel;
  if (loadModel && !spec.loadExempt) return loadModel(ctx, spec, () => runHandler(ctx, spec));
  return runHandler(ctx, spec);
}

/** An operation interrupted while it waited (stepdown, shutdown, maxTimeMS) must not run at all. */
function runHandler(ctx: CommandContext, spec: CommandSpec): Promise<Document> {
  ctx.signal.throwIfAborted();
  return Promise.resolve(spec.handler(ctx));
}

const OPCOUNTER_BY_COMMAND: Record<string, CommandSpec['opcounter']> = {
  insert: 'insert',
  update: 'update',
  delete: 'delete',
  find: 'query',
  getMore: 'getmore',
};

function countOp(server: ServerCore, kind: CommandSpec['opcounter'], body: Document): void {
  const counters = server.stats.opcounters;
  switch (kind) {
    case 'insert':
      counters.insert += Array.isArray(body.documents) ? body.documents.length : 1;
      break;
    case 'update':
      counters.update += Array.isArray(body.updates) ? body.updates.length : 1;
      break;
    case 'delete':
      counters.delete += Array.isArray(body.deletes) ? body.deletes.length : 1;
      break;
    case 'query':
      counters.query++;
      break;
    case 'getmore':
      counters.getmore++;
      break;
    default:
      counters.command++;
  }
}

export function errorReply(err: unknown): Document {
  if (err instanceof CommandError) {
    const reply: Document = { ok: 0, errmsg: err.message, code: err.code, codeName: err.codeName };
    if (err.errorLabels && err.errorLabels.length > 0) reply.errorLabels = err.errorLabels;
    if (err.extra) Object.assign(reply, err.extra);
    return reply;
  }
  const message = err instanceof Error ? err.message : String(err);
  return { ok: 0, errmsg: `internal error: ${message}`, code: ErrorCodes.InternalError, codeName: 'InternalError' };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
