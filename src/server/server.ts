import net from 'node:net';
import os from 'node:os';
import { once } from 'node:events';
import type { Document } from 'bson';
import { ServerCore, DEFAULT_CORE_OPTIONS, type CoreOptions } from './core.js';
import { CommandRegistry } from './commands/registry.js';
import { Connection } from './connection/connection.js';
import { MAX_MESSAGE_SIZE } from './wire/constants.js';
import type { FailCommandSpec } from './faults/failpoint.js';
import { createRandom } from '../util/random.js';
import { PoolConfigError } from '../errors.js';
import { insecureBindWarning, type FeatureOptions } from './features.js';
import { createTransportServer, transportOptions, type ServerTlsOptions, type TransportOptions } from './tls.js';
import { LoadModel } from './faults/load-model.js';
import { installLoadModel } from './faults/load-stage.js';
import { Authenticator } from './auth/authenticator.js';
import { installAuth } from './auth/install.js';
import type { CommandTable } from './commands/types.js';

export interface ServerOptions extends Partial<Omit<CoreOptions, 'host' | 'port' | 'maxMessageSizeBytes'>>, Omit<FeatureOptions, 'tls'> {
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  /**
   * Host name clients use to reach this server: in `uri` and, for a replica set member, in hello's
   * `hosts`/`me`/`primary` (which the driver dials). Default: `host`, or `os.hostname()` when
   * `host` is a wildcard address (0.0.0.0, ::), which no client can dial.
   */
  advertiseHost?: string;
  /** Seed for every random choice of this server (fail point probabilities, latency distributions). */
  seed?: number | string;
  /** Largest message accepted and announced in hello (default 48,000,000 bytes, as mongod). */
  maxMessageSizeBytes?: number;
  /** A slow reader's socket is not read while more than this many reply bytes are queued (default 16 MiB). */
  maxPendingWriteBytes?: number;
  /**
   * Extra or replacement command handlers (advanced): `{ myCommand: { handler: (ctx) => ({ ok: 1 }) } }`.
   * Handlers receive the parsed command and return a reply document (see src/server/commands/types.ts).
   */
  commands?: CommandTable;
  tls?: ServerTlsOptions;
}

export interface EmbeddedServer {
  /** Connection string for the driver, e.g. `mongodb://127.0.0.1:40123/`. */
  readonly uri: string;
  /** The interface bound (`host` option). */
  readonly host: string;
  readonly port: number;
  /** The server's state: data, counters, fail points (advanced use and tests). */
  readonly core: ServerCore;
  /** Latency/capacity model: `loadModel.set({ latencyMS, maxConcurrentOps })` at run time, `loadModel.stats` for counters. */
  readonly loadModel: LoadModel;
  /**
   * Stops listening and closes every connection. Operations still queued or in their service time
   * are abandoned with InterruptedAtShutdown (11600) and never run. Idempotent.
   */
  stop(): Promise<void>;
  /**
   * Drops every connection (interrupting their operations as `stop` does) and stops listening for
   * `downtimeMS`, then listens again on the same port; data is kept.
   */
  restart(options?: { downtimeMS?: number }): Promise<void>;
  /** Same as `configureFailPoint: 'failCommand'` with `{ mode, data }`. Returns the previous fail count. */
  failCommand(spec: FailCommandSpec | { mode: 'off' }): number;
  [Symbol.asyncDispose](): Promise<void>;
}

/** What startReplicaSet needs beyond the public options. */
export interface InternalServerOptions {
  /** Emit the insecure-bind process warning (a replica set emits it once for all its members). */
  emitInsecureBindWarning?: boolean;
}

let nextConnectionId = 1;

/**
 * Starts an in-memory MongoDB-wire-compatible server. Many may run in one process; each owns its data.
 */
export function startServer(options: ServerOptions = {}): Promise<EmbeddedServer> {
  return startServerInternal(options);
}

export async function startServerInternal(options: ServerOptions, internal: InternalServerOptions = {}): Promise<EmbeddedServer> {
  const host = options.host ?? '127.0.0.1';
  const { commands: _commands, seed: _seed, maxMessageSizeBytes: _mms, maxPendingWriteBytes: _mpw, advertiseHost: _adv, ...withFeatures } = options;
  const { latencyMS: _lat, maxConcurrentOps: _mco, handshakeDelayMS: _hd, auth: _auth, tls: _tls, ...rest } = withFeatures;
  const coreOptions: CoreOptions = {
    ...DEFAULT_CORE_OPTIONS,
    ...stripUndefined(rest),
    host,
    port: options.port ?? 0,
    maxMessageSizeBytes: options.maxMessageSizeBytes ?? MAX_MESSAGE_SIZE,
  };
  validateServerOptions(coreOptions, options);
  const advertised = advertisedHostOf(host, options.advertiseHost);
  const transport = transportOptions(options.tls); // validated before binding
  const core = new ServerCore(coreOptions);
  if (options.seed !== undefined) core.failPoints.setRandom(createRandom(options.seed));
  const loadModel = new LoadModel({
    latencyMS: options.latencyMS,
    maxConcurrentOps: options.maxConcurrentOps,
    handshakeDelayMS: options.handshakeDelayMS,
    seed: options.seed,
  });
  installLoadModel(core, loadModel);
  if (options.auth !== undefined) installAuth(core, new Authenticator(options.auth));
  const registry = new CommandRegistry(options.commands ? [options.commands] : []);
  const listener = new Listener(core, registry, {
    maxMessageSize: coreOptions.maxMessageSizeBytes,
    maxPendingWriteBytes: options.maxPendingWriteBytes ?? 16 * 1024 * 1024,
    transport,
  });
  const port = await listener.listen(coreOptions.port, host);
  coreOptions.port = port;
  // Only now that the address is really bound: warn about it (once per replica set, see startReplicaSet).
  const warning = insecureBindWarning(host, options.auth !== undefined, options.tls !== undefined);
  if (warning) {
    core.log.warnAtStartup(warning);
    if (internal.emitInsecureBindWarning !== false) process.emitWarning(warning, { code: 'POOLKIT_INSECURE_BIND' });
  }
  const hostForUri = advertised.includes(':') ? `[${advertised}]` : advertised;
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
      core.interruptAll();
      await listener.close();
      core.cursors.close();
    },
    async restart({ downtimeMS = 0 } = {}) {
      if (stopped) throw new Error('cannot restart a stopped server');
      core.interruptAll();
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

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]', '::0', '0:0:0:0:0:0:0:0']);

/** The host clients dial: `advertiseHost`, else the bound host unless it is a wildcard address (then os.hostname()). */
export function advertisedHostOf(host: string, advertiseHost: string | undefined): string {
  if (advertiseHost !== undefined) {
    if (typeof advertiseHost !== 'string' || advertiseHost === '' || /[/\s,?@]/.test(advertiseHost)) {
      throw new PoolConfigError('advertiseHost', advertiseHost, 'must be a host name or IP address');
    }
    return advertiseHost.replace(/^\[(.*)\]$/, '$1');
  }
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  return WILDCARD_HOSTS.has(host) || WILDCARD_HOSTS.has(bare) ? os.hostname() : bare;
}

/** The TCP side: accepts sockets, applies the connection limit, tracks and closes connections. */
class Listener {
  readonly #core: ServerCore;
  readonly #registry: CommandRegistry;
  readonly #options: { maxMessageSize: number; maxPendingWriteBytes: number; transport?: TransportOptions };
  readonly #sockets = new Set<net.Socket>();
  #server: net.Server | null = null;

  constructor(core: ServerCore, registry: CommandRegistry, options: { maxMessageSize: number; maxPendingWriteBytes: number; transport?: TransportOptions }) {
    this.#core = core;
    this.#registry = registry;
    this.#options = options;
  }

  async listen(port: number, host: string): Promise<number> {
    const server = createTransportServer(this.#options.transport, (socket) => this.#accept(socket));
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
      // The client is gone: its queued or in-service operation gives up its place (ClientDisconnect).
      core.interrupt(connection.state);
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
