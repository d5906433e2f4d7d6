import type { MongoClient } from 'mongodb';
import { ServerUnavailableError, type RetryAttempt } from '../errors.js';
import { createClient } from '../client/create-client.js';
import { redactText, redactUri } from '../util/redact.js';
import type { RandomSource } from '../util/random.js';
import { abortReason, checkNonNegative, fullJitterDelay, sleep } from './backoff.js';
import { readTopology } from './health.js';
import { describeError } from './retry.js';

export interface WaitForServerOptions {
  /** Retries after the first attempt (default: unlimited, bounded by deadlineMS). */
  retries?: number;
  /** Backoff base: retry n waits a random time in [0, min(maxDelayMS, initialDelayMS · 2^(n-1))). Default 250. */
  initialDelayMS?: number;
  /** Backoff cap (default 5,000). */
  maxDelayMS?: number;
  /** Give up this long after the start (default 30,000; Infinity allowed). */
  deadlineMS?: number;
  /** Limit for one attempt (server selection + ping). Default 5,000 (never past the deadline). */
  attemptTimeoutMS?: number;
  signal?: AbortSignal;
  /** Called after each attempt (success or failure), e.g. to log progress. */
  onAttempt?: (attempt: RetryAttempt & { ok: boolean }) => void;
  /** Jitter source (seedable: createRandom(seed)). */
  random?: RandomSource;
}

export interface WaitForServerResult {
  attempts: number;
  elapsedMS: number;
}

/**
 * Waits until the deployment answers a ping: at startup (a container starting before its
 * database) or after an outage. Attempts are spaced by full-jitter exponential backoff, so a
 * fleet restarting together does not stampede the server. Gives up at the deadline, after
 * `retries`, or when `signal` aborts, throwing ServerUnavailableError with every attempt (redacted).
 *
 * With a URI it uses a private client and closes it; the URI is validated as createClient does
 * (PoolConfigError with a did-you-mean for a misspelt option). With a client it pings through it
 * (and leaves it connected, ready for use).
 */
export async function waitForServer(uriOrClient: string | MongoClient, options: WaitForServerOptions = {}): Promise<WaitForServerResult> {
  const retries = checkNonNegative('waitForServer: retries', options.retries, Infinity, { integer: true, allowInfinity: true });
  const initialDelayMS = checkNonNegative('waitForServer: initialDelayMS', options.initialDelayMS, 250);
  const maxDelayMS = checkNonNegative('waitForServer: maxDelayMS', options.maxDelayMS, 5000);
  const deadlineMS = checkNonNegative('waitForServer: deadlineMS', options.deadlineMS, 30_000, { allowInfinity: true });
  const attemptTimeoutMS = checkNonNegative('waitForServer: attemptTimeoutMS', options.attemptTimeoutMS, 5000);
  const { signal, onAttempt, random = Math.random } = options;

  const target = typeof uriOrClient === 'string' ? privateClient(uriOrClient, attemptTimeoutMS) : { client: uriOrClient, owned: false };
  const where = typeof uriOrClient === 'string' ? redactUri(uriOrClient) : describeClient(uriOrClient);
  const started = performance.now();
  const deadline = started + deadlineMS;
  const attempts: RetryAttempt[] = [];
  let lastError: unknown;

  const giveUp = (why: string) =>
    new ServerUnavailableError(
      `${where} did not answer after ${attempts.length} attempt${attempts.length === 1 ? '' : 's'} in ${Math.round(performance.now() - started)} ms: ${why}${
        lastError ? `; last error: ${redactText(String((lastError as Error).message ?? lastError))}` : ''
      }`,
      attempts,
      lastError,
    );

  try {
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw giveUp(`aborted (${String((abortReason(signal) as Error)?.message ?? 'no reason')})`);
      const remaining = deadline - performance.now();
      // An attempt squeezed into the last few milliseconds cannot succeed; it would only hide the real last error.
      if (remaining < Math.min(20, attemptTimeoutMS)) throw giveUp(`deadline of ${deadlineMS} ms reached`);
      const attemptStarted = Date.now();
      const t0 = performance.now();
      try {
        await pingWithin(target.client, Math.min(attemptTimeoutMS, remaining), signal);
        const record = { attempt, startedAt: attemptStarted, durationMS: round(performance.now() - t0) };
        attempts.push(record);
        onAttempt?.({ ...record, ok: true });
        return { attempts: attempt, elapsedMS: round(performance.now() - started) };
      } catch (error) {
        lastError = error;
        const record: RetryAttempt = { attempt, startedAt: attemptStarted, durationMS: round(performance.now() - t0), ...describeError(error) };
        attempts.push(record);
        if (signal?.aborted) {
          onAttempt?.({ ...record, ok: false });
          throw giveUp('aborted');
        }
        if (attempt > retries) {
          onAttempt?.({ ...record, ok: false });
          throw giveUp(`${retries} ${retries === 1 ? 'retry' : 'retries'} exhausted`);
        }
        const delayMS = Math.min(fullJitterDelay(attempt - 1, initialDelayMS, maxDelayMS, random), Math.max(0, deadline - performance.now()));
        record.delayMS = delayMS;
        onAttempt?.({ ...record, ok: false });
        try {
          await sleep(delayMS, signal);
        } catch {
          throw giveUp('aborted');
        }
      }
    }
  } finally {
    if (target.owned) await target.client.close().catch(() => {});
  }
}

function privateClient(uri: string, attemptTimeoutMS: number): { client: MongoClient; owned: boolean } {
  // createClient's validation of the URI (PoolConfigError, redacted). Its warnings are for clients an
  // application keeps; this one lives for the wait only: its own timeouts, one connection, no warm pool.
  const client = createClient(uri, {
    serverSelectionTimeoutMS: attemptTimeoutMS,
    connectTimeoutMS: attemptTimeoutMS,
    minPoolSize: 0,
    maxPoolSize: 1,
    onWarning: () => {},
  });
  return { client, owned: true };
}

/** connect + ping, bounded by `timeoutMS` and the caller's signal. */
async function pingWithin(client: MongoClient, timeoutMS: number, signal: AbortSignal | undefined): Promise<void> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const seen = readTopology(client).servers.find((server) => server.error)?.error;
      const error = new Error(`no answer within ${Math.round(timeoutMS)} ms${seen ? ` (${seen})` : ''}`);
      error.name = 'AttemptTimeoutError';
      controller.abort(error);
      reject(error);
    }, timeoutMS);
    onAbort = () => {
      controller.abort(abortReason(signal!));
      reject(abortReason(signal!));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  // connect() first: after a failed auto-connect the driver answers "Topology is closed" to every
  // operation until connect() is called again; a pending connect() is shared, not restarted.
  const ping = (async () => {
    await client.connect();
    await client.db('admin').command({ ping: 1 }, { signal: controller.signal });
  })();
  ping.catch(() => {}); // may settle after the timer won
  try {
    await Promise.race([ping, stop]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}

function describeClient(client: MongoClient): string {
  try {
    const hosts = (client.options as { hosts?: Array<{ toString(): string }> } | undefined)?.hosts ?? [];
    return hosts.length ? `MongoDB at ${hosts.map(String).join(',')}` : 'MongoDB';
  } catch {
    return 'MongoDB';
  }
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
