import type { Attributes, BatchObservableCallback, Histogram, Meter, Observable } from '@opentelemetry/api';
import { PoolConfigError, PoolMonitorError } from '../errors.js';
import { PoolMonitor, type SampleKind } from '../monitor/pool-monitor.js';
import { DEFAULT_BUCKETS_SECONDS, checkBuckets } from './buckets.js';

export interface OpenTelemetryOptions {
  /** An `@opentelemetry/api` Meter, e.g. `metrics.getMeter('my-service')`. */
  meter: Meter;
  /** Bucket advice for the duration histograms, in seconds (default 0.1 ms … 10 s). */
  buckets?: readonly number[];
  /**
   * Also put `db.client.connection.pool.name` on `db.client.operation.duration` (default false).
   * The convention defines that attribute for connection metrics only; opt in to tell apart
   * clients in one process that run the same commands on the same server and database.
   */
  operationPoolName?: boolean;
}

export interface OpenTelemetryRegistration {
  /** Stops observing this monitor (the instruments stay in the meter, without data from it). */
  unregister(): void;
}

/**
 * Reports a monitor's pools with the OpenTelemetry database-client connection conventions.
 * Gauges and counters are observable (read from the monitor at collection time); the three
 * connection-time histograms (and the operation duration, with `commands: true`) are
 * synchronous instruments, because the API has no observable histogram: each sample is
 * recorded from registration on.
 */
export function registerOpenTelemetry(monitor: PoolMonitor, options: OpenTelemetryOptions): OpenTelemetryRegistration {
  if (!(monitor instanceof PoolMonitor)) throw new PoolMonitorError('registerOpenTelemetry needs a PoolMonitor');
  if (monitor.detached) throw new PoolMonitorError('registerOpenTelemetry: the monitor is detached');
  const meter = options?.meter;
  if (meter === null || typeof meter !== 'object' || typeof meter.createObservableUpDownCounter !== 'function') {
    throw new PoolConfigError('meter', meter, 'must be an @opentelemetry/api Meter');
  }
  const buckets = checkBuckets(options.buckets ?? DEFAULT_BUCKETS_SECONDS, 'buckets');
  if (typeof buckets === 'string') throw new PoolConfigError('buckets', options.buckets, buckets.replace(/^buckets /, ''));
  const advice = { explicitBucketBoundaries: [...buckets] };
  const operationPoolName = options.operationPoolName ?? false;
  if (typeof operationPoolName !== 'boolean') throw new PoolConfigError('operationPoolName', operationPoolName, 'must be a boolean');

  const count = meter.createObservableUpDownCounter('db.client.connection.count', {
    description: 'The number of connections that are currently in state described by the state attribute',
    unit: '{connection}',
  });
  const idleMin = meter.createObservableUpDownCounter('db.client.connection.idle.min', {
    description: 'The minimum number of idle open connections allowed (minPoolSize)',
    unit: '{connection}',
  });
  const max = meter.createObservableUpDownCounter('db.client.connection.max', {
    description: 'The maximum number of open connections allowed (maxPoolSize)',
    unit: '{connection}',
  });
  const pendingRequests = meter.createObservableUpDownCounter('db.client.connection.pending_requests', {
    description: 'The number of current pending requests for an open connection',
    unit: '{request}',
  });
  const timeouts = meter.createObservableCounter('db.client.connection.timeouts', {
    description: 'The number of connection timeouts that have occurred trying to obtain a connection from the pool',
    unit: '{timeout}',
  });
  const histograms: Record<SampleKind, Histogram> = {
    createTime: meter.createHistogram('db.client.connection.create_time', {
      description: 'The time it took to create a new connection',
      unit: 's',
      advice,
    }),
    waitTime: meter.createHistogram('db.client.connection.wait_time', {
      description: 'The time it took to obtain an open connection from the pool',
      unit: 's',
      advice,
    }),
    useTime: meter.createHistogram('db.client.connection.use_time', {
      description: 'The time between borrowing a connection and returning it to the pool',
      unit: 's',
      advice,
    }),
  };
  const operationDuration = monitor.options.commands
    ? meter.createHistogram('db.client.operation.duration', { description: 'Duration of database client operations', unit: 's', advice })
    : undefined;

  const attributes = new AttributeCache(monitor.name, operationPoolName);
  const observables: Observable[] = [count, idleMin, max, pendingRequests, timeouts];
  const callback: BatchObservableCallback = (result) => {
    for (const [address, state] of monitor.serverStates()) {
      const attrs = attributes.server(address);
      result.observe(count, state.idle, attributes.withState(address, 'idle'));
      result.observe(count, state.inUse, attributes.withState(address, 'used'));
      result.observe(idleMin, state.minPoolSize, attrs);
      result.observe(max, state.maxPoolSize, attrs);
      result.observe(pendingRequests, state.pending, attrs);
      result.observe(timeouts, state.checkoutFailed.timeout, attrs);
    }
  };
  meter.addBatchObservableCallback(callback, observables);
  const unsubscribe = monitor.addSampleSink({
    pool(kind, server, ms) {
      histograms[kind].record(ms / 1000, attributes.server(server));
    },
    command(name, ms, errorType, server, database, statusCode) {
      operationDuration?.record(ms / 1000, attributes.operation(server, database, name, errorType, statusCode));
    },
  });

  let registered = true;
  const unregister = () => {
    if (!registered) return;
    registered = false;
    meter.removeBatchObservableCallback(callback, observables);
    unsubscribe();
    monitor.off('detached', unregister);
  };
  monitor.once('detached', unregister);
  return { unregister };
}

/** Attribute objects built once per server/state/command, so recording allocates nothing. */
class AttributeCache {
  readonly #pool: string;
  readonly #operationPoolName: boolean;
  readonly #servers = new Map<string, Attributes>();
  readonly #states = new Map<string, Attributes>();
  readonly #operations = new Map<string, Attributes>();

  constructor(pool: string, operationPoolName: boolean) {
    this.#pool = pool;
    this.#operationPoolName = operationPoolName;
  }

  server(address: string): Attributes {
    let attrs = this.#servers.get(address);
    if (attrs === undefined) {
      const { host, port } = splitAddress(address);
      attrs = {
        'db.system.name': 'mongodb',
        'db.client.connection.pool.name': this.#pool,
        'server.address': host,
        ...(port !== undefined ? { 'server.port': port } : {}),
      };
      this.#servers.set(address, attrs);
    }
    return attrs;
  }

  withState(address: string, state: 'idle' | 'used'): Attributes {
    const key = `${state} ${address}`;
    let attrs = this.#states.get(key);
    if (attrs === undefined) {
      attrs = { ...this.server(address), 'db.client.connection.state': state };
      this.#states.set(key, attrs);
    }
    return attrs;
  }

  /**
   * Attributes of `db.client.operation.duration` (stable convention): `db.system.name`,
   * `db.operation.name`, `db.namespace` (the database), `server.address`, `server.port`, and on
   * failure `error.type` and `db.response.status_code` (the server's error code).
   */
  operation(
    address: string,
    database: string | undefined,
    name: string,
    errorType: string | undefined,
    statusCode: string | undefined,
  ): Attributes {
    let key = `${address}\u0000${database ?? ''}\u0000${name}`;
    if (errorType !== undefined) key += `\u0000${errorType}\u0000${statusCode ?? ''}`;
    let attrs = this.#operations.get(key);
    if (attrs === undefined) {
      const { host, port } = splitAddress(address);
      attrs = {
        'db.system.name': 'mongodb',
        'db.operation.name': name,
        ...(database !== undefined ? { 'db.namespace': database } : {}),
        'server.address': host,
        ...(port !== undefined ? { 'server.port': port } : {}),
        ...(errorType !== undefined ? { 'error.type': errorType } : {}),
        ...(statusCode !== undefined ? { 'db.response.status_code': statusCode } : {}),
        ...(this.#operationPoolName ? { 'db.client.connection.pool.name': this.#pool } : {}),
      };
      this.#operations.set(key, attrs);
    }
    return attrs;
  }
}

function splitAddress(address: string): { host: string; port: number | undefined } {
  const match = /^\[?(.*?)\]?:(\d+)$/.exec(address);
  if (!match) return { host: address, port: undefined };
  return { host: match[1], port: Number(match[2]) };
}
