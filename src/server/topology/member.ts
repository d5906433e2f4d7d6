import type { Document } from 'bson';
import type { CommandContext, CommandSpec, Middleware } from '../commands/types.js';
import { toNumber, isNumeric } from '../commands/params.js';
import { CloseConnection, CommandError } from '../errors.js';
import { errorLabelsOverride } from '../faults/failpoint.js';
import { assignInsertIds, oplogEntry } from './replication.js';
import { lastWriteOf, type ReplicaMember, type ReplicaSetState } from './state.js';

/**
 * What a replica-set member adds around every command (the core's `topology` middleware slot):
 * writes only on the primary (10107 elsewhere), secondary reads only with a non-primary read
 * preference (13435), retryable-write dedupe, replication and write concern, RetryableWriteError
 * labels, and a clear refusal of multi-document transactions.
 */

/** Writes by name, for commands whose spec does not say `write` (and aggregate with $out/$merge, below). */
const WRITE_COMMANDS = new Set([
  'insert', 'update', 'delete', 'findAndModify', 'findandmodify', 'bulkWrite',
  'create', 'drop', 'dropDatabase', 'createIndexes', 'dropIndexes', 'renameCollection', 'collMod',
  'convertToCapped', 'cloneCollectionAsCapped', 'applyOps',
]);

/** Reads a secondary serves only with secondaryOk (a read preference other than primary). */
const SECONDARY_OPT_IN = new Set(['find', 'aggregate', 'count', 'distinct', 'listCollections', 'listIndexes', 'dbStats', 'collStats', 'explain', 'mapReduce']);

const TRANSACTION_COMMANDS = new Set(['commitTransaction', 'abortTransaction']);

/** Codes that make a write retryable (retryable-writes spec), hence labelled RetryableWriteError. */
export const RETRYABLE_WRITE_CODES = new Set([6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436]);

const NOT_IMPLEMENTED = 238;

export function memberMiddleware(set: ReplicaSetState, member: ReplicaMember): Middleware {
  return async (ctx, spec, next) => {
    const { body, commandName } = ctx;
    const txnNumber = body.txnNumber;
    try {
      if (body.autocommit !== undefined || body.startTransaction !== undefined || TRANSACTION_COMMANDS.has(commandName)) {
        throw new CommandError(
          NOT_IMPLEMENTED,
          'multi-document transactions are not supported by the mongo-poolkit embedded replica set; write without a transaction, or run this test against mongod',
          { codeName: 'NotImplemented' },
        );
      }
      if (isWrite(spec, commandName, body)) {
        if (!member.isPrimary) throw CommandError.of('NotWritablePrimary', 'not primary');
        const reply = await writeOnPrimary(set, member, ctx, next);
        labelWriteConcernError(ctx, reply, txnNumber);
        return reply;
      }
      if (!member.isPrimary && SECONDARY_OPT_IN.has(commandName) && !secondaryOk(body)) {
        throw CommandError.of('NotPrimaryNoSecondaryOk', 'not primary and secondaryOk=false');
      }
      return await next();
    } catch (err) {
      // As mongod: retryable-code errors of commands with a txnNumber get the label, unless a fail
      // point chose the labels (its errorLabels, even [], replace the server's own).
      if (
        txnNumber !== undefined &&
        err instanceof CommandError &&
        err.errorLabels === undefined &&
        errorLabelsOverride(ctx) === undefined &&
        RETRYABLE_WRITE_CODES.has(err.code)
      ) {
        err.errorLabels = ['RetryableWriteError'];
      }
      throw err;
    }
  };
}

async function writeOnPrimary(set: ReplicaSetState, member: ReplicaMember, ctx: CommandContext, next: () => Promise<Document>): Promise<Document> {
  const { body, commandName } = ctx;
  const concern = writeConcernOf(body, set.members.length);
  // Stepping down aborts this term's signal: a write still queued or being served fails with 11602
  // and is never applied (the load-model stage checks the signal before running the handler).
  const term = member.termSignal;
  ctx.signal = AbortSignal.any([ctx.signal, term]);
  assignInsertIds(commandName, body);
  const execute = async (): Promise<Document> => {
    term.throwIfAborted();
    const reply = await next();
    if (!reply || !reply.ok) return reply;
    const acks = set.replicate(member, oplogEntry(commandName, ctx.db, body, reply));
    const timedOut = await waitForAcks(acks, set.replicationLagMS === 0 ? acks.length : concern.others, concern.wtimeoutMS);
    if (timedOut) {
      reply.writeConcernError = {
        code: 64,
        codeName: 'WriteConcernFailed',
        errmsg: 'waiting for replication timed out',
        errInfo: { wtimeout: true, writeConcern: { w: concern.w, wtimeout: concern.wtimeoutMS } },
      };
    }
    return reply;
  };
  const txnNumber = body.txnNumber;
  if (txnNumber === undefined || ctx.lsidKey === undefined || !isNumeric(txnNumber)) return execute();
  // A retryable write: executed at most once per (lsid, txnNumber) across the set. mongod's
  // onPrimaryTransactionalWrite fail point fires when it really executes (not for a replayed reply).
  let dropReply = false;
  const executeOnce = async (): Promise<Document> => {
    const fp = ctx.server.failPoints.primaryTransactionalWrite();
    if (fp) {
      const code = fp.failBeforeCommitExceptionCode;
      if (fp.closeConnection !== false && code !== undefined) throw new CloseConnection('connection closed by the onPrimaryTransactionalWrite fail point');
      if (code !== undefined) throw new CommandError(code, 'Failing write for test before commit');
      dropReply = fp.closeConnection !== false;
    }
    return execute();
  };
  const reply = await set.retryableWrites.run(ctx.lsidKey, toNumber(txnNumber), executeOnce);
  // The write is applied, replicated and recorded: only its reply is lost.
  if (dropReply && reply.ok) throw new CloseConnection('connection closed by the onPrimaryTransactionalWrite fail point');
  return reply;
}

/** Resolves true when `wtimeoutMS` passed before `needed` members applied the write. */
async function waitForAcks(acks: Array<Promise<void>>, needed: number, wtimeoutMS: number): Promise<boolean> {
  if (needed <= 0) return false;
  let applied = 0;
  const enough = new Promise<void>((resolve) => {
    for (const ack of acks) void ack.then(() => ++applied >= needed && resolve());
  });
  if (wtimeoutMS <= 0) {
    await enough;
    return false;
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), wtimeoutMS)));
  try {
    return await Promise.race([enough.then(() => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The members besides the primary that must apply a write before it is acknowledged. No `w`
 * means majority (mongod's implicit default since 5.0); tags are treated as majority.
 */
function writeConcernOf(body: Document, members: number): { w: number | string; others: number; wtimeoutMS: number } {
  const wc = (body.writeConcern ?? {}) as Document;
  const w: unknown = wc.w ?? 'majority';
  const wtimeoutMS = isNumeric(wc.wtimeout) ? toNumber(wc.wtimeout) : 0;
  const majority = Math.floor(members / 2) + 1;
  if (isNumeric(w)) {
    const n = toNumber(w);
    if (n > members) {
      throw new CommandError(100, `Not enough data-bearing nodes: w ${n} exceeds the ${members} members`, { codeName: 'UnsatisfiableWriteConcern' });
    }
    return { w: n, others: Math.max(0, n - 1), wtimeoutMS };
  }
  return { w: typeof w === 'string' ? w : 'majority', others: majority - 1, wtimeoutMS };
}

/** Commands that take a write concern (mongod's supportsWriteConcern): writes and transaction commits/aborts. */
export function supportsWriteConcern(spec: CommandSpec, commandName: string, body: Document): boolean {
  return isWrite(spec, commandName, body) || TRANSACTION_COMMANDS.has(commandName);
}

function isWrite(spec: CommandSpec, commandName: string, body: Document): boolean {
  if (spec.write || WRITE_COMMANDS.has(commandName)) return true;
  if (commandName === 'aggregate' && Array.isArray(body.pipeline) && body.pipeline.length > 0) {
    const last = body.pipeline[body.pipeline.length - 1] as Document;
    return last !== null && typeof last === 'object' && ('$out' in last || '$merge' in last);
  }
  return false;
}

/** OP_MSG carries secondaryOk as `$readPreference` with a mode other than primary. */
function secondaryOk(body: Document): boolean {
  const mode = (body.$readPreference as Document | undefined)?.mode;
  return typeof mode === 'string' && mode !== 'primary';
}

function labelWriteConcernError(ctx: CommandContext, reply: Document, txnNumber: unknown): void {
  const code = reply.writeConcernError?.code;
  if (txnNumber === undefined || reply.errorLabels !== undefined || code === undefined) return;
  if (errorLabelsOverride(ctx) !== undefined) return; // a fail point chose the labels ([] = none)
  if (RETRYABLE_WRITE_CODES.has(toNumber(code))) reply.errorLabels = ['RetryableWriteError'];
}

/** Replica-set fields of hello/isMaster for this member. */
export function memberHelloHook(set: ReplicaSetState, member: ReplicaMember) {
  return (_ctx: CommandContext, reply: Document): void => {
    const primary = set.primary;
    const isPrimary = primary === member;
    reply['ismaster' in reply ? 'ismaster' : 'isWritablePrimary'] = isPrimary;
    reply.secondary = !isPrimary;
    reply.setName = set.setName;
    reply.setVersion = set.setVersion;
    reply.hosts = set.hosts();
    if (primary) reply.primary = primary.address;
    reply.me = member.address;
    if (isPrimary) reply.electionId = set.electionId;
    reply.lastWrite = lastWriteOf(member);
  };
}

