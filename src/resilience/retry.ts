import { RetryError, type RetryAttempt } from '../errors.js';
import { redactText } from '../util/redact.js';
import type { RandomSource } from '../util/random.js';
import { abortReason, checkNonNegative, fullJitterDelay, sleep } from './backoff.js';
import { defaultRetryBudget, type RetryBudget } from './budget.js';
import { AttemptUsage, RetryCall, currentAttempt, runAttempt } from './attempt-scope.js';
import { classifyAttempt, type ErrorClassification } from './classify.js';

export interface RetryContext {
  /** 1 for the first attempt. */
  attempt: number;
  /** Aborts when the caller's signal aborts; pass it to the driver (`{ signal }`). */
  signal: AbortSignal;
}

export interface RetryEvent {
  /** The attempt that failed (1-based). */
  attempt: number;
  error: unknown;
  classification: ErrorClassification;
  /** Wait before the next attempt. */
  delayMS: number;
}

export interface WithRetryOptions {
  /** Retries after the first attempt (default 2: three attempts, like the seed). */
  retries?: number;
  /** Backoff base: the n-th retry waits a random time in [0, min(maxDelayMS, baseDelayMS · 2^(n-1))). Default 100. */
  baseDelayMS?: number;
  /** Backoff cap (default 2,000). */
  maxDelayMS?: number;
  /** Overall time limit from the first attempt; no retry starts (or waits) past it. Default none. */
  deadlineMS?: number;
  /** The operation is safe to apply twice (reads, upserts by key, $set to fixed values). Default false. */
  idempotent?: boolean;
  /** Shared retry budget; `null` disables budgeting. Default: one process-wide budget. */
  budget?: RetryBudget | null;
  /** Overrides the classification: return true/false to force, undefined to keep it. */
  isRetryable?: (error: unknown, classification: ErrorClassification) => boolean | undefined;
  signal?: AbortSignal;
  onRetry?: (event: RetryEvent) => void;
  /** Jitter source (seedable: createRandom(seed)). */
  random?: RandomSource;
}

/**
 * Runs `operation`, retrying the failures that are safe to retry (see classifyAttempt) with
 * full-jitter exponential backoff, within the retry count, the deadline and the shared budget.
 * Throws RetryError (attempt history, `cause` = last error) when it gives up.
 *
 * Each attempt runs in its own async-context scope, where the pool listeners of tracked clients
 * count the connections it used: an error that says "nothing was sent" is only believed when the
 * attempt sent no more than that error accounts for (the driver's own retry can replace the error
 * of an attempt that was applied). On its first check-out the call also links itself to the
 * client's tracker, so gracefulShutdown waits for it, backoff sleeps included.
 */
export async function withRetry<T>(operation: (context: RetryContext) => Promise<T> | T, options: WithRetryOptions = {}): Promise<T> {
  if (typeof operation !== 'function') throw new TypeError('withRetry: operation must be a function');
  const retries = checkNonNegative('withRetry: retries', options.retries, 2, { integer: true, allowInfinity: true });
  const baseDelayMS = checkNonNegative('withRetry: baseDelayMS', options.baseDelayMS, 100);
  const maxDelayMS = checkNonNegative('withRetry: maxDelayMS', options.maxDelayMS, 2000);
  const deadlineMS = checkNonNegative('withRetry: deadlineMS', options.deadlineMS, Infinity, { allowInfinity: true });
  const { idempotent = false, isRetryable, signal, onRetry, random = Math.random } = options;
  const budget = options.budget === undefined ? defaultRetryBudget : options.budget;

  const started = Date.now();
  const deadline = started + deadlineMS;
  const attempts: RetryAttempt[] = [];
  budget?.deposit();

  const call = new RetryCall();
  const enclosing = currentAttempt();
  try {
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw giveUp('aborted', attempts, abortReason(signal));
      const attemptStarted = Date.now();
      const attemptSignal = boundedSignal(signal, deadline - attemptStarted);
      const usage = new AttemptUsage(call, enclosing);
      call.betweenAttempts = false;
      let error: unknown;
      try {
        return await runAttempt(usage, () => operation({ attempt, signal: attemptSignal }));
      } catch (caught) {
        error = caught;
      }
      call.betweenAttempts = true;

      const classification = classifyAttempt(error, usage.checkIns);
      const override = isRetryable?.(error, classification);
      const allowed = override ?? (classification.retryable === 'always' || (classification.retryable === 'idempotent' && idempotent));
      const record: RetryAttempt = {
        attempt,
        startedAt: attemptStarted,
        durationMS: Date.now() - attemptStarted,
        ...describeError(error),
        retryable: allowed,
        reason: override === undefined ? classification.reason : `isRetryable returned ${override} (${classification.reason})`,
      };
      attempts.push(record);

      if (signal?.aborted) throw giveUp('aborted', attempts, error);
      if (attemptSignal.aborted || Date.now() >= deadline) throw giveUp(`deadline of ${deadlineMS} ms reached`, attempts, error);
      if (!allowed) {
        const why = classification.retryable === 'idempotent' && !idempotent ? `not idempotent: ${classification.reason}` : `not retryable: ${record.reason}`;
        throw giveUp(why, attempts, error);
      }
      if (attempt > retries) throw giveUp(`${retries} ${retries === 1 ? 'retry' : 'retries'} exhausted`, attempts, error);
      const delayMS = fullJitterDelay(attempt - 1, baseDelayMS, maxDelayMS, random);
      if (Date.now() + delayMS >= deadline) throw giveUp(`deadline of ${deadlineMS} ms reached`, attempts, error);
      if (budget && !budget.tryWithdraw()) throw giveUp('retry budget exhausted', attempts, error);
      record.delayMS = delayMS;
      onRetry?.({ attempt, error, classification, delayMS });
      try {
        await sleep(delayMS, signal);
      } catch {
        throw giveUp('aborted', attempts, error);
      }
    }
  } finally {
    call.end();
  }
}

const neverAborted = new AbortController().signal;

/** The caller's signal, also aborting when the deadline passes (so `{ signal }` bounds driver calls too). */
function boundedSignal(signal: AbortSignal | undefined, remainingMS: number): AbortSignal {
  if (remainingMS === Infinity) return signal ?? neverAborted;
  const timeout = AbortSignal.timeout(Math.max(1, Math.min(remainingMS, 2 ** 31 - 1)));
  return signal ? AbortSignal.any([signal, timeout]) : timeout;
}

function giveUp(why: string, attempts: RetryAttempt[], cause: unknown): RetryError {
  const last = attempts.at(-1);
  const lastText = last?.error ? `; last error ${last.errorName ?? 'Error'}: ${last.error}` : '';
  return new RetryError(`gave up after ${attempts.length} attempt${attempts.length === 1 ? '' : 's'}: ${why}${lastText}`, attempts, cause);
}

/** What the history keeps of an error: name, redacted message and code. */
export function describeError(error: unknown): Pick<RetryAttempt, 'error' | 'errorName' | 'code'> {
  if (error instanceof Error || (error !== null && typeof error === 'object' && 'message' in error)) {
    const e = error as { name?: unknown; message?: unknown; code?: unknown };
    const code = typeof e.code === 'number' || typeof e.code === 'string' ? e.code : undefined;
    return { error: redactText(String(e.message)), errorName: typeof e.name === 'string' ? e.name : 'Error', ...(code !== undefined ? { code } : {}) };
  }
  return { error: redactText(String(error)), errorName: typeof error };
}
