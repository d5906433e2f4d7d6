import { BSON, type Document } from 'bson';
import { CommandError } from '../errors.js';

/**
 * Retryable writes, server side (retryable-writes spec): per logical session, the highest
 * txnNumber seen and its reply. One table serves the whole replica set, as mongod's replicated
 * transaction table does, so a write retried on a new primary is answered, not applied twice.
 *   equal txnNumber  → the stored reply is sent again, nothing re-applied;
 *   lower txnNumber  → TransactionTooOld (225);
 *   higher           → executed, and its reply stored if it took effect (ok: 1), without any
 *                      writeConcernError (a retry is acknowledged afresh).
 * A retry arriving while the first attempt is still running waits for it.
 *
 * The table is bounded: a session is forgotten when it ends (endSessions), after
 * `idleTimeoutMS` without a write (mongod reaps sessions after logicalSessionTimeoutMinutes, 30),
 * and the least recently used sessions go first once it holds `maxSessions`. A session whose
 * write is still running is never evicted.
 */

interface Entry {
  txnNumber: number;
  /** The stored reply (BSON bytes: replayed replies are fresh copies). */
  reply: Uint8Array | undefined;
  /** Settles when the running attempt finishes. */
  running: Promise<unknown> | undefined;
  lastUsed: number;
}

export interface RetryableWritesOptions {
  /** Sessions kept at most (default 100,000). */
  maxSessions?: number;
  /** A session without a write for this long is forgotten (default 30 minutes, mongod's logicalSessionTimeoutMinutes). */
  idleTimeoutMS?: number;
  /** Clock (tests). */
  now?: () => number;
}

export class RetryableWrites {
  /** In least-recently-used order: every write moves its session to the end. */
  private readonly sessions = new Map<string, Entry>();
  private readonly maxSessions: number;
  private readonly idleTimeoutMS: number;
  private readonly now: () => number;

  constructor(options: RetryableWritesOptions = {}) {
    this.maxSessions = options.maxSessions ?? 100_000;
    this.idleTimeoutMS = options.idleTimeoutMS ?? 30 * 60_000;
    this.now = options.now ?? Date.now;
  }

  /** Runs `execute` at most once per (session, txnNumber). */
  async run(lsidKey: string, txnNumber: number, execute: () => Promise<Document>): Promise<Document> {
    for (;;) {
      const entry = this.sessions.get(lsidKey);
      if (entry && this.now() - entry.lastUsed > this.idleTimeoutMS && !entry.running) this.sessions.delete(lsidKey);
      else if (entry) this.touch(lsidKey, entry);
      if (entry && this.sessions.has(lsidKey)) {
        if (txnNumber < entry.txnNumber) {
          throw CommandError.of(
            'TransactionTooOld',
            `Retryable write with txnNumber ${txnNumber} is prohibited on session ${lsidKey} because a newer retryable write with txnNumber ${entry.txnNumber} has already started on this session.`,
          );
        }
        if (txnNumber === entry.txnNumber) {
          if (entry.reply) return BSON.deserialize(entry.reply, { promoteValues: false });
          if (entry.running) {
            await entry.running.catch(() => {});
            continue; // look again: stored reply, or the attempt failed and this one executes
          }
        }
      }
      const current: Entry = { txnNumber, reply: undefined, running: undefined, lastUsed: this.now() };
      this.sessions.delete(lsidKey);
      this.sessions.set(lsidKey, current);
      const attempt = execute();
      current.running = attempt;
      try {
        const reply = await attempt;
        if (reply && reply.ok) {
          // The statement's result is kept; its write concern outcome is not (a retry waits afresh, as on mongod).
          const { writeConcernError: _wce, errorLabels: _labels, ...result } = reply;
          current.reply = BSON.serialize(result);
        }
        return reply;
      } finally {
        current.running = undefined;
        this.prune();
      }
    }
  }

  /** Forgets sessions (endSessions); without a key, all of them. */
  forget(lsidKey?: string): void {
    if (lsidKey === undefined) this.sessions.clear();
    else this.sessions.delete(lsidKey);
  }

  get size(): number {
    return this.sessions.size;
  }

  private touch(lsidKey: string, entry: Entry): void {
    entry.lastUsed = this.now();
    this.sessions.delete(lsidKey);
    this.sessions.set(lsidKey, entry);
  }

  /** Drops idle sessions and, beyond maxSessions, the least recently used ones (never one with a running write). */
  private prune(): void {
    const now = this.now();
    for (const [key, entry] of this.sessions) {
      const idle = now - entry.lastUsed > this.idleTimeoutMS;
      if (!idle && this.sessions.size <= this.maxSessions) break; // LRU order: the rest are newer
      if (!entry.running) this.sessions.delete(key);
    }
  }
}
