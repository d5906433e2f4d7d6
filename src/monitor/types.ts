import type { LatencySummary } from './latency.js';

export type { LatencySummary } from './latency.js';

/** Why the driver closed connections (CMAP `connectionClosed.reason`), counted since attach. */
export interface ClosedCounts {
  stale: number;
  idle: number;
  error: number;
  poolClosed: number;
}

/** Why check-outs failed (CMAP `connectionCheckOutFailed.reason`), counted since attach. */
export interface CheckoutFailedCounts {
  timeout: number;
  connectionError: number;
  poolClosed: number;
}

/** One server's pool, as of the snapshot. Gauges are current values; counters are cumulative since attach. */
export interface ServerPoolSnapshot {
  /** Connections that exist: opening + idle + inUse (= created − closed). */
  total: number;
  /** Ready connections in the pool, not checked out. */
  idle: number;
  /** Connections checked out by operations. */
  inUse: number;
  /** Operations waiting for a connection. */
  pending: number;
  /** Connections being established (created, handshake not finished); included in `total`. */
  opening: number;
  maxPoolSize: number;
  minPoolSize: number;
  created: number;
  closed: ClosedCounts;
  checkedOut: number;
  checkoutFailed: CheckoutFailedCounts;
  cleared: { count: number; lastCause: string | null };
  /** Time operations waited for a connection (the driver's `durationMS`, whole milliseconds). */
  waitTime: LatencySummary;
  /** Time connections stayed checked out (check-out to check-in); stands for operation time in the default mode. */
  useTime: LatencySummary;
  /** Time to establish a connection (TCP + TLS + handshake + auth). */
  createTime: LatencySummary;
}

export interface CommandSnapshot {
  /** Completed commands (succeeded + failed). */
  count: number;
  failed: number;
  duration: LatencySummary;
}

export interface LeakCommand {
  name: string;
  database: string;
  collection?: string;
}

/** A connection held longer than `leakThresholdMS` (plain JSON). */
export interface LeakReport {
  pool: string;
  server: string;
  connectionId: number;
  /** How long it has been checked out, at the time of the report (or snapshot). */
  heldMS: number;
  checkedOutAt: string;
  /** Commands run on the connection during this check-out (with `commands: true`). */
  commands?: LeakCommand[];
  /** Application frames of the operation that checked it out (with `captureStacks`). */
  stack?: string;
}

export interface ReleasedReport {
  pool: string;
  server: string;
  connectionId: number;
  heldMS: number;
}

export interface SaturatedReport {
  pool: string;
  server: string;
  /** `maxPoolSize`: every connection is in use; `waitTime`: an operation has waited longer than `saturationThresholdMS`. */
  reason: 'maxPoolSize' | 'waitTime';
  inUse: number;
  pending: number;
  maxPoolSize: number;
  /** Reason `waitTime`: how long the longest-waiting operation had waited when this was reported. */
  waitedMS?: number;
}

export interface ClearedReport {
  pool: string;
  server: string;
  /** The server error that made the driver clear the pool, when known. */
  cause: string | null;
  interruptInUseConnections: boolean;
  count: number;
}

export interface CheckoutFailedReport {
  pool: string;
  server: string;
  reason: keyof CheckoutFailedCounts | string;
  waitedMS: number;
  error?: string;
}

export interface PoolSnapshot {
  name: string;
  /** ISO time of the snapshot. */
  at: string;
  servers: Record<string, ServerPoolSnapshot>;
  /** Present with `commands: true`. */
  commands?: Record<string, CommandSnapshot>;
  leaks: LeakReport[];
}

/** `serverStatus.connections` as the server reports it (it also counts the driver's monitoring sockets). */
export interface ServerConnections {
  current: number;
  available: number;
  totalCreated: number;
  active?: number;
  [key: string]: number | undefined;
}

export interface PoolMonitorEvents {
  leak: [LeakReport];
  released: [ReleasedReport];
  saturated: [SaturatedReport];
  cleared: [ClearedReport];
  checkoutFailed: [CheckoutFailedReport];
  detached: [];
}
