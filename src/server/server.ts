import type net from 'node:net';
import { once } from 'node:events';
import type { Document } from 'bson';
import { ServerCore, DEFAULT_CORE_OPTIONS, type CoreOptions } from './core.js';
import { CommandRegistry } from './commands/registry.js';
import { Connection } from './connection/connection.js';
import { MAX_MESSAGE_SIZE } from './wire/constants.js';
import type { FailCommandSpec } from './faults/failpoint.js';
import { createRandom } from '../util/random.js';
import { PoolConfigError } from '../errors.js';
import { applyServerFeatures, type FeatureOptions } from './features.js';
import { createTransportServer, secureContextOptions, type ServerTlsOptions } from './tls.js';
import type { LoadModel } from './faults/load-model.js';
import type { CommandTable } from './commands/types.js';

export interface ServerOptions extends Partial<Omit<CoreOptions, 'host' | 'port'>>, FeatureOptions {
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  /** Seed for every random choice of this server (fail point probabilities, latency distributions). */
  seed?: number | string;
  /** Largest message accepted (default 48,000,000 bytes, as mongod). */
  maxMessageSizeBytes?: number;
  /** A slow reader's socket is not read while more than this many reply bytes are queued (default 16 MiB). */
  maxPendingWriteBytes?: number;
  /**
   * Extra or replacement command handlers (advanced): `{ myCommand: { handler: (ctx) => ({ ok: 1 }) } }`.
   * Handlers receive the parsed command and return a reply document (see src/server/commands/types.ts).
   */
  commands?: CommandTable;
}

export interface EmbeddedServer {
  /** Connection string for the driver, e.g. `mongodb://127.0.0.1:40123/`. */
  readonly uri: string;
  readonly host: string;
  readonly port: number;
  /** The server's state: data, counters, fail points (advanced use and tests). */
  readonly core: ServerCore;
  /** Latency/capacity model: `loadModel.set({ latencyMS, maxConcurrentOps })` at run time, `loadModel.stats` for counters. */
  readonly loadModel: LoadModel;
  /** Stops listening and closes every connection. Idempotent. */
  stop(): Promise<void>;
  /** Drops every connection and stops listening for `downtimeMS`, then listens again on the same port; data is kept. */
  restart(options?: { downtimeMS?: number }): Promise<void>;
  /** Same as `configureFailPoint: 'failCommand'` with `{ mode, data }`. Returns the previous fail count. */
  failCommand(spec: FailCommandSpec | { mode: 'off' }): number;
  [Symbol.asyncDispose](): Promise<void>;
}

let nextConnectionId = 1;

/**
 * Starts an in-memory MongoDB-wire-compatible server. Many may run in one process; each owns its data.
 */
export async function startServer(options: ServerOptions = {}): Promise<EmbeddedServer> {
  const host = options.host ?? '127.0.0.1';
  const { commands: _commands, seed: _seed, maxMessageSizeBytes: _mms, maxPendingWriteBytes: _mpw, ...withFeatures } = options;
  const { latencyMS: _lat, maxConcurrentOps: _mco, handshakeDelayMS: _hd, auth: _auth, tls: _tls, ...rest } = withFeatures;
  const coreOptions: CoreOptions = { ...DEFAULT_CORE_OPTIONS, ...stripUndefined(rest), host, port: options.port ?? 0 };
  validateServerOptions(coreOptions, options);
  const core = new ServerCore(coreOptions);
  if (options.seed !== undefined) core.failPoints.setRandom(createRandom(options.seed));
  if (options.tls !== undefined) secureContextOptions(options.tls); // validate before binding
  const { loadModel } = applyServerFeatures(core, options, host);
  const registry = new CommandRegistry(options.commands ? [options.commands] : []);
  const listener = new Listener(core, registry, {
    maxMessageSize: options.maxMessageSizeBytes ?? MAX_MESSAGE_SIZE,
    maxPendingWriteBytes: options.maxPendingWriteBytes ?? 16 * 1024 * 1024,
    tls: options.tls,
  });
  const port = await listener.listen(coreOptions.port, host);
  coreOptions.port = port;
  const hostForUri = host.includes(':') ? `[${host}]` : host;
  core.address = `${hostForUri}:${port}`;
  let stopped = false;

  const handle: EmbeddedServer = {
    uri: `mongodb://${hostForUri}:${port}/${options.tls ? '?tls=true' : ''}`,
    host,
    port,
    core,
    loadModel,
    async stop() {
      if (stopped) return;
      stopped = true;
      await listener.close();
      core.cursors.close();
    },
    async restart({ downtimeMS = 0 } = {}) {
      if (stopped) throw new Error('cannot restart a stopped server');
      await listener.close();
      if (downtimeMS > 0) await new Promise((resolve) => setTimeout(resolve, downtimeMS));
      await listener.listen(port, host);
    },
    failCommand(spec) {
      return core.failPoints.configure('failCommand', spec.mode, (spec as FailCommandSpec).data);
    },
    [Symbol.asyncDispose]() {
      return handle.stop();
    },
  };
  return handle;
}

/** The TCP side: accepts sockets, applies the connection limit, tracks and closes connections. */
class Listener {
  readonly #core: ServerCore;
  readonly #registry: CommandRegistry;
  readonly #options: { maxMessageSize: number; maxPendingWriteBytes: number; tls?: ServerTlsOptions };
  readonly #sockets = new Set<net.Socket>();
  #server: net.Server | null = null;

  constructor(core: ServerCore, registry: CommandRegistry, options: { maxMessageSize: number; maxPendingWriteBytes: number; tls?: ServerTlsOptions }) {
    this.#core = core;
    this.#registry = registry;
    this.#options = options;
  }

  async listen(port: number, host: string): Promise<number> {
    const server = createTransportServer(this.#options.tls, (socket) => this.#accept(socket));
    server.on('error', () => {
      /* listen errors are reported by the once('error') below; later ones are per-socket */
    });
    this.#server = server;
    server.listen({ port, host, exclusive: true });
    await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err))]);
    return (server.address() as net.AddressInfo).port;
  }

  #accept(socket: net.Socket): void {
    const core = this.#core;
    if (core.connections.size >= core.options.maxIncomingConnections) {
      core.stats.connections.rejected++;
      socket.destroy();
      return;
    }
    core.stats.connections.totalCreated++;
    const connection = new Connection(nextConnectionId++, socket, core, this.#registry, this.#options);
    core.connections.add(connection.state);
    this.#sockets.add(socket);
    socket.once('close', () => {
      core.connections.delete(connection.state);
      this.#sockets.delete(socket);
    });
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    for (const socket of this.#sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Document)[k] = v;
  return out;
}

function validateServerOptions(o: CoreOptions, raw: ServerOptions): void {
  const intIn = (name: string, v: unknown, min: number, max: number) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw new PoolConfigError(name, v, `must be an integer from ${min} to ${max}`);
    }
  };
  intIn('port', o.port, 0, 65535);
  if (typeof o.host !== 'string' || o.host.length === 0) throw new PoolConfigError('host', o.host, 'must be a non-empty string');
  intIn('maxCursors', o.maxCursors, 1, 10_000_000);
  intIn('cursorTimeoutMS', o.cursorTimeoutMS, 1, 2 ** 31 - 1);
  intIn('maxIncomingConnections', o.maxIncomingConnections, 1, 10_000_000);
  if (o.maxMemoryBytes !== undefined) intIn('maxMemoryBytes', o.maxMemoryBytes, 1, Number.MAX_SAFE_INTEGER);
  if (raw.maxMessageSizeBytes !== undefined) intIn('maxMessageSizeBytes', raw.maxMessageSizeBytes, 1024, 2 ** 31 - 1);
  if (raw.maxPendingWriteBytes !== undefined) intIn('maxPendingWriteBytes', raw.maxPendingWriteBytes, 1024, 2 ** 31 - 1);
  if (typeof o.testCommands !== 'boolean') throw new PoolConfigError('testCommands', o.testCommands, 'must be a boolean');
}
