import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { MongoClient } from 'mongodb';
import { PoolMonitorError } from '../errors.js';
import { redactText } from '../util/redact.js';
import { holdInflightTracker, releaseInflightTracker, type InflightTracker } from '../client/inflight.js';
import { clientEvents } from '../client/client-events.js';
import { resolveMonitorOptions, type PoolMonitorOptions, type ResolvedMonitorOptions } from './options.js';
import { describeClient, driverPendingConnections, hasConnected, setMonitorCommands } from './driver-internals.js';
import { ServerPoolState, type ConnectionRecord } from './server-state.js';
import { LatencyRecorder } from './latency.js';
import { applicationFrames, captureStack } from './stacks.js';
import type {
  CommandSnapshot,
  LeakReport,
  PoolMonitorEvents,
  PoolSnapshot,
  ServerConnections,
} from './types.js';

/** Latency samples for exporters that record per event (OpenTelemetry histograms). */
export type SampleKind = 'waitTime' | 'useTime' | 'createTime';
export interface SampleSink {
  pool(kind: SampleKind, server: string, ms: number): void;
  /**
   * One completed command. `errorType` is set for failed commands (server codeName or error
   * class), `statusCode` when the server returned an error code; `database` when the driver names it.
   */
  command(
    name: string,
    ms: number,
    errorType: string | undefined,
    server: string,
    database: string | undefined,
    statusCode: string | undefined,
  ): void;
}

/** `saturated` is not repeated for a server within this long (the pool may hover at its limit). */
const SATURATION_REPEAT_MS = 1000;
/** Slowest leak-sweep period: leaks are reported at most this late. */
const MAX_SWEEP_MS = 1000;

/** One command name on one server (commands mode). */
export interface CommandStats {
  count: number;
  failed: number;
  duration: LatencyRecorder;
}

const liveNames = new Set<string>();

/**
 * Exact live state of a client's connection pools, from the driver's pool (CMAP) events, plus
 * leak detection and, with `commands: true`, per-command statistics. Attach before the client
 * connects; read with `snapshot()`; export with `mongo-poolkit/prometheus` or `/otel`.
 */
export class PoolMonitor extends EventEmitter<PoolMonitorEvents> {
  readonly name: string;
  readonly client: MongoClient;
  readonly #options: ResolvedMonitorOptions;
  readonly #servers = new Map<string, ServerPoolState>();
  /** command name → server address → statistics (commands mode). */
  readonly #commands: Map<string, Map<string, CommandStats>> | undefined;
  readonly #listeners: Array<[string, (event: any) => void]> = [];
  #lastAddress = '';
  #lastState: ServerPoolState | undefined;
  /** The statistics #commandDone used last, and for which command name and server (commands mode). */
  #lastCommandName: string | undefined;
  #lastCommandAddress: string | undefined;
  #lastCommandStats: CommandStats | undefined;
  /** The state of the client's only server, while it has one (see #state). */
  #onlyState: ServerPoolState | undefined;
  #sweepTimer: NodeJS.Timeout | undefined;
  /** Armed only while check-outs wait (saturationThresholdMS): fires when the oldest crosses the threshold. */
  #waitTimer: NodeJS.Timeout | undefined;
  #reconcileScheduled = false;
  #dispatching = 0;
  #detached = false;
  #previousMonitorCommands: boolean | undefined;
  #sinks: SampleSink[] = [];
  /** The client's in-flight tracker while this monitor's handlers do its counting (see constructor). */
  #tracker: InflightTracker | undefined;

  /**
   * Starts monitoring `client`. Call before `connect()` and before the first operation:
   * pool events emitted earlier are lost and the counts would be wrong.
   * @throws PoolMonitorError if the client already connected (or is connecting).
   * @throws PoolConfigError for an invalid option.
   */
  static attach(client: MongoClient, options?: PoolMonitorOptions): PoolMonitor {
    if (client === null || typeof client !== 'object' || typeof (client as any).on !== 'function') {
      throw new PoolMonitorError('PoolMonitor.attach needs a MongoClient');
    }
    const resolved = resolveMonitorOptions(options);
    if (hasConnected(client)) {
      throw new PoolMonitorError(
        'PoolMonitor.attach: the client is already connected (or connecting); attach before connect() and before ' +
          'the first operation, or pool events already emitted are missed and the counts would be wrong',
      );
    }
    return new PoolMonitor(client, resolved);
  }

  private constructor(client: MongoClient, options: ResolvedMonitorOptions) {
    super();
    this.client = client;
    this.#options = options;
    this.name = uniqueName(options.name, describeClient(client), options.name !== undefined);
    liveNames.add(this.name);
    this.#commands = options.commands ? new Map() : undefined;
    // Graceful shutdown and readiness work with monitored clients. The tracker is held, not owned:
    // detach() removes it only if nothing else (createClient, trackInflight, another monitor) keeps it.
    // This monitor's handlers of the four per-operation events call the tracker's counting, so each
    // of those events runs one handler, not two (unless another monitor already drives it).
    const tracker = holdInflightTracker(client);
    this.#subscribe();
    if (tracker.driveFrom(this)) this.#tracker = tracker;
    if (options.commands) this.#previousMonitorCommands = setMonitorCommands(client, true);
    if (options.leakThresholdMS !== undefined) {
      const period = Math.max(1, Math.min(options.leakThresholdMS / 2, MAX_SWEEP_MS));
      this.#sweepTimer = setInterval(() => this.#sweep(), period);
      this.#sweepTimer.unref();
    }
  }

  get options(): Readonly<ResolvedMonitorOptions> {
    return this.#options;
  }

  get detached(): boolean {
    return this.#detached;
  }

  /**
   * Removes every listener this monitor added to the client (the in-flight tracker's too, unless
   * createClient, trackInflight or another monitor keeps it) and stops its timer. Idempotent.
   */
  detach(): void {
    if (this.#detached) return;
    this.#detached = true;
    this.#tracker?.stopDriving(this);
    this.#tracker = undefined;
    const hub = clientEvents(this.client);
    for (const [event, fn] of this.#listeners) hub.off(event, fn);
    this.#listeners.length = 0;
    releaseInflightTracker(this.client);
    if (this.#sweepTimer) clearInterval(this.#sweepTimer);
    this.#sweepTimer = undefined;
    if (this.#waitTimer) clearTimeout(this.#waitTimer);
    this.#waitTimer = undefined;
    if (this.#previousMonitorCommands !== undefined) setMonitorCommands(this.client, this.#previousMonitorCommands);
    liveNames.delete(this.name);
    this.#sinks = [];
    this.emit('detached');
  }

  /** A plain JSON-serialisable picture of every pool of the client. */
  snapshot(): PoolSnapshot {
    if (this.#dispatching === 0) this.#reconcileAll();
    const servers: PoolSnapshot['servers'] = {};
    for (const [address, state] of this.#servers) servers[address] = state.snapshot();
    const snapshot: PoolSnapshot = { name: this.name, at: new Date().toISOString(), servers, leaks: this.#currentLeaks() };
    if (this.#commands) {
      const commands: Record<string, CommandSnapshot> = {};
      for (const [name, byServer] of this.#commands) {
        let count = 0;
        let failed = 0;
        const recorders: LatencyRecorder[] = [];
        for (const stats of byServer.values()) {
          count += stats.count;
          failed += stats.failed;
          recorders.push(stats.duration);
        }
        const duration = recorders.length === 1 ? recorders[0] : LatencyRecorder.merge(recorders);
        commands[name] = { count, failed, duration: duration.summary() };
      }
      // Keep `leaks` last for readability of printed snapshots.
      const { leaks, ...rest } = snapshot;
      return { ...rest, commands, leaks };
    }
    return snapshot;
  }

  /** The server's own view (`serverStatus.connections`); it also counts the driver's monitoring sockets. */
  async serverConnections(): Promise<ServerConnections> {
    const status = await this.client.db('admin').command({ serverStatus: 1 });
    const connections = status?.connections;
    if (connections === null || typeof connections !== 'object') {
      throw new PoolMonitorError('serverStatus returned no connections section');
    }
    const out: ServerConnections = { current: 0, available: 0, totalCreated: 0 };
    for (const [key, value] of Object.entries(connections)) {
      const n = Number(value);
      if (Number.isFinite(n)) out[key] = n;
    }
    return out;
  }

  /** @internal Exporters that need each latency sample (OpenTelemetry histograms). Returns an unsubscribe. */
  addSampleSink(sink: SampleSink): () => void {
    if (this.#detached) return () => {};
    this.#sinks = [...this.#sinks, sink];
    return () => {
      this.#sinks = this.#sinks.filter((s) => s !== sink);
    };
  }

  /** @internal Per-server states for exporters (read-only use). */
  serverStates(): ReadonlyMap<string, ServerPoolState> {
    return this.#servers;
  }

  /** @internal Per-command, per-server statistics for exporters (read-only use): name → address → stats. */
  commandStats(): ReadonlyMap<string, ReadonlyMap<string, CommandStats>> | undefined {
    return this.#commands;
  }

  // ---- event handling -------------------------------------------------------------------

  /**
   * The server state of an event that belongs to a pool: a connection or command event. While
   * the client has one pool (a standalone, one mongos, directConnection) every such event is
   * that pool's, and its address is not compared: the driver builds a new, unflattened string
   * for each event's address, and comparing it with another string flattens it first (about
   * 20 ns an event in the benchmark's replay). A pool's `connectionPoolCreated` comes before any other
   * event of it, and goes through {@link #stateAt}, which ends this once a second pool exists.
   */
  #state(address: string): ServerPoolState {
    return this.#onlyState ?? this.#stateAt(address);
  }

  /** The state of the server at `address`, created on first sight. */
  #stateAt(address: string): ServerPoolState {
    if (address === this.#lastAddress && this.#lastState !== undefined) return this.#lastState;
    let state = this.#servers.get(address);
    if (state === undefined) {
      state = new ServerPoolState(
        address,
        this.#options.histogram,
        this.#options.captureStacks && !this.#options.commands,
        this.#options.saturationThresholdMS !== undefined,
      );
      this.#servers.set(address, state);
      this.#onlyState = this.#servers.size === 1 ? state : undefined;
    }
    this.#lastAddress = address;
    this.#lastState = state;
    return state;
  }

  /** Through the client's event hub: one driver listener per event, however many monitors. */
  #on(event: string, fn: (event: any) => void): void {
    clientEvents(this.client).on(event, fn);
    this.#listeners.push([event, fn]);
  }

  #subscribe(): void {
    const stacksAtCheckout = this.#options.captureStacks && !this.#options.commands;
    const saturationThreshold = this.#options.saturationThresholdMS;

    this.#on('connectionPoolCreated', (e) => this.#stateAt(e.address).poolCreated(e.options));
    this.#on('connectionPoolReady', (e) => this.#afterEvent(this.#stateAt(e.address)));
    this.#on('connectionPoolCleared', (e) => {
      const state = this.#stateAt(e.address);
      state.poolCleared();
      if (this.listenerCount('cleared') > 0) {
        this.#emitSafely('cleared', {
          pool: this.name,
          server: state.address,
          cause: state.lastCause,
          interruptInUseConnections: e.interruptInUseConnections === true,
          count: state.clearedCount,
        });
      }
    });
    this.#on('connectionPoolClosed', (e) => {
      const state = this.#stateAt(e.address);
      const now = performance.now();
      for (const record of state.poolClosed()) {
        if (record.leaked) this.#emitReleased(state, record, now);
      }
      // Operations still waiting keep waiting (their failures follow): keep watching them.
      if (state.pendingStarts !== undefined && state.pendingStarts.size > 0) this.#armWaitCheck(1);
    });
    this.#on('connectionCreated', (e) => {
      const state = this.#state(e.address);
      state.connectionCreated(e.connectionId, performance.now());
      if (state.needsReconcile) this.#afterEvent(state);
    });
    this.#on('connectionReady', (e) => {
      const state = this.#state(e.address);
      const createMS = state.connectionReady(e.connectionId, performance.now());
      if (createMS !== undefined && this.#sinks.length > 0) {
        for (const sink of this.#sinks) sink.pool('createTime', state.address, createMS);
      }
    });
    this.#on('connectionClosed', (e) => {
      const state = this.#state(e.address);
      state.connectionClosed(e.connectionId, e.reason);
      if (state.needsReconcile) this.#afterEvent(state);
    });
    this.#on('connectionCheckOutStarted', (e) => {
      this.#tracker?.checkOutStarted();
      const state = this.#state(e.address);
      state.checkOutStarted();
      if (stacksAtCheckout) state.pendingStacks!.push(performance.now(), captureStack());
      if (saturationThreshold !== undefined) {
        state.pendingStarts!.push(performance.now());
        if (this.#waitTimer === undefined && !state.saturated) this.#armWaitCheck(saturationThreshold + 1);
      }
    });
    this.#on('connectionCheckedOut', (e) => {
      this.#tracker?.checkedOut();
      const state = this.#state(e.address);
      const now = performance.now();
      const waited: number = e.durationMS ?? 0;
      const record = state.checkedOut(e.connectionId, waited, now);
      state.pendingStarts?.finish(now, e.durationMS, state.pending);
      if (stacksAtCheckout) {
        const stack = state.pendingStacks!.take(now, waited);
        if (record !== undefined) record.stack = stack;
        state.pendingStacks!.trim(state.pending);
      }
      if (this.#sinks.length > 0) for (const sink of this.#sinks) sink.pool('waitTime', state.address, waited);
      if (state.maxPoolSize > 0 && state.inUse >= state.maxPoolSize) this.#saturated(state, 'maxPoolSize', now);
      else if (saturationThreshold !== undefined && waited > saturationThreshold) this.#saturated(state, 'waitTime', now, waited);
      if (state.needsReconcile) this.#afterEvent(state);
    });
    this.#on('connectionCheckOutFailed', (e) => {
      this.#tracker?.checkOutFailed();
      const state = this.#state(e.address);
      const waited: number = e.durationMS ?? 0;
      state.checkOutFailed(e.reason);
      state.pendingStarts?.finish(performance.now(), e.durationMS, state.pending);
      if (stacksAtCheckout) {
        state.pendingStacks!.take(performance.now(), waited);
        state.pendingStacks!.trim(state.pending);
      }
      if (this.listenerCount('checkoutFailed') > 0) {
        const error = e.error instanceof Error ? redactText(`${e.error.name}: ${e.error.message}`) : undefined;
        this.#emitSafely('checkoutFailed', {
          pool: this.name,
          server: state.address,
          reason: e.reason,
          waitedMS: waited,
          ...(error !== undefined ? { error } : {}),
        });
      }
      if (saturationThreshold !== undefined && waited > saturationThreshold) {
        this.#saturated(state, 'waitTime', performance.now(), waited);
      } else if (state.saturated) {
        endSaturationEpisode(state);
      }
      if (state.needsReconcile) this.#afterEvent(state);
    });
    this.#on('connectionCheckedIn', (e) => {
      this.#tracker?.checkedIn();
      const state = this.#state(e.address);
      const now = performance.now();
      const record = state.checkedIn(e.connectionId, now);
      if (record === undefined) return;
      if (this.#sinks.length > 0) for (const sink of this.#sinks) sink.pool('useTime', state.address, now - record.outAt);
      if (record.leaked) this.#emitReleased(state, record, now);
      if (state.saturated) endSaturationEpisode(state);
    });
    // SDAM: the error that makes the driver clear a pool arrives just before the clear.
    this.#on('serverDescriptionChanged', (e) => {
      const error = e.newDescription?.error;
      this.#stateAt(e.address).lastServerError = error ? describeError(error) : null;
    });

    if (this.#options.commands) {
      const captureAtCommand = this.#options.captureStacks;
      this.#on('commandStarted', (e) => {
        const record = this.#state(e.address).connections.get(e.connectionId);
        if (record === undefined || !record.held) return;
        const target = e.command?.[e.commandName];
        record.noteCommand(e.commandName, e.databaseName, typeof target === 'string' ? target : undefined);
        // The command event names its connection and runs in the operation's async context: exact.
        if (captureAtCommand && record.stack === undefined) record.stack = captureStack();
      });
      this.#on('commandSucceeded', (e) => this.#commandDone(e, undefined));
      this.#on('commandFailed', (e) => this.#commandDone(e, e.failure ?? null));
    }
  }

  /** `failure` is undefined for a succeeded command, the error (or null) for a failed one. */
  #commandDone(e: any, failure: unknown): void {
    const name: string = e.commandName;
    const address: string = e.address;
    let stats: CommandStats | undefined;
    if (name === this.#lastCommandName && address === this.#lastCommandAddress) {
      // Most operations repeat the last command on the same server: skip both lookups.
      stats = this.#lastCommandStats!;
    } else {
      let byServer = this.#commands!.get(name);
      if (byServer === undefined) {
        byServer = new Map();
        this.#commands!.set(name, byServer);
      }
      stats = byServer.get(address);
      if (stats === undefined) {
        stats = { count: 0, failed: 0, duration: new LatencyRecorder(this.#options.histogram) };
        byServer.set(address, stats);
      }
      this.#lastCommandName = name;
      this.#lastCommandAddress = address;
      this.#lastCommandStats = stats;
    }
    stats.count++;
    if (failure !== undefined) stats.failed++;
    const ms = typeof e.duration === 'number' ? e.duration : 0;
    stats.duration.recordMS(ms);
    if (this.#sinks.length > 0) {
      const type = failure === undefined ? undefined : errorType(failure);
      const code = failure === undefined ? undefined : statusCode(failure);
      const database = typeof e.databaseName === 'string' ? e.databaseName : undefined;
      for (const sink of this.#sinks) sink.command(name, ms, type, address, database, code);
    }
  }

  #saturated(state: ServerPoolState, reason: 'maxPoolSize' | 'waitTime', now: number, waitedMS?: number): void {
    if (state.saturated) return;
    state.saturated = true;
    if (now - state.lastSaturatedAt < SATURATION_REPEAT_MS) return;
    state.lastSaturatedAt = now;
    if (this.listenerCount('saturated') === 0) return;
    this.#emitSafely('saturated', {
      pool: this.name,
      server: state.address,
      reason,
      inUse: state.inUse,
      pending: state.pending,
      maxPoolSize: state.maxPoolSize,
      ...(waitedMS !== undefined ? { waitedMS } : {}),
    });
  }

  /** Arms the wait check unless it is armed already: one timer per monitor, none while nothing waits. */
  #armWaitCheck(delayMS: number): void {
    if (this.#waitTimer !== undefined || this.#detached) return;
    this.#waitTimer = setTimeout(() => {
      this.#waitTimer = undefined;
      this.#checkWaits();
    }, Math.max(1, delayMS));
    this.#waitTimer.unref();
  }

  /** Reports a server whose oldest waiting check-out is past saturationThresholdMS; re-arms for the next one. */
  #checkWaits(): void {
    const threshold = this.#options.saturationThresholdMS!;
    const now = performance.now();
    let next = Number.POSITIVE_INFINITY;
    for (const state of this.#servers.values()) {
      const oldest = state.pendingStarts?.oldest();
      if (oldest === undefined || state.saturated) continue; // an episode already reported ends when nothing waits
      const waited = now - oldest;
      if (waited > threshold) this.#saturated(state, 'waitTime', now, round(waited));
      else next = Math.min(next, oldest + threshold);
    }
    if (next !== Number.POSITIVE_INFINITY) this.#armWaitCheck(Math.floor(next - now) + 1);
  }

  // ---- leaks ----------------------------------------------------------------------------

  #sweep(): void {
    const threshold = this.#options.leakThresholdMS!;
    const now = performance.now();
    for (const state of this.#servers.values()) {
      for (const record of state.connections.values()) {
        if (record.held && !record.leaked && now - record.outAt >= threshold) {
          record.leaked = true;
          if (this.listenerCount('leak') > 0) this.#emitSafely('leak', this.#leakReport(state, record, now));
        }
      }
    }
    this.#reconcileAll();
  }

  #currentLeaks(): LeakReport[] {
    const leaks: LeakReport[] = [];
    const now = performance.now();
    for (const state of this.#servers.values()) {
      for (const record of state.connections.values()) {
        if (record.held && record.leaked) leaks.push(this.#leakReport(state, record, now));
      }
    }
    return leaks;
  }

  #leakReport(state: ServerPoolState, record: ConnectionRecord, now: number): LeakReport {
    const heldMS = round(now - record.outAt);
    const report: LeakReport = {
      pool: this.name,
      server: state.address,
      connectionId: record.id,
      heldMS,
      checkedOutAt: new Date(Date.now() - heldMS).toISOString(),
    };
    if (this.#options.commands) report.commands = record.commands();
    if (this.#options.captureStacks) {
      const stack = applicationFrames(record.stack);
      if (stack !== undefined) report.stack = stack;
    }
    return report;
  }

  #emitReleased(state: ServerPoolState, record: ConnectionRecord, now: number): void {
    record.leaked = false;
    if (this.listenerCount('released') === 0) return;
    this.#emitSafely('released', {
      pool: this.name,
      server: state.address,
      connectionId: record.id,
      heldMS: round(now - record.outAt),
    });
  }

  // ---- plumbing -------------------------------------------------------------------------

  /**
   * Listeners run inside the driver's event dispatch: an exception thrown there would corrupt
   * the pool, so it is re-thrown outside the driver (it still surfaces as uncaught).
   */
  #emitSafely<K extends keyof PoolMonitorEvents>(event: K, ...args: PoolMonitorEvents[K]): void {
    this.#dispatching++;
    try {
      (this.emit as any)(event, ...args);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    } finally {
      this.#dispatching--;
    }
  }

  /** Reconciles after the driver's current event sequence has finished. */
  #afterEvent(state: ServerPoolState): void {
    if (!state.needsReconcile || this.#reconcileScheduled) return;
    this.#reconcileScheduled = true;
    setImmediate(() => {
      this.#reconcileScheduled = false;
      this.#reconcileAll();
    }).unref();
  }

  #reconcileAll(): void {
    if (this.#detached) return;
    for (const state of this.#servers.values()) {
      if (state.needsReconcile) state.reconcile(driverPendingConnections(this.client, state.address));
    }
  }
}

/** A saturation episode ends when nothing waits and a connection is free. */
function endSaturationEpisode(state: ServerPoolState): void {
  if (state.pending === 0 && (state.maxPoolSize === 0 || state.inUse < state.maxPoolSize)) state.saturated = false;
}

function uniqueName(requested: string | undefined, fallback: string, explicit: boolean): string {
  const base = requested ?? fallback;
  if (!liveNames.has(base)) return base;
  if (explicit) {
    throw new PoolMonitorError(
      `PoolMonitor.attach: another attached monitor is already named ${JSON.stringify(base)}; pass a unique name option`,
    );
  }
  for (let n = 2; ; n++) {
    const candidate = `${base}#${n}`;
    if (!liveNames.has(candidate)) return candidate;
  }
}

function describeError(error: unknown): string {
  if (error instanceof Error) return redactText(`${error.name}: ${error.message}`);
  return redactText(String(error));
}

/** A server error code as a string (semconv `db.response.status_code`), when there is one. */
function statusCode(failure: any): string | undefined {
  const code = failure?.code;
  return typeof code === 'number' || (typeof code === 'string' && code !== '') ? String(code) : undefined;
}

function errorType(failure: any): string {
  if (typeof failure?.codeName === 'string' && failure.codeName !== '') return failure.codeName;
  if (typeof failure?.name === 'string' && failure.name !== '') return failure.name;
  return '_OTHER';
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
