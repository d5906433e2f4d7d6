import type { MongoClient } from 'mongodb';

/*
 * The few places where the monitor looks past the driver's public API (driver 6.9+ and 7.x).
 * Every access is guarded: if a future driver renames something, these degrade to
 * "unknown" instead of throwing.
 */

/** True once `connect()` started (explicitly or by a first operation): pool events may already be lost. */
export function hasConnected(client: MongoClient): boolean {
  const c = client as any;
  return c.topology != null || c.connectionLock != null;
}

/** Sets the driver's command monitoring; it is read when the topology is created at connect. */
export function setMonitorCommands(client: MongoClient, on: boolean): boolean {
  const c = client as any;
  const previous = Boolean(c.options?.monitorCommands);
  if (c.options && typeof c.options === 'object') c.options.monitorCommands = on;
  else c.monitorCommands = on;
  return previous;
}

/**
 * The driver's own count of handshakes in progress for one server, or undefined when the
 * topology or pool is not reachable. Used only to detect connections the driver destroys
 * without a `connectionClosed` event (a handshake that finishes while the pool is paused).
 */
export function driverPendingConnections(client: MongoClient, address: string): number | undefined {
  try {
    const pool = (client as any).topology?.s?.servers?.get(address)?.pool;
    const pending = pool?.pendingConnectionCount;
    return typeof pending === 'number' ? pending : undefined;
  } catch {
    return undefined;
  }
}

/** `host:port` list and default database from the parsed client options, for a default pool name. */
export function describeClient(client: MongoClient): string {
  const options = (client as any).options ?? {};
  const hosts: unknown[] = Array.isArray(options.hosts) ? options.hosts : [];
  const hostList = hosts.map((h) => String(h)).join(',') || 'mongodb';
  const db = typeof options.dbName === 'string' ? options.dbName : 'test';
  return `${hostList}/${db}`;
}
