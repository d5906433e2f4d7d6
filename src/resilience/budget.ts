/**
 * A retry budget shared by many calls (Finagle's RetryBudget, gRPC retry throttling): over a
 * sliding window of `ttlMS`, retries may not exceed `minRetriesPerSecond · ttl` plus `ratio` of the
 * requests seen. When a dependency is down every call fails; without a budget each one retries
 * and the load on the struggling server multiplies by the attempt count. With it, retries stay a
 * small fraction of traffic (default 10 %, the Google SRE guideline) while a quiet client still
 * gets at least `minRetriesPerSecond` (default 10) retries per second.
 */
export interface RetryBudgetOptions {
  /** Retries allowed per request, 0..1 (default 0.1). */
  ratio?: number;
  /** Retries always allowed per second of window, whatever the traffic (default 10). */
  minRetriesPerSecond?: number;
  /** Window length (default 10,000 ms). */
  ttlMS?: number;
  /** Clock (tests). */
  now?: () => number;
}

export interface RetryBudgetStats {
  requests: number;
  retries: number;
  /** Retries still allowed right now. */
  available: number;
  /** Retries refused since creation. */
  refused: number;
}

const BUCKETS = 10;

export class RetryBudget {
  readonly ratio: number;
  readonly minRetriesPerSecond: number;
  readonly ttlMS: number;
  readonly #now: () => number;
  readonly #bucketMS: number;
  readonly #requests = new Array<number>(BUCKETS).fill(0);
  readonly #retries = new Array<number>(BUCKETS).fill(0);
  #bucketStart = 0;
  #bucket = 0;
  #refused = 0;

  constructor({ ratio = 0.1, minRetriesPerSecond = 10, ttlMS = 10_000, now = Date.now }: RetryBudgetOptions = {}) {
    if (typeof ratio !== 'number' || !(ratio >= 0 && ratio <= 1)) throw new RangeError(`RetryBudget: ratio must be between 0 and 1 (got ${String(ratio)})`);
    if (typeof minRetriesPerSecond !== 'number' || !(minRetriesPerSecond >= 0) || !Number.isFinite(minRetriesPerSecond)) {
      throw new RangeError(`RetryBudget: minRetriesPerSecond must be a finite number >= 0 (got ${String(minRetriesPerSecond)})`);
    }
    if (typeof ttlMS !== 'number' || !(ttlMS >= 100) || !Number.isFinite(ttlMS)) throw new RangeError(`RetryBudget: ttlMS must be at least 100 (got ${String(ttlMS)})`);
    this.ratio = ratio;
    this.minRetriesPerSecond = minRetriesPerSecond;
    this.ttlMS = ttlMS;
    this.#now = now;
    this.#bucketMS = ttlMS / BUCKETS;
    this.#bucketStart = now();
  }

  /** Records one request (a first attempt). */
  deposit(): void {
    this.#advance();
    this.#requests[this.#bucket]++;
  }

  /** Takes one retry if the budget allows it. */
  tryWithdraw(): boolean {
    this.#advance();
    if (this.#available() < 1) {
      this.#refused++;
      return false;
    }
    this.#retries[this.#bucket]++;
    return true;
  }

  get stats(): RetryBudgetStats {
    this.#advance();
    return { requests: sum(this.#requests), retries: sum(this.#retries), available: Math.floor(this.#available()), refused: this.#refused };
  }

  #available(): number {
    const reserve = this.minRetriesPerSecond * (this.ttlMS / 1000);
    return reserve + this.ratio * sum(this.#requests) - sum(this.#retries);
  }

  /** Rotates the ring of buckets so that only the last `ttlMS` count. */
  #advance(): void {
    const now = this.#now();
    let steps = Math.floor((now - this.#bucketStart) / this.#bucketMS);
    if (steps <= 0) return;
    this.#bucketStart += steps * this.#bucketMS;
    steps = Math.min(steps, BUCKETS);
    for (let i = 0; i < steps; i++) {
      this.#bucket = (this.#bucket + 1) % BUCKETS;
      this.#requests[this.#bucket] = 0;
      this.#retries[this.#bucket] = 0;
    }
  }
}

function sum(values: number[]): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

/** The process-wide budget `withRetry` uses when none is given. */
export const defaultRetryBudget = new RetryBudget();
