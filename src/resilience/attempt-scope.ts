import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What `withRetry` learns about its own attempts from the pool events of tracked clients (those
 * from `createClient`, with a `PoolMonitor`, or passed to `trackInflight`).
 *
 * `withRetry` runs each attempt inside an AsyncLocalStorage scope. The driver emits
 * `connectionCheckOutStarted` synchronously from `pool.checkOut()` and `connectionCheckedIn`
 * synchronously from `pool.checkIn()`, both called by the operation itself (`Server.command`), so
 * the tracker's listeners run in the attempt's async context and can count, per attempt,
 * `checkIns`: connections it got and gave back, i.e. commands it may have sent. A check-out that
 * fails (pool cleared, connection refused) never checks a connection in. A check-in also counts in
 * the enclosing attempt of a nested `withRetry`.
 *
 * The first check-out of a call also links the whole `withRetry` call to that client's tracker, so
 * a graceful shutdown waits for calls sleeping between attempts, which hold no connection.
 */

/** Implemented by InflightTracker: hears about the withRetry calls that used its client. */
export interface RetryCallWatcher {
  retryCallStarted(call: RetryCall): void;
  retryCallEnded(call: RetryCall): void;
}

/**
 * `withRetry` calls that have not ended, in the whole process. While there are none, no attempt
 * scope can matter, and the pool listeners skip the AsyncLocalStorage lookup on every event.
 */
let callsInProgress = 0;

/** @internal withRetry calls in progress in this process (tests). */
export function retryCallsInProgress(): number {
  return callsInProgress;
}

/** One `withRetry(...)` call, from its first attempt until it returns or throws. */
export class RetryCall {
  /** True while the call waits in backoff: no attempt is running. */
  betweenAttempts = false;
  #ended = false;
  readonly #watchers = new Set<RetryCallWatcher>();

  constructor() {
    callsInProgress++;
  }

  /** Links the call to a tracker (once). Ignored after the call ended (work it left running). */
  watchedBy(watcher: RetryCallWatcher): void {
    if (this.#ended || this.#watchers.has(watcher)) return;
    this.#watchers.add(watcher);
    watcher.retryCallStarted(this);
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    callsInProgress--;
    const watchers = [...this.#watchers];
    this.#watchers.clear();
    for (const watcher of watchers) watcher.retryCallEnded(this);
  }
}

/** The connections one attempt used, as seen by the pool listeners of tracked clients. */
export class AttemptUsage {
  checkIns = 0;
  constructor(
    readonly call: RetryCall,
    /** The attempt of an enclosing withRetry call, if this one is nested in it. */
    readonly parent: AttemptUsage | undefined,
  ) {}
}

const storage = new AsyncLocalStorage<AttemptUsage>();

/** Runs `fn` as the attempt `usage`: pool events it causes are counted there. */
export function runAttempt<T>(usage: AttemptUsage, fn: () => T): T {
  return storage.run(usage, fn);
}

/** The attempt running in the current async context, if any. */
export function currentAttempt(): AttemptUsage | undefined {
  return storage.getStore();
}

/** From a tracker's `connectionCheckOutStarted` listener: links the running calls (nested ones too) to it. */
export function noteCheckOut(watcher: RetryCallWatcher): void {
  if (callsInProgress === 0) return;
  for (let usage = storage.getStore(); usage; usage = usage.parent) usage.call.watchedBy(watcher);
}

/** From a tracker's `connectionCheckedIn` listener. */
export function noteCheckIn(): void {
  if (callsInProgress === 0) return;
  for (let usage = storage.getStore(); usage; usage = usage.parent) usage.checkIns++;
}
