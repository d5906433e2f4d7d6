import type { MongoClient } from 'mongodb';
import { noteCheckIn, noteCheckOut, type RetryCall, type RetryCallWatcher } from '../resilience/attempt-scope.js';
import { clientEvents } from './client-events.js';

/**
 * Counts a client's in-flight operations from its pool (CMAP) events, which the driver always
 * emits: an operation is in flight from `connectionCheckOutStarted` until its connection is
 * checked back in, or until the check-out fails. Readiness probes and graceful shutdown read it.
 * One tracker per client (WeakMap), shared by `createClient`, `trackInflight` and `PoolMonitor.attach`.
 *
 * The same listeners tell `withRetry` which connections each of its attempts used (see
 * src/resilience/attempt-scope.ts), and link a `withRetry` call to this client on its first
 * check-out: such a call counts as in flight (`retrying`) until it returns or throws, backoff
 * sleeps included.
 */
export class InflightTracker implements RetryCallWatcher {
  #started = 0;
  #finished = 0;
  #checkedOut = 0;
  #checkOutFailed = 0;
  readonly #retryCalls = new Set<RetryCall>();
  /** Callers of whenIdle(); undefined while none waits, so the hot path tests one field. */
  #idleWaiters: Array<() => void> | undefined = undefined;
  #shuttingDown = false;
  readonly #client: MongoClient;
  readonly #listeners: Array<[string, (...args: any[]) => void]>;
  /** Whoever calls the four event methods instead of the tracker's own listeners (see {@link driveFrom}). */
  #driver: object | undefined = undefined;
  #detached = false;

  constructor(client: MongoClient) {
    this.#client = client;
    this.#listeners = [
      ['connectionCheckOutStarted', () => this.checkOutStarted()],
      ['connectionCheckOutFailed', () => this.checkOutFailed()],
      ['connectionCheckedOut', () => this.checkedOut()],
      ['connectionCheckedIn', () => this.checkedIn()],
    ];
    this.#subscribe();
  }

  // The four per-operation pool events. Each is called synchronously from the driver's emit, in the
  // operation's own async context (withRetry's attempt scope depends on that).

  /** @internal `connectionCheckOutStarted`. */
  checkOutStarted(): void {
    this.#started++;
    noteCheckOut(this);
  }

  /** @internal `connectionCheckOutFailed`. */
  checkOutFailed(): void {
    this.#checkOutFailed++;
    this.#finished++;
    this.#wakeIfIdle();
  }

  /** @internal `connectionCheckedOut`. */
  checkedOut(): void {
    this.#checkedOut++;
  }

  /** @internal `connectionCheckedIn`. */
  checkedIn(): void {
    noteCheckIn();
    this.#finished++;
    this.#wakeIfIdle();
  }

  /**
   * @internal For PoolMonitor: `owner`'s own listeners of the four events will call the event
   * methods above, so the tracker's listeners step aside and each pool event runs one handler, not
   * two. Returns false (and changes nothing) if another owner already does. The owner must call
   * {@link stopDriving} before it stops listening.
   */
  driveFrom(owner: object): boolean {
    if (this.#driver !== undefined || this.#detached) return false;
    this.#driver = owner;
    this.#unsubscribe();
    return true;
  }

  /** @internal The owner of {@link driveFrom} stops calling the event methods: the tracker listens again. */
  stopDriving(owner: object): void {
    if (this.#driver !== owner) return;
    this.#driver = undefined;
    if (!this.#detached) this.#subscribe();
  }

  /** Operations waiting for a connection or holding one right now (pool check-outs in progress). */
  get inflight(): number {
    return this.#started - this.#finished;
  }

  /** Operations queued for a connection (check-out started, not yet served or failed). */
  get waiting(): number {
    return this.#started - this.#checkedOut - this.#checkOutFailed;
  }

  /** Check-outs that ended (connection checked back in, or check-out failed) since tracking began. */
  get finished(): number {
    return this.#finished;
  }

  /** Check-outs started (an operation asked the pool for a connection) since tracking began. */
  get started(): number {
    return this.#started;
  }

  /** withRetry calls in progress that have checked out a connection of this client. */
  get retrying(): number {
    return this.#retryCalls.size;
  }

  /** Of those, the calls waiting between two attempts (backoff): they hold no connection. */
  get retryingBetweenAttempts(): number {
    let count = 0;
    for (const call of this.#retryCalls) if (call.betweenAttempts) count++;
    return count;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  markShuttingDown(): void {
    this.#shuttingDown = true;
  }

  /** Resolves once no check-out is in progress and no linked withRetry call is running (immediately if so). */
  whenIdle(): Promise<void> {
    if (this.#idle()) return Promise.resolve();
    return new Promise((resolve) => (this.#idleWaiters ??= []).push(resolve));
  }

  /** @internal (RetryCallWatcher) */
  retryCallStarted(call: RetryCall): void {
    this.#retryCalls.add(call);
  }

  /** @internal (RetryCallWatcher) */
  retryCallEnded(call: RetryCall): void {
    if (this.#retryCalls.delete(call)) this.#wakeIfIdle();
  }

  detach(): void {
    this.#detached = true;
    if (this.#driver === undefined) this.#unsubscribe();
    this.#driver = undefined;
  }

  #subscribe(): void {
    const hub = clientEvents(this.#client);
    for (const [event, fn] of this.#listeners) hub.on(event, fn);
  }

  #unsubscribe(): void {
    const hub = clientEvents(this.#client);
    for (const [event, fn] of this.#listeners) hub.off(event, fn);
  }

  #idle(): boolean {
    return this.inflight <= 0 && this.#retryCalls.size === 0;
  }

  #wakeIfIdle(): void {
    const waiters = this.#idleWaiters;
    if (waiters === undefined || !this.#idle()) return;
    this.#idleWaiters = undefined;
    for (const resolve of waiters) resolve();
  }
}

interface Entry {
  tracker: InflightTracker;
  /** Kept for the client's life (createClient, trackInflight). */
  pinned: boolean;
  /** PoolMonitors currently holding it. */
  holds: number;
}

const trackers = new WeakMap<MongoClient, Entry>();

/** Starts tracking (idempotent); the tracker then stays for the client's life. Call before the client connects, or counts start late. */
export function trackInflight(client: MongoClient): InflightTracker {
  const entry = entryFor(client);
  entry.pinned = true;
  return entry.tracker;
}

/**
 * For PoolMonitor.attach: the client's tracker, created if needed, held until
 * `releaseInflightTracker`. A tracker nobody pinned is removed with its listeners when the last
 * holder releases it.
 */
export function holdInflightTracker(client: MongoClient): InflightTracker {
  const entry = entryFor(client);
  entry.holds++;
  return entry.tracker;
}

export function releaseInflightTracker(client: MongoClient): void {
  const entry = trackers.get(client);
  if (!entry || entry.holds === 0) return;
  entry.holds--;
  if (entry.holds === 0 && !entry.pinned) {
    entry.tracker.detach();
    trackers.delete(client);
  }
}

/** The tracker of a client made by `createClient`, monitored by a `PoolMonitor` or passed to `trackInflight`, if any. */
export function getInflightTracker(client: MongoClient): InflightTracker | undefined {
  return trackers.get(client)?.tracker;
}

function entryFor(client: MongoClient): Entry {
  let entry = trackers.get(client);
  if (!entry) {
    entry = { tracker: new InflightTracker(client), pinned: false, holds: 0 };
    trackers.set(client, entry);
  }
  return entry;
}
