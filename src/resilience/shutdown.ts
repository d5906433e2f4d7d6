import type { MongoClient } from 'mongodb';
import { getInflightTracker, type InflightTracker } from '../client/inflight.js';
import { ShutdownError } from '../errors.js';
import { redactText } from '../util/redact.js';
import { checkNonNegative } from './backoff.js';
import { markClosedByShutdown } from './lifecycle.js';

export interface GracefulShutdownOptions {
  /** Whole budget from the start (drain delay included); then the client is closed regardless. Default 10,000 ms. */
  timeoutMS?: number;
  /** Wait this long after readiness starts failing, so load balancers stop routing here. Default 0. */
  drainDelayMS?: number;
  /**
   * Install handlers instead of shutting down now: the returned promise settles after the first
   * of these signals arrives and the shutdown it starts is done. A second signal skips the wait.
   * `true` means ['SIGINT', 'SIGTERM'].
   */
  signals?: boolean | NodeJS.Signals[];
  /** `inflight`: pool check-outs in progress; `retrying`: withRetry calls in progress that used this client. */
  onStart?: (info: { signal?: NodeJS.Signals; inflight: number; retrying: number }) => void;
  onDone?: (result: ShutdownResult) => void;
}

export interface ShutdownResult {
  /**
   * Pool check-outs that ended while the shutdown waited: a connection checked back in, or a
   * check-out that failed. One per attempt of a driver operation, whatever its outcome (a command
   * that failed still counts; an operation the driver retried counts twice; a withRetry call
   * counts each attempt that reached the pool).
   */
  completed: number;
  /**
   * Work cut short by close(): pool check-outs still in progress (operations holding or queued
   * for a connection), plus withRetry calls that had used this client and were waiting between
   * two attempts (their next attempt fails on the closed client).
   */
  interrupted: number;
  durationMS: number;
  /** The wait ended at timeoutMS (or a second signal) rather than with nothing in flight. */
  timedOut: boolean;
  signal?: NodeJS.Signals;
}

interface Running {
  promise: Promise<ShutdownResult>;
  force: () => void;
}

const running = new WeakMap<MongoClient, Running>();
/** Signal installers waiting for this client's shutdown to start. */
const watchers = new WeakMap<MongoClient, Set<(shutdown: Promise<ShutdownResult>) => void>>();

/**
 * Shuts a client down without cutting operations short: readiness fails at once, then after
 * `drainDelayMS` it waits for in-flight operations (those queued for a connection included) and
 * for withRetry calls that used the client (backoff sleeps included) until `timeoutMS`, closes
 * the client and reports what completed and what was interrupted. Not visible, hence not waited
 * for: operations still in server selection, and cursors between two batches (they hold no
 * connection): close cursors or finish iterating them before shutting down.
 * Calling it again returns the same shutdown. Needs a client from createClient, or one with a
 * PoolMonitor attached (or trackInflight called before connecting): otherwise in-flight
 * operations cannot be counted and it throws ShutdownError.
 */
export async function gracefulShutdown(client: MongoClient, options: GracefulShutdownOptions = {}): Promise<ShutdownResult> {
  const tracker = getInflightTracker(client);
  if (!tracker) {
    throw new ShutdownError(
      'gracefulShutdown needs a client whose operations are tracked: create it with createClient(), attach a PoolMonitor, or call trackInflight(client) before it connects',
    );
  }
  const timeoutMS = checkNonNegative('gracefulShutdown: timeoutMS', options.timeoutMS, 10_000);
  const drainDelayMS = checkNonNegative('gracefulShutdown: drainDelayMS', options.drainDelayMS, 0);
  const signals = options.signals === true ? (['SIGINT', 'SIGTERM'] as NodeJS.Signals[]) : options.signals || [];
  if (!Array.isArray(signals) || signals.some((s) => typeof s !== 'string' || !s.startsWith('SIG'))) {
    throw new ShutdownError(`gracefulShutdown: signals must be true or a list of signal names such as ['SIGTERM'] (got ${String(options.signals)})`);
  }
  const settings = { timeoutMS, drainDelayMS, onStart: options.onStart, onDone: options.onDone };
  if (signals.length === 0) return start(client, tracker, settings, undefined);

  return new Promise<ShutdownResult>((resolve, reject) => {
    const removeHandlers = () => {
      for (const name of signals) process.off(name, onSignal);
      watchers.get(client)?.delete(follow);
    };
    // Whatever starts the shutdown (a signal or a direct call), follow it and then give the
    // signals back: a handler left behind would swallow every later SIGTERM.
    const follow = (shutdown: Promise<ShutdownResult>) => {
      shutdown.then(resolve, reject).finally(removeHandlers);
    };
    const onSignal = (signal: NodeJS.Signals) => {
      const current = running.get(client);
      if (current) current.force(); // second signal: the operator wants out now
      else void start(client, tracker, settings, signal).catch(() => {}); // settles through follow()
    };
    const current = running.get(client);
    if (current) return follow(current.promise);
    let set = watchers.get(client);
    if (!set) watchers.set(client, (set = new Set()));
    set.add(follow);
    for (const name of signals) process.on(name, onSignal);
  });
}

interface Settings {
  timeoutMS: number;
  drainDelayMS: number;
  onStart?: GracefulShutdownOptions['onStart'];
  onDone?: GracefulShutdownOptions['onDone'];
}

function start(client: MongoClient, tracker: InflightTracker, settings: Settings, signal: NodeJS.Signals | undefined): Promise<ShutdownResult> {
  const current = running.get(client);
  if (current) return current.promise;
  let force!: () => void;
  const forced = new Promise<'forced'>((resolve) => (force = () => resolve('forced')));
  const promise = run(client, tracker, settings, signal, forced);
  running.set(client, { promise, force });
  for (const follow of watchers.get(client) ?? []) follow(promise);
  return promise;
}

async function run(
  client: MongoClient,
  tracker: InflightTracker,
  { timeoutMS, drainDelayMS, onStart, onDone }: Settings,
  signal: NodeJS.Signals | undefined,
  forced: Promise<'forced'>,
): Promise<ShutdownResult> {
  const started = performance.now();
  const finishedBefore = tracker.finished;
  tracker.markShuttingDown();
  // A failing callback must not stop the shutdown: its error is raised once the client is closed.
  let callbackError: unknown;
  const callSafely = (callback: () => unknown) => {
    try {
      const returned = callback();
      if (returned instanceof Promise) returned.catch((error: unknown) => (callbackError ??= error));
    } catch (error) {
      callbackError ??= error;
    }
  };
  if (onStart) callSafely(() => onStart({ ...(signal ? { signal } : {}), inflight: tracker.inflight, retrying: tracker.retrying }));

  const timers: NodeJS.Timeout[] = [];
  const after = (ms: number) => new Promise<'timeout'>((resolve) => timers.push(setTimeout(() => resolve('timeout'), Math.max(0, ms))));
  const deadline = after(timeoutMS);
  let outcome: 'idle' | 'timeout' | 'forced';
  try {
    const drained = await Promise.race([after(drainDelayMS).then(() => 'drained' as const), deadline, forced]);
    outcome = drained === 'drained' ? await Promise.race([tracker.whenIdle().then(() => 'idle' as const), deadline, forced]) : drained;
  } finally {
    for (const timer of timers) clearTimeout(timer);
  }

  const interrupted = outcome === 'idle' ? 0 : Math.max(0, tracker.inflight) + tracker.retryingBetweenAttempts;
  const completed = tracker.finished - finishedBefore;
  try {
    // The driver fails operations still holding or waiting for a connection, then closes the pools.
    await client.close();
  } catch (error) {
    throw new ShutdownError(`closing the client failed: ${redactText(error instanceof Error ? error.message : String(error))}`);
  } finally {
    markClosedByShutdown(client);
  }
  const result: ShutdownResult = {
    completed,
    interrupted,
    durationMS: Math.round((performance.now() - started) * 1000) / 1000,
    timedOut: outcome !== 'idle',
    ...(signal ? { signal } : {}),
  };
  if (onDone) callSafely(() => onDone(result));
  if (callbackError !== undefined) throw callbackError;
  return result;
}
