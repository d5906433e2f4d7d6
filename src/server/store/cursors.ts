import { calculateObjectSize, Long, type Document } from 'bson';
import { randomBytes } from 'node:crypto';
import { CommandError } from '../errors.js';

/**
 * Open cursors: results not yet sent, by cursor id. A cursor holds its remaining documents (a
 * snapshot taken when it was opened), dies when exhausted, killed, idle for `idleTimeoutMS`
 * (unless opened with noCursorTimeout) or when its session ends. Replies carry ids as Int64,
 * which is what drivers require.
 */

/** Replies stay under mongod's 16 MiB document limit (plus room for the envelope). */
export const MAX_BATCH_BYTES = 16 * 1024 * 1024 - 16 * 1024;
/** First batch size when the client does not set one (mongod: 101). */
export const DEFAULT_FIRST_BATCH = 101;

const ZERO = Long.fromInt(0);
const sizes = new WeakMap<Document, number>();

/** BSON size of a returned document, cached per document object (stored documents are immutable). */
function sizeOf(doc: Document): number {
  let size = sizes.get(doc);
  if (size === undefined) {
    size = calculateObjectSize(doc);
    sizes.set(doc, size);
  }
  return size;
}

interface OpenCursor {
  readonly id: Long;
  readonly key: bigint;
  readonly ns: string;
  readonly docs: Document[];
  position: number;
  readonly lsidKey: string | undefined;
  readonly noTimeout: boolean;
  lastUsed: number;
}

export interface CursorSource {
  /** `db.coll`, or `db.$cmd.listCollections`-style for command cursors. */
  readonly ns: string;
  readonly docs: Document[];
  readonly lsidKey?: string;
  /** First batch size (default 101); 0 opens a cursor with an empty first batch. */
  readonly batchSize?: number;
  /** Close the cursor after the first batch. */
  readonly singleBatch?: boolean;
  readonly noCursorTimeout?: boolean;
}

export interface CursorManagerOptions {
  maxCursors: number;
  idleTimeoutMS: number;
  /** Clock for idle times (tests inject one; default Date.now). */
  now?: () => number;
}

function takeBatch(docs: Document[], start: number, count: number): Document[] {
  const end = Math.min(docs.length, start + count);
  if (end - start <= 1) return end > start ? [docs[start]] : [];
  const batch: Document[] = [];
  let bytes = 0;
  for (let i = start; i < end; i++) {
    const size = sizeOf(docs[i]);
    if (batch.length > 0 && bytes + size > MAX_BATCH_BYTES) break;
    bytes += size;
    batch.push(docs[i]);
  }
  return batch;
}

export class CursorManager {
  readonly maxCursors: number;
  readonly idleTimeoutMS: number;
  readonly #cursors = new Map<bigint, OpenCursor>();
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  /** Total opened since start (serverStatus.metrics.cursor-like). */
  totalOpened = 0;
  totalTimedOut = 0;

  constructor(options: CursorManagerOptions) {
    if (!Number.isInteger(options.maxCursors) || options.maxCursors < 0) {
      throw new RangeError(`maxCursors must be a non-negative integer, got ${String(options.maxCursors)}`);
    }
    if (!(options.idleTimeoutMS > 0)) throw new RangeError(`idleTimeoutMS must be a positive number, got ${String(options.idleTimeoutMS)}`);
    this.maxCursors = options.maxCursors;
    this.idleTimeoutMS = options.idleTimeoutMS;
    this.#now = options.now ?? Date.now;
  }

  /** Number of open cursors. */
  get size(): number {
    return this.#cursors.size;
  }

  #newId(): { id: Long; key: bigint } {
    for (;;) {
      // Positive 63-bit ids, like mongod's.
      const key = randomBytes(8).readBigUInt64LE() & 0x7fffffffffffffffn;
      if (key !== 0n && !this.#cursors.has(key)) return { id: Long.fromBigInt(key), key };
    }
  }

  /** The `{ cursor: { firstBatch, id, ns }, ok: 1 }` reply, registering a cursor when documents remain. */
  firstBatch(source: CursorSource): Document {
    const count = source.batchSize === undefined ? DEFAULT_FIRST_BATCH : source.batchSize;
    const batch = takeBatch(source.docs, 0, count);
    let id = ZERO;
    if (batch.length < source.docs.length && !source.singleBatch) {
      if (this.#cursors.size >= this.maxCursors) {
        throw CommandError.of(
          'OperationFailed',
          `Too many open cursors: this server allows ${this.maxCursors} (maxCursors). Close cursors you no longer need (cursor.close()), or raise maxCursors.`,
        );
      }
      const { id: newId, key } = this.#newId();
      id = newId;
      this.#cursors.set(key, {
        id,
        key,
        ns: source.ns,
        docs: source.docs,
        position: batch.length,
        lsidKey: source.lsidKey,
        noTimeout: source.noCursorTimeout === true,
        lastUsed: this.#now(),
      });
      this.totalOpened++;
      this.#startTimer();
    }
    return { cursor: { firstBatch: batch, id, ns: source.ns }, ok: 1 };
  }

  /** The `{ cursor: { nextBatch, id, ns }, ok: 1 }` reply of getMore. */
  getMore(key: bigint, ns: string, batchSize: number | undefined): Document {
    const cursor = this.#cursors.get(key);
    if (!cursor) throw CommandError.of('CursorNotFound', `cursor id ${key} not found`);
    if (cursor.ns !== ns) {
      throw CommandError.of('Unauthorized', `Requested getMore on namespace '${ns}', but cursor belongs to a different namespace ${cursor.ns}`);
    }
    const batch = takeBatch(cursor.docs, cursor.position, batchSize === undefined || batchSize <= 0 ? Infinity : batchSize);
    cursor.position += batch.length;
    cursor.lastUsed = this.#now();
    let id = cursor.id;
    if (cursor.position >= cursor.docs.length) {
      this.#cursors.delete(key);
      id = ZERO;
      this.#stopTimerIfIdle();
    }
    return { cursor: { nextBatch: batch, id, ns }, ok: 1 };
  }

  /** Kills cursors by id; returns which existed. */
  kill(keys: bigint[]): { killed: Long[]; notFound: Long[] } {
    const killed: Long[] = [];
    const notFound: Long[] = [];
    for (const key of keys) {
      const cursor = this.#cursors.get(key);
      if (cursor) {
        this.#cursors.delete(key);
        killed.push(cursor.id);
      } else {
        notFound.push(Long.fromBigInt(key));
      }
    }
    this.#stopTimerIfIdle();
    return { killed, notFound };
  }

  #killWhere(predicate: (cursor: OpenCursor) => boolean): number {
    let n = 0;
    for (const [key, cursor] of this.#cursors) {
      if (predicate(cursor)) {
        this.#cursors.delete(key);
        n++;
      }
    }
    this.#stopTimerIfIdle();
    return n;
  }

  /** Cursors die with their session (endSessions, killSessions). */
  killSessionCursors(lsidKey: string): number {
    return this.#killWhere((c) => c.lsidKey === lsidKey);
  }

  /** killAllSessions: every cursor opened inside a session dies. */
  killAllSessionCursors(): number {
    return this.#killWhere((c) => c.lsidKey !== undefined);
  }

  /** Cursors over a dropped collection (`db.coll`) or database (`db.`) die with it. */
  killNamespace(ns: string): number {
    return ns.endsWith('.') ? this.#killWhere((c) => c.ns.startsWith(ns)) : this.#killWhere((c) => c.ns === ns);
  }

  killAll(): number {
    return this.#killWhere(() => true);
  }

  /** Reaps cursors idle for idleTimeoutMS at `now` (the timer calls this with the clock's time). */
  reap(now = this.#now()): number {
    const n = this.#killWhere((c) => !c.noTimeout && now - c.lastUsed >= this.idleTimeoutMS);
    this.totalTimedOut += n;
    return n;
  }

  #startTimer(): void {
    if (this.#timer) return;
    const every = Math.max(10, Math.min(this.idleTimeoutMS / 4, 60_000));
    this.#timer = setInterval(() => this.reap(), every);
    this.#timer.unref();
  }

  #stopTimerIfIdle(): void {
    if (this.#cursors.size === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Kills every cursor and clears the reaper timer (server stop). */
  close(): void {
    this.#cursors.clear();
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
