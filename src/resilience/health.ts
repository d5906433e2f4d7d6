import type { MongoClient } from 'mongodb';
import { getInflightTracker } from '../client/inflight.js';
import { redactText } from '../util/redact.js';
import { checkNonNegative } from './backoff.js';
import { isClosedByShutdown } from './lifecycle.js';

export interface ServerHealth {
  address: string;
  /** SDAM server type: Standalone, RSPrimary, RSSecondary, Mongos, LoadBalancer, Unknown, ... */
  type: string;
  /** Smoothed heartbeat round trip seen by the driver's monitor. */
  roundTripTimeMS?: number;
  /** Last monitoring error, redacted. */
  error?: string;
}

export interface PoolHealth {
  /** Operations holding or waiting for a connection. */
  inflight: number;
  /** Operations queued for a connection. */
  waiting: number;
  /** 0 means unlimited. */
  maxPoolSize: number;
  /** inflight / maxPoolSize (0 when unlimited). */
  utilization: number;
}

export interface HealthReport {
  /**
   * The deployment answered a ping within timeoutMS. The ping uses read preference
   * primaryPreferred: the primary when there is one, otherwise any member, so `ok` stays true
   * during an election; `writable` says whether a primary is known.
   */
  ok: boolean;
  /** Time the ping took (or took to fail), server selection included. */
  latencyMS: number;
  /** SDAM topology type: Single, ReplicaSetWithPrimary, ReplicaSetNoPrimary, Sharded, LoadBalanced, Unknown. */
  topology: string;
  /** A server that accepts writes is known (primary, standalone, mongos or load balancer). */
  writable: boolean;
  servers: ServerHealth[];
  /** Present for clients from createClient or with a PoolMonitor attached. */
  pool?: PoolHealth;
  /** gracefulShutdown has begun for this client. */
  shuttingDown: boolean;
  error?: { name: string; message: string; code?: number | string };
  checkedAt: string;
}

export interface CheckHealthOptions {
  /** Limit for the check: connecting if needed, server selection and the ping (default 2,000 ms). */
  timeoutMS?: number;
}

const WRITABLE = new Set(['Standalone', 'RSPrimary', 'Mongos', 'LoadBalancer']);

/**
 * Pings the deployment with a time limit and reports latency, topology, servers and pool load.
 * Never throws: failures are in `ok: false` and `error` (message redacted). Connects the client
 * first if it is not connected (a failed first connect leaves the driver answering "Topology is
 * closed" until connect() is called again), except a client closed by `close()` or gracefulShutdown.
 */
export async function checkHealth(client: MongoClient, options: CheckHealthOptions = {}): Promise<HealthReport> {
  const started = performance.now();
  let ok = false;
  let error: HealthReport['error'];
  try {
    const timeoutMS = checkNonNegative('checkHealth: timeoutMS', options.timeoutMS, 2000);
    if (isClosedByShutdown(client)) throw Object.assign(new Error('the client was closed by gracefulShutdown'), { name: 'ShutdownError' });
    await pingWithin(client, timeoutMS);
    ok = true;
  } catch (caught) {
    error = describe(caught);
  }
  const latencyMS = round(performance.now() - started);
  const { topology, servers } = readTopology(client);
  const tracker = getInflightTracker(client);
  const report: HealthReport = {
    ok,
    latencyMS,
    topology,
    writable: servers.some((server) => WRITABLE.has(server.type)),
    servers,
    shuttingDown: tracker?.shuttingDown ?? false,
    checkedAt: new Date().toISOString(),
  };
  const pool = poolHealth(client);
  if (pool) report.pool = pool;
  if (error) report.error = error;
  return report;
}

/** Pool load from the client's in-flight tracker; undefined for an untracked client. */
export function poolHealth(client: MongoClient): PoolHealth | undefined {
  const tracker = getInflightTracker(client);
  if (!tracker) return undefined;
  const maxPoolSize = Number((client.options as { maxPoolSize?: unknown } | undefined)?.maxPoolSize ?? 100);
  return {
    inflight: tracker.inflight,
    waiting: Math.max(0, tracker.waiting),
    maxPoolSize,
    utilization: maxPoolSize > 0 ? round(tracker.inflight / maxPoolSize) : 0,
  };
}

/**
 * connect (if needed) + `ping`, bounded by an AbortSignal (the driver stops selection, check-out
 * and the read) and by a timer, for the paths where the signal is not honoured (connect()).
 */
export async function pingWithin(client: MongoClient, timeoutMS: number, readPreference: 'primary' | 'primaryPreferred' = 'primaryPreferred'): Promise<void> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const timeout = new Error(`ping did not complete within ${timeoutMS} ms`);
      timeout.name = 'HealthCheckTimeoutError';
      controller.abort(timeout);
      reject(timeout);
    }, timeoutMS);
  });
  const ping = (async () => {
    // connect() is idempotent (an in-progress connect is shared). Left running if the timer wins.
    if (!closedByUser(client)) await client.connect();
    // primaryPreferred (default): any member proves the deployment is alive; writability is read from SDAM.
    await client.db('admin').command({ ping: 1 }, { signal: controller.signal, readPreference });
  })();
  ping.catch(() => {}); // may settle after the timer won
  try {
    await Promise.race([ping, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** `client.close()` was called (driver 6 and 7 set `s.hasBeenClosed`, an internal flag, for good). */
function closedByUser(client: MongoClient): boolean {
  try {
    return (client as unknown as { s?: { hasBeenClosed?: unknown } }).s?.hasBeenClosed === true;
  } catch {
    return false;
  }
}

/**
 * What SDAM knows right now, without a ping, for a client whose topology is open and connected;
 * undefined otherwise (not connected yet, connecting, closed: only a ping can tell).
 */
export function knownWritability(client: MongoClient): { topology: string; writable: boolean } | undefined {
  try {
    const topology = (client as unknown as { topology?: { isConnected?: () => boolean } }).topology;
    if (!topology || typeof topology.isConnected !== 'function' || !topology.isConnected()) return undefined;
    const { topology: type, servers } = readTopology(client);
    return { topology: type, writable: servers.some((server) => WRITABLE.has(server.type)) };
  } catch {
    return undefined;
  }
}

/** Topology from the driver's SDAM state; `client.topology` is internal, so every step is guarded. */
export function readTopology(client: MongoClient): { topology: string; servers: ServerHealth[] } {
  try {
    const description = (client as unknown as { topology?: { description?: TopologyDescriptionLike } }).topology?.description;
    if (!description) return { topology: 'Unknown', servers: [] };
    const servers: ServerHealth[] = [];
    for (const server of description.servers?.values?.() ?? []) {
      const entry: ServerHealth = { address: String(server.address), type: String(server.type ?? 'Unknown') };
      if (typeof server.roundTripTime === 'number' && Number.isFinite(server.roundTripTime) && server.roundTripTime >= 0) {
        entry.roundTripTimeMS = round(server.roundTripTime);
      }
      if (server.error) entry.error = redactText(String((server.error as { message?: unknown }).message ?? server.error));
      servers.push(entry);
    }
    return { topology: String(description.type ?? 'Unknown'), servers };
  } catch {
    return { topology: 'Unknown', servers: [] };
  }
}

interface TopologyDescriptionLike {
  type?: string;
  servers?: Map<string, { address: string; type?: string; roundTripTime?: number; error?: unknown }>;
}

function describe(error: unknown): NonNullable<HealthReport['error']> {
  const e = (error ?? {}) as { name?: unknown; message?: unknown; code?: unknown };
  const out: NonNullable<HealthReport['error']> = {
    name: typeof e.name === 'string' ? e.name : 'Error',
    message: redactText(typeof e.message === 'string' ? e.message : String(error)),
  };
  if (typeof e.code === 'number' || typeof e.code === 'string') out.code = e.code;
  return out;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
