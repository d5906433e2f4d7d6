import type { MongoClient } from 'mongodb';

type Handler = (event: any) => void;

interface Channel {
  /** Replaced, never mutated, when a handler is added or removed: a dispatch in progress keeps its list. */
  handlers: readonly Handler[];
  dispatch: Handler;
  /** What is registered with the driver: the only handler itself, or `dispatch` for two or more. */
  registered: Handler | undefined;
}

/**
 * The one subscription of mongo-poolkit to a client's events. The in-flight tracker and every
 * PoolMonitor of a client share it: each driver event is heard by a single listener. An
 * EventEmitter with two or more listeners for an event copies its listener array on every emit; on
 * a pool event (three or four per operation) that is garbage the hot path does not need. While an
 * event has one handler, that handler itself is the driver listener (no dispatch in between); with
 * more, one dispatch function calls them in turn. A channel's driver listener is removed with its
 * last handler, so a client with nothing subscribed carries no listener of ours.
 */
export class ClientEvents {
  readonly #client: MongoClient;
  readonly #channels = new Map<string, Channel>();

  constructor(client: MongoClient) {
    this.#client = client;
  }

  on(event: string, handler: Handler): void {
    let channel = this.#channels.get(event);
    if (channel === undefined) {
      const created: Channel = {
        handlers: [],
        dispatch: (payload) => {
          const handlers = created.handlers;
          for (let i = 0; i < handlers.length; i++) handlers[i](payload);
        },
        registered: undefined,
      };
      channel = created;
      this.#channels.set(event, channel);
    }
    channel.handlers = [...channel.handlers, handler];
    this.#register(event, channel);
  }

  off(event: string, handler: Handler): void {
    const channel = this.#channels.get(event);
    if (channel === undefined) return;
    const index = channel.handlers.indexOf(handler);
    if (index === -1) return;
    channel.handlers = channel.handlers.filter((_, i) => i !== index);
    this.#register(event, channel);
    if (channel.handlers.length === 0) this.#channels.delete(event);
  }

  /** Registers with the driver what the channel's handlers now need (nothing, the one handler, or dispatch). */
  #register(event: string, channel: Channel): void {
    const { handlers } = channel;
    const wanted = handlers.length === 0 ? undefined : handlers.length === 1 ? handlers[0] : channel.dispatch;
    if (wanted === channel.registered) return;
    // Swapped synchronously: no event can arrive between the two calls.
    if (channel.registered !== undefined) this.#client.off(event as any, channel.registered);
    if (wanted !== undefined) this.#client.on(event as any, wanted);
    channel.registered = wanted;
  }
}

const hubs = new WeakMap<MongoClient, ClientEvents>();

/** The client's event hub (created on first use). */
export function clientEvents(client: MongoClient): ClientEvents {
  let hub = hubs.get(client);
  if (hub === undefined) {
    hub = new ClientEvents(client);
    hubs.set(client, hub);
  }
  return hub;
}
