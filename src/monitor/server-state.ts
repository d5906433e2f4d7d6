import { LatencyRecorder, type HistogramSettings } from './latency.js';
import type { CapturedStack } from './stacks.js';
import { PendingStacks } from './stacks.js';
import type { CheckoutFailedCounts, ClosedCounts, LeakCommand, ServerPoolSnapshot } from './types.js';

/** Most commands kept per check-out for a leak report (a long cursor would otherwise grow it). */
const MAX_COMMANDS_PER_CHECKOUT = 8;

/**
 * One ready connection (idle or in use). Created once per connection and mutated on every
 * check-out, so the hot path allocates nothing.
 */
export class ConnectionRecord {
  readonly id: number;
  held = false;
  /** performance.now() at the current check-out. */
  outAt = 0;
  leaked = false;
  stack: CapturedStack | undefined = undefined;
  /** Commands of the current check-out (commands mode), in reused parallel arrays: no allocation per command. */
  commandCount = 0;
  readonly #names: string[] = [];
  readonly #databases: string[] = [];
  readonly #collections: Array<string | undefined> = [];

  constructor(id: number) {
    this.id = id;
  }

  noteCommand(name: string, database: string, collection: string | undefined): void {
    const i = this.commandCount;
    if (i >= MAX_COMMANDS_PER_CHECKOUT) return;
    this.#names[i] = name;
    this.#databases[i] = database;
    this.#collections[i] = collection;
    this.commandCount = i + 1;
  }

  commands(): LeakCommand[] {
    const out: LeakCommand[] = [];
    for (let i = 0; i < this.commandCount; i++) {
      const collection = this.#collections[i];
      out.push({ name: this.#names[i], database: this.#databases[i], ...(collection !== undefined ? { collection } : {}) });
    }
    return out;
  }
}

/**
 * Exact state of one server's pool, driven by its CMAP events (one method per event). Gauges
 * move with the events; cumulative counters count them. Invariant: created − closed = total.
 */
export class ServerPoolState {
  readonly address: string;
  /** Connections created and still in handshake: id → performance.now() at creation. */
  readonly opening = new Map<number, number>();
  /** Ready connections (idle or checked out). */
  readonly connections = new Map<number, ConnectionRecord>();
  idle = 0;
  inUse = 0;
  pending = 0;
  maxPoolSize = 0;
  minPoolSize = 0;
  created = 0;
  readonly closed: ClosedCounts = { stale: 0, idle: 0, error: 0, poolClosed: 0 };
  checkedOutCount = 0;
  readonly checkoutFailed: CheckoutFailedCounts = { timeout: 0, connectionError: 0, poolClosed: 0 };
  clearedCount = 0;
  lastCause: string | null = null;
  /** The last SDAM error for this server: the cause of the clear that follows it. */
  lastServerError: string | null = null;
  readonly waitTime: LatencyRecorder;
  readonly useTime: LatencyRecorder;
  readonly createTime: LatencyRecorder;
  /** Stacks of waiting operations (only with captureStacks in the default mode). */
  readonly pendingStacks: PendingStacks | undefined;
  /** Start times of waiting check-outs (only with saturationThresholdMS). */
  readonly pendingStarts: PendingStarts | undefined;
  saturated = false;
  lastSaturatedAt = Number.NEGATIVE_INFINITY;
  /**
   * Handshakes in progress when the pool was cleared. If one finishes while the pool is
   * paused the driver destroys it without a `connectionClosed` event; `reconcile` finds those.
   */
  staleOpening: Set<number> | undefined = undefined;
  /** Ids `reconcile` counted as silently destroyed (kept in case one shows up after all). */
  presumedVanished: Set<number> | undefined = undefined;

  constructor(address: string, histogram: HistogramSettings, trackStacks: boolean, trackWaits = false) {
    this.address = address;
    this.waitTime = new LatencyRecorder(histogram);
    this.useTime = new LatencyRecorder(histogram);
    this.createTime = new LatencyRecorder(histogram);
    this.pendingStacks = trackStacks ? new PendingStacks() : undefined;
    this.pendingStarts = trackWaits ? new PendingStarts() : undefined;
  }

  get total(): number {
    return this.opening.size + this.idle + this.inUse;
  }

  poolCreated(options: { maxPoolSize?: number; minPoolSize?: number } | undefined): void {
    if (typeof options?.maxPoolSize === 'number') this.maxPoolSize = options.maxPoolSize;
    if (typeof options?.minPoolSize === 'number') this.minPoolSize = options.minPoolSize;
  }

  connectionCreated(id: number, now: number): void {
    this.created++;
    this.opening.set(id, now);
  }

  /** Returns how long the connection took to establish (ms), or undefined if it is not ours. */
  connectionReady(id: number, now: number): number | undefined {
    const createdAt = this.opening.get(id);
    let createMS = 0;
    if (createdAt !== undefined) {
      this.opening.delete(id);
      this.staleOpening?.delete(id);
      createMS = now - createdAt;
      this.createTime.recordMS(createMS);
    } else if (!this.#foundAfterAll(id)) {
      return undefined; // not ours (its pool was closed and reset)
    }
    this.idle++;
    this.connections.set(id, new ConnectionRecord(id));
    return createMS;
  }

  connectionClosed(id: number, reason: string): void {
    if (this.opening.delete(id)) {
      this.staleOpening?.delete(id);
    } else {
      const record = this.connections.get(id);
      if (record !== undefined) {
        this.connections.delete(id);
        if (record.held) this.inUse--;
        else this.idle--;
      } else if (!this.#foundAfterAll(id)) {
        return; // already counted when its pool closed
      }
    }
    this.countClosed(reason);
  }

  countClosed(reason: string, n = 1): void {
    switch (reason) {
      case 'stale':
        this.closed.stale += n;
        break;
      case 'idle':
        this.closed.idle += n;
        break;
      case 'poolClosed':
        this.closed.poolClosed += n;
        break;
      default:
        this.closed.error += n;
    }
  }

  checkOutStarted(): void {
    this.pending++;
  }

  /** Returns the connection's record, or undefined for a connection this state does not know. */
  checkedOut(id: number, waitedMS: number, now: number): ConnectionRecord | undefined {
    this.pending--;
    this.checkedOutCount++;
    this.waitTime.recordMS(waitedMS);
    const record = this.connections.get(id);
    if (record === undefined) return undefined;
    this.idle--;
    this.inUse++;
    record.held = true;
    record.outAt = now;
    record.leaked = false;
    record.stack = undefined;
    record.commandCount = 0;
    return record;
  }

  checkOutFailed(reason: string): void {
    this.pending--;
    if (reason === 'timeout') this.checkoutFailed.timeout++;
    else if (reason === 'poolClosed') this.checkoutFailed.poolClosed++;
    else this.checkoutFailed.connectionError++;
  }

  /** Returns the record of the connection checked in (still flagged `leaked` if it was). */
  checkedIn(id: number, now: number): ConnectionRecord | undefined {
    const record = this.connections.get(id);
    if (record === undefined || !record.held) return undefined;
    record.held = false;
    this.inUse--;
    this.idle++;
    this.useTime.recordMS(now - record.outAt);
    return record;
  }

  poolCleared(): void {
    this.clearedCount++;
    this.lastCause = this.lastServerError;
    if (this.opening.size > 0) {
      this.staleOpening ??= new Set();
      for (const id of this.opening.keys()) this.staleOpening.add(id);
    }
  }

  /**
   * The pool is gone: everything it still had counts as closed (`poolClosed`) now, and late
   * events for its connections (check-ins after close, cancelled handshakes) are ignored.
   * Operations still waiting keep counting: their failures arrive as events.
   * Returns the records that were checked out, so leak reports can be resolved.
   */
  poolClosed(): ConnectionRecord[] {
    const held = [...this.connections.values()].filter((record) => record.held);
    this.countClosed('poolClosed', this.total);
    this.opening.clear();
    this.connections.clear();
    this.idle = 0;
    this.inUse = 0;
    this.staleOpening = undefined;
    this.presumedVanished = undefined;
    this.pendingStacks?.clear();
    this.saturated = false;
    return held;
  }

  /** True while a silently destroyed handshake may be unaccounted for. */
  get needsReconcile(): boolean {
    return this.staleOpening !== undefined;
  }

  /**
   * Compares our count of handshakes in progress with the driver's own. Any excess among the
   * handshakes that were running when the pool was cleared was destroyed without an event:
   * count it as closed (`stale`, it belonged to a cleared generation). Must not run in the
   * middle of a driver event sequence (the driver decrements its count before it emits).
   */
  reconcile(driverPending: number | undefined): void {
    const stale = this.staleOpening;
    if (stale === undefined) return;
    for (const id of stale) if (!this.opening.has(id)) stale.delete(id);
    if (driverPending !== undefined) {
      let vanished = Math.min(this.opening.size - driverPending, stale.size);
      for (const id of stale) {
        if (vanished <= 0) break;
        stale.delete(id);
        this.opening.delete(id);
        (this.presumedVanished ??= new Set()).add(id);
        this.countClosed('stale');
        vanished--;
      }
    }
    if (stale.size === 0) this.staleOpening = undefined;
  }

  /**
   * An event for a connection `reconcile` had counted as destroyed: the guess picked the wrong
   * one of several equivalent handshakes. Another stale handshake is the one that vanished.
   */
  #foundAfterAll(id: number): boolean {
    if (this.presumedVanished?.delete(id) !== true) return false;
    const other = this.staleOpening?.values().next();
    if (other !== undefined && other.done !== true) {
      this.staleOpening!.delete(other.value);
      this.opening.delete(other.value);
      this.presumedVanished.add(other.value);
    } else {
      this.closed.stale--; // nothing vanished after all
    }
    return true;
  }

  snapshot(): ServerPoolSnapshot {
    return {
      total: this.total,
      idle: this.idle,
      inUse: this.inUse,
      pending: this.pending,
      opening: this.opening.size,
      maxPoolSize: this.maxPoolSize,
      minPoolSize: this.minPoolSize,
      created: this.created,
      closed: { ...this.closed },
      checkedOut: this.checkedOutCount,
      checkoutFailed: { ...this.checkoutFailed },
      cleared: { count: this.clearedCount, lastCause: this.lastCause },
      waitTime: this.waitTime.summary(),
      useTime: this.useTime.summary(),
      createTime: this.createTime.summary(),
    };
  }
}

/**
 * When each waiting check-out started (performance.now()), oldest first, so a long wait is seen
 * while it lasts. Pool events carry no request id: a finished check-out is matched by the
 * driver's wait time (`durationMS`, whole milliseconds on a floored clock), which places its
 * start within about 1 ms; the driver's wait queue is first-in, first-out, so the match is
 * almost always the oldest entry (O(1): a head index, no shifting).
 */
export class PendingStarts {
  #starts: number[] = [];
  #head = 0;

  push(startedAt: number): void {
    this.#starts.push(startedAt);
  }

  get size(): number {
    return this.#starts.length - this.#head;
  }

  /** Start of the longest-waiting check-out, or undefined when none waits. */
  oldest(): number | undefined {
    return this.#head < this.#starts.length ? this.#starts[this.#head] : undefined;
  }

  /**
   * Removes the check-out that started about `now - waitedMS` (the oldest if none is that close,
   * or if the wait time is unknown), then keeps at most `waiting` entries (the newest).
   */
  finish(now: number, waitedMS: number | undefined, waiting: number): void {
    const starts = this.#starts;
    let index = this.#head;
    if (waitedMS !== undefined) {
      const estimate = now - waitedMS;
      for (let i = this.#head; i < starts.length; i++) {
        if (Math.abs(starts[i] - estimate) <= 1.5) {
          index = i;
          break;
        }
      }
    }
    if (index === this.#head) this.#head++;
    else if (index < starts.length) starts.splice(index, 1);
    const excess = this.size - Math.max(0, waiting);
    if (excess > 0) this.#head += excess;
    this.#compact();
  }

  clear(): void {
    this.#starts = [];
    this.#head = 0;
  }

  #compact(): void {
    const starts = this.#starts;
    if (this.#head >= starts.length) {
      starts.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > starts.length) {
      starts.splice(0, this.#head);
      this.#head = 0;
    }
  }
}
