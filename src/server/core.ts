import { ObjectId } from 'bson';
import { Store, CursorManager } from './store/index.js';
import type { Document } from 'bson';
import type { ConnectionState } from './connection/state.js';
import type { CommandContext, Middleware } from './commands/types.js';
import { FailPoints } from './faults/failpoint.js';
import { ServerLog } from './log.js';
import { CommandError } from './errors.js';
import { MAX_MESSAGE_SIZE } from './wire/constants.js';

/** Options of one embedded server process (resolved: every field has a value). */
export interface CoreOptions {
  host: string;
  port: number;
  /** configureFailPoint and other test-only commands exist (default true: this is a test server). */
  testCommands: boolean;
  /** Cap on the bytes of stored documents; writes beyond it fail with ExceededMemoryLimit. */
  maxMemoryBytes: number | undefined;
  /** Cap on open cursors; creating one more fails with a clear error. */
  maxCursors: number;
  /** Idle cursors are reaped after this long (mongod: 10 minutes). */
  cursorTimeoutMS: number;
  /** Connections beyond this are closed at once (serverStatus.connections.available reflects it). */
  maxIncomingConnections: number;
  /** Wire version range announced in hello. */
  minWireVersion: number;
  maxWireVersion: number;
  /** The version string buildInfo reports. */
  version: string;
  /** Largest message accepted, announced in hello (mongod: 48,000,000 bytes). */
  maxMessageSizeBytes: number;
}

export const DEFAULT_CORE_OPTIONS: Omit<CoreOptions, 'host' | 'port'> = {
  testCommands: true,
  maxMemoryBytes: undefined,
  maxCursors: 10_000,
  cursorTimeoutMS: 10 * 60_000,
  maxIncomingConnections: 1_000_000,
  minWireVersion: 0,
  maxWireVersion: 21,
  version: '7.0.0',
  maxMessageSizeBytes: MAX_MESSAGE_SIZE,
};

/**
 * Everything one server instance owns: the data, open cursors, counters, fail points and the
 * live connections. Command handlers receive it as `ctx.server`; it never touches sockets.
 */
export class ServerCore {
  readonly options: CoreOptions;
  readonly store: Store;
  readonly cursors: CursorManager;
  readonly failPoints: FailPoints;
  readonly log = new ServerLog();
  readonly startedAt = Date.now();
  /** Identifies this process (topologyVersion-like uses, serviceId). */
  readonly processId = new ObjectId();
  readonly connections = new Set<ConnectionState>();
  readonly stats = {
    connections: { totalCreated: 0, rejected: 0 },
    opcounters: { insert: 0, query: 0, update: 0, delete: 0, getmore: 0, command: 0 },
    network: { bytesIn: 0, bytesOut: 0, numRequests: 0 },
    /** serverStatus.opLatencies: commands run and their summed time (arrival to reply), by mongod's classes. */
    opLatencies: {
      reads: { ops: 0, latencyMicros: 0 },
      writes: { ops: 0, latencyMicros: 0 },
      commands: { ops: 0, latencyMicros: 0 },
    },
  };
  /** host:port clients dialled (set once listening). */
  address = '';
  /**
   * Pipeline slots, run in this order around every command (see dispatch.ts): auth → topology
   * (replica-set gating, retryable-write dedupe, labels) → failCommand (built in) → loadModel
   * (latency, capacity) → handler.
   */
  readonly middleware: { auth: Middleware | null; topology: Middleware | null; loadModel: Middleware | null } = {
    auth: null,
    topology: null,
    loadModel: null,
  };
  /** Adds fields to every hello/isMaster reply (replica-set state, SASL mechanisms...). May overwrite defaults. */
  readonly helloHooks: Array<(ctx: CommandContext, reply: Document) => void | Promise<void>> = [];
  /** Commands carrying txnNumber are accepted (replica set); a standalone refuses them with code 20. */
  acceptsTxnNumbers = false;

  constructor(options: CoreOptions) {
    this.options = options;
    this.store = new Store({ maxMemoryBytes: options.maxMemoryBytes });
    this.cursors = new CursorManager({ maxCursors: options.maxCursors, idleTimeoutMS: options.cursorTimeoutMS });
    this.failPoints = new FailPoints();
  }

  /**
   * One abort signal per connection, the `signal` of each of its commands: aborted with
   * ClientDisconnect (279) when the client goes away and with InterruptedAtShutdown (11600) when
   * the server stops or restarts, so queued and in-service operations (load model, fail point
   * blocks, handshake delays) are abandoned and never run.
   */
  readonly #interrupts = new WeakMap<ConnectionState, AbortController>();

  signalOf(connection: ConnectionState): AbortSignal {
    let controller = this.#interrupts.get(connection);
    if (!controller) {
      controller = new AbortController();
      this.#interrupts.set(connection, controller);
    }
    return controller.signal;
  }

  /** Interrupts the operations of `connection` (its client disconnected, or `reason`). */
  interrupt(connection: ConnectionState, reason: CommandError = clientDisconnected()): void {
    const signal = this.signalOf(connection);
    if (!signal.aborted) this.#interrupts.get(connection)!.abort(reason);
  }

  /** Interrupts every connection's operations with InterruptedAtShutdown (stop, restart). */
  interruptAll(): void {
    const reason = CommandError.of('InterruptedAtShutdown', 'interrupted at shutdown');
    for (const connection of this.connections) this.interrupt(connection, reason);
  }

  get activeConnections(): number {
    let active = 0;
    for (const c of this.connections) if (c.inflight > 0) active++;
    return active;
  }
}

function clientDisconnected(): CommandError {
  return CommandError.of('ClientDisconnect', 'operation was interrupted because a client disconnected');
}
