import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MongoClient } from 'mongodb';
import type { ServerPoolSnapshot } from '../../src/monitor/index.js';

export const sumClosed = (s: ServerPoolSnapshot): number =>
  s.closed.stale + s.closed.idle + s.closed.error + s.closed.poolClosed;

export const sumFailed = (s: ServerPoolSnapshot): number =>
  s.checkoutFailed.timeout + s.checkoutFailed.connectionError + s.checkoutFailed.poolClosed;

/** Resolves after `count` emissions of `event` (counting from now). */
export async function events(emitter: { on: any; off: any }, event: string, count: number): Promise<any[]> {
  const seen: any[] = [];
  if (count <= 0) return seen;
  return new Promise((resolve) => {
    const fn = (e: any) => {
      seen.push(e);
      if (seen.length >= count) {
        emitter.off(event, fn);
        resolve(seen);
      }
    };
    emitter.on(event, fn);
  });
}

/** For server-side state that emits no event (e.g. a fail point consumed): poll a condition briefly. */
export async function until(condition: () => boolean, timeoutMS = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

/** The driver's own (internal) pool counters: a second oracle for tests only. */
export function driverPool(client: MongoClient, address: string): { total: number; available: number; pending: number; checkedOut: number } {
  const pool = (client as any).topology?.s?.servers?.get(address)?.pool;
  return {
    total: pool.totalConnectionCount,
    available: pool.availableConnectionCount,
    pending: pool.pendingConnectionCount,
    checkedOut: pool.currentCheckedOutCount,
  };
}

export { once };
