import type { MongoClient } from 'mongodb';

export const CMAP_EVENTS = [
  'connectionPoolCreated',
  'connectionPoolReady',
  'connectionPoolCleared',
  'connectionPoolClosed',
  'connectionCreated',
  'connectionReady',
  'connectionClosed',
  'connectionCheckOutStarted',
  'connectionCheckOutFailed',
  'connectionCheckedOut',
  'connectionCheckedIn',
] as const;

/**
 * An independent count of the driver's own pool events (the test oracle): plain counters per
 * event name and per reason, written without any of the monitor's code.
 */
export class EventTally {
  readonly counts: Record<string, number> = {};
  readonly closedByReason: Record<string, number> = {};
  readonly failedByReason: Record<string, number> = {};
  readonly #client: MongoClient;
  readonly #listeners: Array<[string, (e: any) => void]> = [];

  constructor(client: MongoClient) {
    this.#client = client;
    for (const name of CMAP_EVENTS) {
      const fn = (e: any) => {
        this.counts[name] = (this.counts[name] ?? 0) + 1;
        if (name === 'connectionClosed') this.closedByReason[e.reason] = (this.closedByReason[e.reason] ?? 0) + 1;
        if (name === 'connectionCheckOutFailed') this.failedByReason[e.reason] = (this.failedByReason[e.reason] ?? 0) + 1;
      };
      client.on(name as any, fn);
      this.#listeners.push([name, fn]);
    }
  }

  n(name: (typeof CMAP_EVENTS)[number]): number {
    return this.counts[name] ?? 0;
  }

  stop(): void {
    for (const [name, fn] of this.#listeners) this.#client.off(name as any, fn);
  }
}

/** Listener counts of every event a monitor may subscribe to. */
export function listenerCounts(client: MongoClient): Record<string, number> {
  const names = [...CMAP_EVENTS, 'serverDescriptionChanged', 'commandStarted', 'commandSucceeded', 'commandFailed'];
  return Object.fromEntries(names.map((name) => [name, client.listenerCount(name as any)]));
}
