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
 */

interface Entry {
  txnNumber: number;
  /** The stored reply (BSON bytes: replayed replies are fresh copies). */
  reply: Uint8Array | undefined;
  /** Settles when the running attempt finishes. */
  running: Promise<unknown> | undefined;
}

export class RetryableWrites {
  private readonly sessions = new Map<string, Entry>();

  /** Runs `execute` at most once per (session, txnNumber). */
  async run(lsidKey: string, txnNumber: number, execute: () => Promise<Document>): Promise<Document> {
    for (;;) {
      const entry = this.sessions.get(lsidKey);
      if (entry && txnNumber < entry.txnNumber) {
        throw CommandError.of(
          'TransactionTooOld',
          `Retryable write with txnNumber ${txnNumber} is prohibited on session ${lsidKey} because a newer retryable write with txnNumber ${entry.txnNumber} has already started on this session.`,
        );
      }
      if (entry && txnNumber === entry.txnNumber) {
        if (entry.reply) return BSON.deserialize(entry.reply, { promoteValues: false });
        if (entry.running) {
          await entry.running.catch(() => {});
          continue; // look again: stored reply, or the attempt failed and this one executes
        }
      }
      const current: Entry = { txnNumber, reply: undefined, running: undefined };
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
      }
    }
  }

  /** Forgets sessions (endSessions / killAllSessions). */
  forget(lsidKey?: string): void {
    if (lsidKey === undefined) this.sessions.clear();
    else this.sessions.delete(lsidKey);
  }

  get size(): number {
    return this.sessions.size;
  }
}
