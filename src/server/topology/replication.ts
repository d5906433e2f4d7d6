import { BSON, ObjectId, type Document, type Timestamp } from 'bson';
import type { ServerCore } from '../core.js';
import type { CommandRegistry } from '../commands/registry.js';
import type { CommandContext } from '../commands/types.js';
import { ConnectionState } from '../connection/state.js';

/**
 * Statement-based replication between the members of an embedded replica set. Every member has
 * its own store; a write that succeeded on the primary is re-run, through the same command
 * handler, on each other member: at once (before the primary replies) without lag, or
 * `replicationLagMS` later, in the primary's order. The command is made deterministic first:
 * inserted documents get their `_id` on the primary before it runs, and an upsert is replayed with
 * the `_id` the primary generated. (Server-side clocks such as $currentDate may differ by a few ms.)
 */

export interface OplogEntry {
  commandName: string;
  db: string;
  /** The command as the primary ran it (BSON), decoded afresh for each member. */
  bytes: Uint8Array;
  /** Position in the primary's history (hello's lastWrite); set by the replica set. */
  opTime?: { ts: Timestamp; t: number; wall: Date };
}

/** Fields of a client request that mean nothing when a member applies the write. */
const SESSION_FIELDS = ['lsid', 'txnNumber', '$clusterTime', '$readPreference', 'writeConcern', 'autocommit', 'startTransaction'];

const NEVER_ABORTED = new AbortController().signal;

/** Gives every inserted document an `_id` (first field, as mongod stores it) so all members store the same one. */
export function assignInsertIds(commandName: string, body: Document): void {
  if (commandName !== 'insert' || !Array.isArray(body.documents)) return;
  body.documents = body.documents.map((doc: unknown) => {
    if (!doc || typeof doc !== 'object' || Array.isArray(doc) || '_id' in (doc as Document)) return doc;
    return { _id: new ObjectId(), ...(doc as Document) };
  });
}

/** The entry to replicate for a write the primary ran: its command, with upserts pinned to the `_id` the primary chose. */
export function oplogEntry(commandName: string, db: string, body: Document, reply: Document): OplogEntry {
  const copy: Document = {};
  for (const [key, value] of Object.entries(body)) if (!SESSION_FIELDS.includes(key)) copy[key] = value;
  if (commandName === 'update' && Array.isArray(reply.upserted) && Array.isArray(copy.updates)) {
    copy.updates = [...copy.updates];
    for (const { index, _id } of reply.upserted as Array<{ index: unknown; _id: unknown }>) {
      const at = Number(index?.valueOf?.() ?? index);
      const op = copy.updates[at] as Document | undefined;
      if (op) copy.updates[at] = { ...op, u: pinUpsertId(op.u, _id) };
    }
  }
  if ((commandName === 'findAndModify' || commandName === 'findandmodify') && reply.lastErrorObject?.upserted !== undefined && copy.update) {
    copy.update = pinUpsertId(copy.update, reply.lastErrorObject.upserted);
  }
  return { commandName, db, bytes: BSON.serialize(copy) };
}

/** Rewrites an update so that, applied as an insert, it produces the document with `_id` = id. */
function pinUpsertId(update: unknown, id: unknown): unknown {
  if (Array.isArray(update)) return [...update, { $set: { _id: id } }];
  if (!update || typeof update !== 'object') return update;
  const u = update as Document;
  const keys = Object.keys(u);
  if (keys.length > 0 && keys.every((k) => k.startsWith('$'))) {
    return { ...u, $setOnInsert: { ...(u.$setOnInsert as Document | undefined), _id: id } };
  }
  const { _id: _ignored, ...rest } = u;
  return { _id: id, ...rest };
}

interface Pending {
  entry: OplogEntry;
  dueAt: number;
  done: () => void;
}

/** The stream of writes from the primary to one member, applied in order. */
export class ReplicationChannel {
  private readonly pending: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private applying: Promise<void> = Promise.resolve();
  private readonly connection = new ConnectionState(0, 'replication', 'replication');
  private closed = false;

  constructor(
    private readonly target: ServerCore,
    private readonly registry: CommandRegistry,
    /** Called after each applied write (lastWrite bookkeeping). */
    private readonly onApplied: (entry: OplogEntry) => void,
  ) {}

  /** Queues `entry`; resolves once applied on the target. */
  send(entry: OplogEntry, lagMS: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.pending.push({ entry, dueAt: Date.now() + lagMS, done: resolve });
      this.schedule();
    });
  }

  /** Applies everything queued now (catch-up before an election). */
  async flush(): Promise<void> {
    this.drain(Infinity);
    await this.applying;
  }

  get backlog(): number {
    return this.pending.length;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const p of this.pending.splice(0)) p.done();
  }

  private schedule(): void {
    if (this.timer) return;
    this.drain(Date.now());
    if (this.pending.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.schedule();
    }, Math.max(1, this.pending[0].dueAt - Date.now()));
  }

  /** Applies, in order, every entry due by `now`. */
  private drain(now: number): void {
    while (this.pending.length > 0 && this.pending[0].dueAt <= now) {
      const item = this.pending.shift()!;
      this.applying = this.applying.then(() => this.apply(item.entry)).then(item.done);
    }
  }

  private async apply(entry: OplogEntry): Promise<void> {
    const spec = this.registry.get(entry.commandName);
    if (!spec || this.closed) return;
    const ctx: CommandContext = {
      commandName: entry.commandName,
      db: entry.db,
      body: BSON.deserialize(entry.bytes, { promoteValues: false }),
      server: this.target,
      connection: this.connection,
      signal: NEVER_ABORTED,
      requestSize: entry.bytes.length,
      lsidKey: undefined,
    };
    try {
      await spec.handler(ctx);
    } catch (err) {
      // The primary succeeded, so this means the members diverged: say so in the member's log.
      this.target.log.add('replication: applying a write failed', { command: entry.commandName, error: String((err as Error)?.message ?? err) });
    }
    this.onApplied(entry);
  }
}
