import type { MongoClient } from 'mongodb';

/**
 * Counts a client's in-flight operations from its pool (CMAP) events, which the driver always
 * emits: an operation is in flight from `connectionCheckOutStarted` until its connection is
 * checked back in, or until the check-out fails. Readiness probes and graceful shutdown read it.
 * One tracker per client (WeakMap), shared by `createClient` and `PoolMonitor.attach`.
 */
export class InflightTracker {
  #started = 0;
  #finished = 0;
  #checkedOut = 0;
  #checkOutFailed = 0;
  #idleWaiters: Array<() => void> = [];
  #shuttingDown = false;
  readonly #client: MongoClient;
  readonly #listeners: Array<[string, (...args: any[]) => void]>;

  constructor(client: MongoClient) {
    this.#client = client;
    const started = () => {
      this.#started++;
    };
    const finished = () => {
      this.#finished++;
      if (this.#started === this.#finished && this.#idleWaiters.length > 0) {
        const waiters = this.#idleWaiters;
        this.#idleWaiters = [];
        for (const resolve of waiters) resolve();
      }
    };
    this.#listeners = [
      ['connectionCheckOutStarted', started],
      [
        'connectionCheckOutFailed',
        () => {
          this.#checkOutFailed++;
          finished();
        },
      ],
      ['connectionCheckedOut', () => this.#checkedOut++],
      ['connectionCheckedIn', finished],
    ];
    for (const [event, fn] of this.#listeners) client.on(event as any, fn);
  }

  /** Operations waiting for a connection or holding one right now. */
  get inflight(): number {
    return this.#started - this.#finished;
  }

  /** Operations queued for a connection (check-out started, not yet served or failed). */
  get waiting(): number {
    return this.#started - this.#checkedOut - this.#checkOutFailed;
  }

  /** Operations that finished (connection checked back in, or check-out failed) since tracking began. */
  get finished(): number {
    return this.#finished;
  }

  /** Total operations that asked the pool for a connection since tracking began. */
  get started(): number {
    return this.#started;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  markShuttingDown(): void {
    this.#shuttingDown = true;
  }

  /** Resolves once no operation is in flight (immediately if none is). */
  whenIdle(): Promise<void> {
    if (this.inflight <= 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  detach(): void {
    for (const [event, fn] of this.#listeners) this.#client.off(event as any, fn);
  }
}

const trackers = new WeakMap<MongoClient, InflightTracker>();

/** Starts tracking (idempotent). Call before the client connects, or counts start late. */
export function trackInflight(client: MongoClient): InflightTracker {
  let tracker = trackers.get(client);
  if (!tracker) {
    tracker = new InflightTracker(client);
    trackers.set(client, tracker);
  }
  return tracker;
}

/** The tracker of a client made by `createClient` or monitored by a `PoolMonitor`, if any. */
export function getInflightTracker(client: MongoClient): InflightTracker | undefined {
  return trackers.get(client);
}
