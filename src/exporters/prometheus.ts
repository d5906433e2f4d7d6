import { register as defaultRegistry, type Registry } from 'prom-client';
import { PoolConfigError, PoolMonitorError } from '../errors.js';
import { PoolMonitor, type CommandStats } from '../monitor/pool-monitor.js';
import type { ServerPoolState } from '../monitor/server-state.js';
import type { LatencyRecorder } from '../monitor/latency.js';
import { DEFAULT_BUCKETS_SECONDS, checkBuckets } from './buckets.js';

export interface PrometheusOptions {
  /** prom-client registry (default: prom-client's default `register`). */
  registry?: Registry<any>;
  /** Prepended to every metric name, e.g. `myapp_`. */
  prefix?: string;
  /** Histogram bucket bounds in seconds (default 0.1 ms … 10 s). */
  buckets?: readonly number[];
}

export interface PrometheusRegistration {
  /**
   * Stops exporting this monitor; the metrics leave the registry with the last monitor.
   * Idempotent, and only ever undoes its own registration.
   */
  unregister(): void;
}

type Labels = Record<string, string>;
interface Sample {
  metricName?: string;
  labels: Labels;
  value: number;
}

/**
 * Exports a monitor's pools to Prometheus through prom-client. Values are read from the
 * monitor when the registry is scraped (nothing happens per operation), so registering after
 * traffic shows the current values. Several monitors can share one registry: their series
 * differ by the `pool_name` label, and they share one set of histogram buckets.
 * @throws PoolMonitorError if this monitor is already registered on this registry with this prefix.
 * @throws PoolConfigError if `buckets` differ from those of monitors already exported under the same names.
 */
export function registerPrometheus(monitor: PoolMonitor, options: PrometheusOptions = {}): PrometheusRegistration {
  if (!(monitor instanceof PoolMonitor)) throw new PoolMonitorError('registerPrometheus needs a PoolMonitor');
  if (monitor.detached) throw new PoolMonitorError('registerPrometheus: the monitor is detached');
  const registry = options.registry ?? defaultRegistry;
  if (registry === null || typeof registry !== 'object' || typeof (registry as any).registerMetric !== 'function') {
    throw new PoolConfigError('registry', registry, 'must be a prom-client Registry');
  }
  const prefix = options.prefix ?? '';
  if (typeof prefix !== 'string' || (prefix !== '' && !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix))) {
    throw new PoolConfigError('prefix', prefix, 'must be a valid Prometheus metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)');
  }
  const buckets = checkBuckets(options.buckets ?? DEFAULT_BUCKETS_SECONDS, 'buckets');
  if (typeof buckets === 'string') throw new PoolConfigError('buckets', options.buckets, buckets.replace(/^buckets /, ''));

  const exporter = exporterFor(registry, prefix, buckets);
  if (exporter.has(monitor)) {
    throw new PoolMonitorError(
      `registerPrometheus: monitor ${JSON.stringify(monitor.name)} is already registered on this registry` +
        `${prefix === '' ? '' : ` with prefix ${JSON.stringify(prefix)}`}; call unregister() on the first registration before registering it again`,
    );
  }
  if (!sameBuckets(exporter.buckets, buckets)) {
    throw new PoolConfigError(
      'buckets',
      options.buckets,
      `differ from the buckets [${exporter.buckets.join(', ')}] already used for these metrics on this registry ` +
        `(${exporter.monitorNames().map((n) => JSON.stringify(n)).join(', ')}); use the same buckets, or another prefix or registry`,
    );
  }
  exporter.add(monitor);
  let registered = true;
  const unregister = () => {
    if (!registered) return;
    registered = false;
    monitor.off('detached', unregister);
    exporter.remove(monitor);
  };
  monitor.once('detached', unregister);
  return { unregister };
}

function sameBuckets(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

// One exporter per (registry, prefix): metric names are unique per registry, monitors are many.
const exporters = new WeakMap<object, Map<string, RegistryExporter>>();

function exporterFor(registry: Registry<any>, prefix: string, buckets: readonly number[]): RegistryExporter {
  let byPrefix = exporters.get(registry);
  if (!byPrefix) {
    byPrefix = new Map();
    exporters.set(registry, byPrefix);
  }
  let exporter = byPrefix.get(prefix);
  if (!exporter) {
    exporter = new RegistryExporter(registry, prefix, buckets, () => byPrefix.delete(prefix));
    byPrefix.set(prefix, exporter);
  }
  return exporter;
}

class RegistryExporter {
  readonly buckets: readonly number[];
  readonly #registry: Registry<any>;
  readonly #monitors = new Set<PoolMonitor>();
  readonly #metrics: CollectedMetric[];
  readonly #onEmpty: () => void;

  constructor(registry: Registry<any>, prefix: string, buckets: readonly number[], onEmpty: () => void) {
    this.buckets = [...buckets];
    this.#registry = registry;
    this.#onEmpty = onEmpty;
    const monitors = () => this.#monitors;
    this.#metrics = defineMetrics(prefix, buckets, monitors);
  }

  has(monitor: PoolMonitor): boolean {
    return this.#monitors.has(monitor);
  }

  monitorNames(): string[] {
    return [...this.#monitors].map((m) => m.name);
  }

  add(monitor: PoolMonitor): void {
    if (this.#monitors.size === 0) {
      for (const metric of this.#metrics) this.#registry.registerMetric(metric as any);
    }
    this.#monitors.add(monitor);
  }

  remove(monitor: PoolMonitor): void {
    if (!this.#monitors.delete(monitor) || this.#monitors.size > 0) return;
    for (const metric of this.#metrics) {
      if (this.#registry.getSingleMetric(metric.name) === (metric as any)) this.#registry.removeSingleMetric(metric.name);
    }
    this.#onEmpty();
  }
}

/**
 * A metric in prom-client's registry interface whose values are computed at scrape time.
 * (prom-client's own classes accumulate observations; these only read the monitor.)
 */
class CollectedMetric {
  name: string;
  readonly help: string;
  readonly type: 'gauge' | 'counter' | 'histogram';
  readonly aggregator = 'sum';
  readonly #collect: () => Sample[];

  constructor(name: string, help: string, type: 'gauge' | 'counter' | 'histogram', collect: () => Sample[]) {
    this.name = name;
    this.help = help;
    this.type = type;
    this.#collect = collect;
  }

  async get() {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.#collect() };
  }

  reset(): void {
    // Values belong to the monitor (cumulative since attach); nothing to reset here.
  }
}

function defineMetrics(prefix: string, buckets: readonly number[], monitors: () => Set<PoolMonitor>): CollectedMetric[] {
  const perServer = (read: (state: ServerPoolState, base: Labels, out: Sample[]) => void) => () => {
    const out: Sample[] = [];
    for (const monitor of monitors()) {
      for (const [address, state] of monitor.serverStates()) {
        read(state, { pool_name: monitor.name, server_address: address }, out);
      }
    }
    return out;
  };
  const gauge = (name: string, help: string, value: (s: ServerPoolState) => number) =>
    new CollectedMetric(prefix + name, help, 'gauge', perServer((s, labels, out) => out.push({ labels, value: value(s) })));
  const counter = (name: string, help: string, value: (s: ServerPoolState) => number) =>
    new CollectedMetric(prefix + name, help, 'counter', perServer((s, labels, out) => out.push({ labels, value: value(s) })));
  const byReason = (name: string, help: string, counts: (s: ServerPoolState) => Record<string, number>) =>
    new CollectedMetric(
      prefix + name,
      help,
      'counter',
      perServer((s, labels, out) => {
        for (const [reason, value] of Object.entries(counts(s))) out.push({ labels: { ...labels, reason }, value });
      }),
    );
  const histogram = (name: string, help: string, recorder: (s: ServerPoolState) => LatencyRecorder) => {
    const fullName = prefix + name;
    return new CollectedMetric(
      fullName,
      help,
      'histogram',
      perServer((s, labels, out) => histogramSamples(fullName, recorder(s), labels, buckets, out)),
    );
  };

  const metrics = [
    new CollectedMetric(
      `${prefix}db_client_connection_count`,
      'Connections in the pool by state: idle (available) or used (checked out)',
      'gauge',
      perServer((s, labels, out) => {
        out.push({ labels: { ...labels, state: 'idle' }, value: s.idle });
        out.push({ labels: { ...labels, state: 'used' }, value: s.inUse });
      }),
    ),
    gauge('db_client_connection_pending_requests', 'Operations waiting for a connection', (s) => s.pending),
    gauge('db_client_connection_max', 'maxPoolSize: most connections the pool may open (0 = unlimited)', (s) => s.maxPoolSize),
    gauge('db_client_connection_idle_min', 'minPoolSize: connections the pool keeps open even when idle', (s) => s.minPoolSize),
    gauge('db_client_connection_opening', 'Connections being established (handshake in progress)', (s) => s.opening.size),
    counter('db_client_connection_timeouts_total', 'Check-outs that timed out waiting for a connection', (s) => s.checkoutFailed.timeout),
    counter('db_client_connection_created_total', 'Connections created since the monitor attached', (s) => s.created),
    byReason('db_client_connection_closed_total', 'Connections closed since the monitor attached, by reason', (s) => ({ ...s.closed })),
    byReason('db_client_connection_checkout_failures_total', 'Failed check-outs since the monitor attached, by reason', (s) => ({
      ...s.checkoutFailed,
    })),
    counter('db_client_connection_pool_cleared_total', 'Times the driver cleared the pool', (s) => s.clearedCount),
    histogram('db_client_connection_create_time_seconds', 'Time to establish a connection', (s) => s.createTime),
    histogram('db_client_connection_wait_time_seconds', 'Time operations waited for a connection', (s) => s.waitTime),
    histogram('db_client_connection_use_time_seconds', 'Time connections stayed checked out', (s) => s.useTime),
  ];

  const perCommand = (read: (stats: CommandStats, base: Labels, out: Sample[]) => void) => () => {
    const out: Sample[] = [];
    for (const monitor of monitors()) {
      const commands = monitor.commandStats();
      if (commands === undefined) continue;
      for (const [name, byServer] of commands) {
        for (const [address, stats] of byServer) {
          read(stats, { pool_name: monitor.name, server_address: address, db_operation_name: name }, out);
        }
      }
    }
    return out;
  };
  const durationName = `${prefix}db_client_operation_duration_seconds`;
  metrics.push(
    new CollectedMetric(
      durationName,
      'Duration of database commands (monitors with commands: true)',
      'histogram',
      perCommand((stats, labels, out) => histogramSamples(durationName, stats.duration, labels, buckets, out)),
    ),
    new CollectedMetric(
      `${prefix}db_client_operation_failures_total`,
      'Database commands that failed (monitors with commands: true)',
      'counter',
      perCommand((stats, labels, out) => out.push({ labels, value: stats.failed })),
    ),
  );
  return metrics;
}

function histogramSamples(name: string, recorder: LatencyRecorder, labels: Labels, buckets: readonly number[], out: Sample[]): void {
  for (const { le, count } of recorder.cumulativeBuckets(buckets)) {
    out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: String(le) }, value: count });
  }
  out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: recorder.count });
  out.push({ metricName: `${name}_sum`, labels, value: recorder.sumSeconds });
  out.push({ metricName: `${name}_count`, labels, value: recorder.count });
}
