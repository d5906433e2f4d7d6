import type { MongoClient } from 'mongodb';

/**
 * Clients closed by gracefulShutdown. Health checks must not ping them: the driver would quietly
 * reconnect a closed client on its next operation.
 */
const closed = new WeakSet<MongoClient>();

export function markClosedByShutdown(client: MongoClient): void {
  closed.add(client);
}

export function isClosedByShutdown(client: MongoClient): boolean {
  return closed.has(client);
}
