import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MongoNetworkError, MongoServerError, MongoServerSelectionError } from 'mongodb';
import { RetryBudget, RetryError, createRandom, fullJitterDelay, withRetry } from '../../src/index.js';

describe('RetryBudget', () => {
  it('the default always allows at least 10 retries per second, sustained, with no traffic credit', () => {
    let now = 0;
    const budget = new RetryBudget({ ratio: 0, now: () => now });
    for (let i = 0; i < 600; i++) {
      now = i * 100; // 10 per second for 60 s
      assert.equal(budget.tryWithdraw(), true, `retry ${i} at ${now} ms refused`);
    }
  });

  it('caps retries at the floor plus a ratio of requests over the window, then recovers', () => {
    let now = 0;
    const budget = new RetryBudget({ ratio: 0.1, minRetriesPerSecond: 1, ttlMS: 10_000, now: () => now });
    for (let i = 0; i < 100; i++) budget.deposit();
    let granted = 0;
    while (budget.tryWithdraw()) granted++;
    assert.equal(granted, 10 + 10, 'floor (1/s x 10 s) + 10 % of 100 requests');
    assert.equal(budget.stats.refused, 1);
    now = 10_500; // the window has moved past every earlier bucket
    assert.equal(budget.stats.retries, 0);
    assert.equal(budget.tryWithdraw(), true);
  });

  it('rejects nonsense settings naming them', () => {
    assert.throws(() => new RetryBudget({ ratio: 2 }), /ratio must be between 0 and 1/);
    assert.throws(() => new RetryBudget({ minRetriesPerSecond: -1 }), /minRetriesPerSecond/);
    assert.throws(() => new RetryBudget({ ttlMS: 5 }), /ttlMS/);
  });
});

describe('fullJitterDelay', () => {
  it('stays within [0, min(cap, base·2^n)) and is deterministic for a seed', () => {
    const a = createRandom(42);
    const b = createRandom(42);
    for (let n = 0; n < 20; n++) {
      const delay = fullJitterDelay(n, 100, 2000, a);
      assert.ok(delay >= 0 && delay < Math.min(2000, 100 * 2 ** n), `retry ${n}: ${delay}`);
      assert.equal(delay, fullJitterDelay(n, 100, 2000, b));
    }
  });
});

// withRetry's control flow with errors thrown by the caller's function; retry.test.ts runs it
// against the embedded server through the driver.
describe('withRetry control flow', () => {
  const selection = () => new MongoServerSelectionError('Server selection timed out', { error: undefined } as never);

  it('returns the first success and reports each retry', async () => {
    const events: number[] = [];
    let calls = 0;
    const result = await withRetry(
      async ({ attempt }) => {
        calls++;
        if (attempt < 3) throw selection();
        return 'done';
      },
      { baseDelayMS: 1, budget: null, onRetry: (e) => events.push(e.attempt) },
    );
    assert.equal(result, 'done');
    assert.equal(calls, 3);
    assert.deepEqual(events, [1, 2]);
  });

  it('gives up after `retries` with the whole history and the last cause', async () => {
    const last = selection();
    let calls = 0;
    const error = await withRetry(
      () => {
        calls++;
        throw calls === 4 ? last : selection();
      },
      { retries: 3, baseDelayMS: 1, budget: null },
    ).catch((e: unknown) => e);
    assert.ok(error instanceof RetryError);
    assert.equal(error.name, 'RetryError');
    assert.equal(error.code, 'POOLKIT_ERR_RETRY');
    assert.equal(calls, 4);
    assert.equal(error.attempts.length, 4);
    assert.equal(error.cause, last);
    assert.match(error.message, /gave up after 4 attempts: 3 retries exhausted; last error MongoServerSelectionError/);
    assert.deepEqual(error.attempts.map((a) => a.retryable), [true, true, true, true]);
  });

  it('does not resend a network error unless idempotent, and says why', async () => {
    let calls = 0;
    const error = await withRetry(() => {
      calls++;
      throw new MongoNetworkError('connection reset');
    }, { budget: null }).catch((e: unknown) => e);
    assert.equal(calls, 1);
    assert.ok(error instanceof RetryError);
    assert.match(error.message, /not idempotent: network error after the command was sent/);
  });

  it('never retries a duplicate key, even when idempotent', async () => {
    let calls = 0;
    await assert.rejects(
      withRetry(() => {
        calls++;
        throw new MongoServerError({ ok: 0, code: 11000, errmsg: 'E11000 duplicate key' });
      }, { idempotent: true, budget: null }),
      /not retryable: duplicate key/,
    );
    assert.equal(calls, 1);
  });

  it('lets isRetryable override the classification', async () => {
    let calls = 0;
    await withRetry(
      () => {
        calls++;
        if (calls === 1) throw new Error('app-level transient');
        return 1;
      },
      { isRetryable: (error) => (error as Error).message.includes('transient') || undefined, baseDelayMS: 1, budget: null },
    );
    assert.equal(calls, 2);
  });

  it('does not start a wait that would end past the deadline', async () => {
    const started = Date.now();
    const error = await withRetry(
      () => {
        throw selection();
      },
      { retries: 100, baseDelayMS: 400, maxDelayMS: 400, deadlineMS: 250, budget: null, random: () => 0.99 },
    ).catch((e: unknown) => e);
    assert.ok(error instanceof RetryError);
    assert.match(error.message, /deadline of 250 ms reached/);
    assert.ok(Date.now() - started < 200, 'gave up at once instead of sleeping past the deadline');
  });

  it('stops when the shared budget is spent, across calls', async () => {
    const budget = new RetryBudget({ ratio: 0, minRetriesPerSecond: 0.3, ttlMS: 10_000 }); // 3 retries per window
    let calls = 0;
    const run = () =>
      withRetry(() => {
        calls++;
        throw selection();
      }, { retries: 5, baseDelayMS: 0, budget }).catch((e: unknown) => e as RetryError);
    const first = await run();
    const second = await run();
    assert.equal(calls, 1 + 3 + 1, 'first call: 1 + 3 retries; second call: no retry left');
    assert.match(first.message, /retry budget exhausted/);
    assert.match(second.message, /gave up after 1 attempt: retry budget exhausted/);
  });

  it('aborts a backoff wait at once', async () => {
    const controller = new AbortController();
    const pending = withRetry(() => {
      throw selection();
    }, { baseDelayMS: 10_000, maxDelayMS: 10_000, random: () => 0.99, signal: controller.signal, budget: null, onRetry: () => controller.abort() });
    const error = await pending.catch((e: unknown) => e);
    assert.ok(error instanceof RetryError);
    assert.match(error.message, /aborted/);
  });

  it('validates its options', async () => {
    await assert.rejects(withRetry(async () => 1, { retries: -1 }), /withRetry: retries must be a non-negative integer/);
    await assert.rejects(withRetry(async () => 1, { baseDelayMS: Number.NaN }), /baseDelayMS/);
  });
});
