import { performance } from 'node:perf_hooks';
import { Double, type Document } from 'bson';
import type { ServerCore } from './core.js';
import type { CommandRegistry } from './commands/registry.js';
import type { CommandContext, CommandSpec } from './commands/types.js';
import type { ConnectionState } from './connection/state.js';
import { CloseConnection, CommandError, ErrorCodes } from './errors.js';
import { errorLabelsOverride, setErrorLabelsOverride, type FailCommandData, type FailCommandTarget } from './faults/failpoint.js';
import { HELLO_COMMANDS, recordHandshake } from './commands/handshake.js';
import { isNumeric, toNumber } from './commands/params.js';
import { supportsWriteConcern } from './topology/member.js';

export { CloseConnection } from './errors.js';

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
 * Runs one command through the pipeline (auth → generic arguments → topology → failCommand → load
 * model → handler) and returns the reply document. Errors become `{ ok: 0, ... }` replies; only
 * CloseConnection escapes. The command's `signal` is its connection's: aborted when the client
 * disconnects or the server stops (see ServerCore.signalOf).
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
  // The handshake's client metadata (appName) must be known before the fail point stage: a
  // failCommand with appName may target the handshake itself.
  if (HELLO_COMMANDS.has(commandName)) recordHandshake(connection, parsed.body);
  const ctx: CommandContext = {
    commandName,
    db: parsed.db,
    body: parsed.body,
    server,
    connection,
    signal: server.signalOf(connection),
    requestSize: parsed.requestSize,
    lsidKey: parsed.lsidKey,
  };
  connection.lastCommand = commandName;
  connection.inflight++;
  const startedAt = performance.now();
  try {
    return await pipeline(ctx, spec, registry);
  } catch (err) {
    if (err instanceof CloseConnection) throw err;
    if (!(err instanceof CommandError)) {
      server.log.add('command failed with an internal error', { command: commandName, error: String((err as Error)?.stack ?? err) });
    } else if (err.errorLabels === undefined) {
      // Labels chosen by a fail point replace the server's own (mongod's errorLabelsOverride).
      const override = errorLabelsOverride(ctx);
      if (override) err.errorLabels = [...override];
    }
    return errorReply(err);
  } finally {
    connection.inflight--;
    countLatency(server, latencyKind(commandName, spec), performance.now() - startedAt);
  }
}

/** mongod's read commands (Command::ReadWriteType::kRead): their time counts in opLatencies.reads. */
const READ_COMMANDS = new Set(['find', 'getMore', 'aggregate', 'count', 'distinct']);

/** A serverStatus.opLatencies section. */
type LatencyClass = keyof ServerCore['stats']['opLatencies'];

/** The serverStatus.opLatencies section a command's time counts in, as mongod classifies it. */
function latencyKind(commandName: string, spec: CommandSpec): LatencyClass {
  if (READ_COMMANDS.has(commandName)) return 'reads';
  return spec.write ? 'writes' : 'commands';
}

/**
 * Time from the command's arrival to its reply, queueing behind the load model's capacity
 * included (as mongod's include waiting for an execution ticket), in whole microseconds.
 */
function countLatency(server: ServerCore, kind: LatencyClass, ms: number): void {
  const section = server.stats.opLatencies[kind];
  section.ops++;
  section.latencyMicros += Math.round(ms * 1000);
}

function pipeline(ctx: CommandContext, spec: CommandSpec, registry: CommandRegistry): Promise<Document> {
  const { server } = ctx;
  const { auth, topology } = server.middleware;
  const afterTopology = () => failCommandStage(ctx, spec, registry);
  const afterAuth = () => {
    checkGenericArguments(ctx);
    return topology ? topology(ctx, spec, afterTopology) : afterTopology();
  };
  return auth ? auth(ctx, spec, afterAuth) : afterAuth();
}

/** INT32_MAX: mongod's upper bound of maxTimeMS. */
const MAX_TIME_MS_LIMIT = 2 ** 31 - 1;

/**
 * Arguments every command may carry, checked as mongod does before the command runs:
 * - maxTimeMS (src/mongo/db/query/max_time_ms_parser.cpp): a non-negative integral number up to
 *   INT32_MAX, else BadValue (2);
 * - txnNumber (src/mongo/db/initialize_operation_session_info.cpp): needs an lsid
 *   (InvalidOptions, 72), then a replica-set member (IllegalOperation, 20), then a value >= 0
 *   (InvalidOptions, 72).
 */
function checkGenericArguments(ctx: CommandContext): void {
  const { body, server } = ctx;
  if (body.maxTimeMS !== undefined) {
    const v: unknown = body.maxTimeMS;
    if (!isNumeric(v)) throw CommandError.of('BadValue', 'maxTimeMS must be a number');
    const ms = toNumber(v);
    if (!(ms >= 0 && ms <= MAX_TIME_MS_LIMIT)) throw CommandError.of('BadValue', 'maxTimeMS is out of range');
    if ((v instanceof Double || typeof v === 'number') && !Number.isInteger(ms)) throw CommandError.of('BadValue', 'maxTimeMS has non-integral value');
  }
  if (body.txnNumber !== undefined) {
    if (ctx.lsidKey === undefined) throw CommandError.of('InvalidOptions', 'Transaction number requires a session ID to also be specified');
    if (!server.acceptsTxnNumbers) throw CommandError.of('IllegalOperation', 'Transaction numbers are only allowed on a replica set member or mongos');
    if (!isNumeric(body.txnNumber)) throw CommandError.of('TypeMismatch', "BSON field 'txnNumber' is the wrong type, expected type 'long'");
    if (toNumber(body.txnNumber) < 0) throw CommandError.of('InvalidOptions', 'Transaction number cannot be negative');
  }
}

/**
 * The namespace mongod evaluates a fail point's `namespace` against (CommandInvocation::ns()):
 * `db.<first value>` when the command's first value is a string (find: 'users' → app.users),
 * the cursor's namespace for getMore (`collection`), `db.$cmd.aggregate` for a database-level
 * aggregate (aggregate: 1), and the database alone otherwise (ping: 1 → admin).
 */
export function commandNamespace(commandName: string, db: string, body: Document): string {
  if (commandName === 'getMore') return typeof body.collection === 'string' ? `${db}.${body.collection}` : db;
  const first: unknown = body[commandName];
  if (typeof first === 'string') return `${db}.${first}`;
  if (commandName === 'aggregate') return `${db}.$cmd.aggregate`;
  return db;
}

async function failCommandStage(ctx: CommandContext, spec: CommandSpec, registry: CommandRegistry): Promise<Document> {
  const { server, body, commandName } = ctx;
  if (!server.failPoints.active) return execute(ctx, spec);
  const target: FailCommandTarget = {
    commandName,
    isAlias: (name) => registry.get(name) === spec,
    ns: commandNamespace(commandName, ctx.db, body),
    appName: ctx.connection.appName,
    threadName: `conn${ctx.connection.id}`,
    supportsWriteConcern: supportsWriteConcern(spec, commandName, body),
  };
  const fail = server.failPoints.failCommandError(target);
  if (fail) await failCommandErrorPath(ctx, fail);
  const reply = await execute(ctx, spec);
  const wce = server.failPoints.failCommandWriteConcern(target);
  if (wce) {
    if (wce.errorLabels) setErrorLabelsOverride(ctx, wce.errorLabels);
    reply.writeConcernError = wce.writeConcernError;
    if (wce.errorLabels && wce.errorLabels.length > 0) reply.errorLabels = [...wce.errorLabels];
  }
  return reply;
}

/** mongod's order: errorLabels, sleep blockTimeMS, closeConnection, errorCode. Block alone: the command then runs. */
async function failCommandErrorPath(ctx: CommandContext, data: FailCommandData): Promise<void> {
  if (data.errorLabels) setErrorLabelsOverride(ctx, data.errorLabels);
  if (data.blockConnection && data.blockTimeMS) await sleep(data.blockTimeMS, ctx.signal);
  if (data.closeConnection) throw new CloseConnection();
  if (data.errorCode !== undefined) {
    // errorLabels given (even []) replace the server's own labels; undefined leaves them to the topology.
    throw new CommandError(data.errorCode, "Failing command via 'failCommand' failpoint", { labels: data.errorLabels ? [...data.errorLabels] : undefined });
  }
}

function execute(ctx: CommandContext, spec: CommandSpec): Promise<Document> {
  const loadModel = ctx.server.middleware.loadModel;
  if (loadModel && !spec.loadExempt) return loadModel(ctx, spec, () => runHandler(ctx, spec));
  return runHandler(ctx, spec);
}

/** An operation interrupted while it waited (stepdown, shutdown, disconnect, maxTimeMS) must not run at all. */
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

/** Sleeps `ms`; an aborted `signal` (disconnect, shutdown, stepdown) cuts it short with its reason. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
