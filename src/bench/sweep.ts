import { MongoClient, type ConnectionCheckedOutEvent, type MongoClientOptions } from 'mongodb';
import { PoolConfigError } from '../errors.js';
import { redactUri } from '../util/redact.js';
import { requireNonNegativeInteger, requirePositive, requirePositiveInteger } from '../sizing/validate.js';
import { runClosedLoop } from './closed-loop.js';
import { LatencyRecorder, type DistributionPoint, type LatencySummary } from './histogram.js';
import { runOpenLoop } from './open-loop.js';
import type { LoadProgress, LoadResult, Operation } from './types.js';
import { createWorkload, type Workload, type WorkloadName } from './workloads.js';

/** One pool configuration to measure; any other client option goes in `clientOptions`. */
export interface PoolConfig {
  maxPoolSize: number;
  minPoolSize?: number;
  maxConnecting?: number;
  waitQueueTimeoutMS?: number;
  /** Name in tables and charts (default: `maxPoolSize/minPoolSize`). */
  label?: string;
}

export type LoadShape =
  | { mode: 'closed'; concurrency: number }
  | { mode: 'open'; rate: number; maxOutstanding?: number };

export interface SweepOptions {
  uri: string;
  configs: readonly PoolConfig[];
  /** A workload name (seeded with `documents` and `seed`) or a ready Workload. */
  workload: WorkloadName | Workload;
  load: LoadShape;
  /** Measured run per config (default 5000 unless `operations` is given). */
  durationMS?: number;
  operations?: number;
  /** Unmeasured load before each run, so the pool has grown and the server is warm (default 500; 0 = none). */
  warmupMS?: number;
  database?: string;
  collection?: string;
  documents?: number;
  seed?: number | string;
  /** Options for every client (timeouts, appName, ...); the config's pool options win. */
  clientOptions?: MongoClientOptions;
  signal?: AbortSignal;
  onProgress?: (progress: SweepProgress) => void;
  /**
   * Awaited after each config's warm-up, just before its measured run: to reset server-side
   * counters, or to restart a simulated server's random service times so every config is measured
   * against the same ones (`server.loadModel.set({ seed })`).
   */
  beforeRun?: (run: { config: PoolConfig & { label: string }; index: number }) => void | Promise<void>;
}

export interface SweepProgress {
  phase: 'setup' | 'warmup' | 'run' | 'done';
  configIndex: number;
  configCount: number;
  label: string;
  /** 0..1 over the whole sweep. */
  fraction: number;
  /** The generator's own progress during warmup and run. */
  run?: LoadProgress;
}

export interface PoolWaitSummary extends LatencySummary {
  /** Check-outs measured (one per operation, plus the driver's internal ones). */
  count: number;
  distribution: DistributionPoint[];
}

export interface SweepRun {
  label: string;
  config: PoolConfig;
  result: LoadResult;
  /** Time operations waited for a connection (CMAP `connectionCheckedOut.durationMS`, whole ms in the driver). */
  poolWait: PoolWaitSummary;
  /** Connections opened during the measured run (after warm-up these mean churn). */
  connectionsCreated: number;
  /** Check-outs that failed (wait-queue timeout, pool cleared, ...). */
  checkoutFailures: number;
}

export interface SweepResult {
  workload: { name: WorkloadName; description: string; documents: number };
  load: LoadShape;
  durationMS?: number;
  operations?: number;
  warmupMS: number;
  /** The server, password redacted. */
  target: string;
  startedAt: string;
  /** True when the signal stopped the sweep: the last run may be partial and later configs missing. */
  aborted: boolean;
  runs: SweepRun[];
}

const DEFAULT_DURATION_MS = 5000;
const DEFAULT_WARMUP_MS = 500;

/**
 * Measures each pool config in turn against the same workload: a fresh client per config,
 * a warm-up, then the measured run with pool wait times taken from the driver's CMAP events.
 */
export async function runSweep(options: SweepOptions): Promise<SweepResult> {
  const configs = readConfigs(options.configs);
  const load = readLoad(options.load);
  const warmupMS = options.warmupMS === undefined ? DEFAULT_WARMUP_MS : requireNonNegativeInteger('warmupMS', options.warmupMS);
  const durationMS = options.durationMS ?? (options.operations === undefined ? DEFAULT_DURATION_MS : undefined);
  const workload =
    typeof options.workload === 'string'
      ? createWorkload(options.workload, { ...(options.documents !== undefined && { documents: options.documents }), ...(options.seed !== undefined && { seed: options.seed }) })
      : options.workload;
  const databaseName = options.database ?? 'poolkit_bench';
  const collectionName = options.collection ?? workload.name;
  const { signal, onProgress } = options;
  const startedAt = new Date().toISOString();

  // Share of each config's time spent warming up, to turn phases into one progress fraction.
  const warmShare = durationMS === undefined ? (warmupMS > 0 ? 0.1 : 0) : warmupMS / (warmupMS + durationMS);
  const report = (phase: SweepProgress['phase'], index: number, phaseFraction: number, run?: LoadProgress) => {
    if (!onProgress) return;
    const within = phase === 'warmup' ? warmShare * phaseFraction : phase === 'run' ? warmShare + (1 - warmShare) * phaseFraction : phase === 'done' ? 1 : 0;
    const label = configs[Math.min(index, configs.length - 1)]?.label ?? '';
    onProgress({ phase, configIndex: index, configCount: configs.length, label, fraction: Math.min(1, (index + within) / configs.length), ...(run && { run }) });
  };

  report('setup', 0, 0);
  const setupClient = new MongoClient(options.uri, options.clientOptions);
  try {
    await workload.setup(setupClient.db(databaseName).collection(collectionName));
  } finally {
    await setupClient.close();
  }

  const runs: SweepRun[] = [];
  for (const [index, config] of configs.entries()) {
    if (signal?.aborted) break;
    runs.push(
      await measureConfig(config, {
        uri: options.uri,
        clientOptions: options.clientOptions,
        bind: (client) => workload.bind(client.db(databaseName).collection(collectionName)),
        load,
        durationMS,
        operations: options.operations,
        warmupMS,
        signal,
        beforeRun: options.beforeRun && (() => options.beforeRun!({ config, index })),
        onWarmup: (p) => report('warmup', index, p.fraction, p),
        onRun: (p) => report('run', index, p.fraction, p),
      }),
    );
  }
  report('done', configs.length, 1);

  return {
    workload: { name: workload.name, description: workload.description, documents: workload.documents },
    load,
    ...(durationMS !== undefined && { durationMS }),
    ...(options.operations !== undefined && { operations: options.operations }),
    warmupMS,
    target: redactUri(options.uri),
    startedAt,
    aborted: Boolean(signal?.aborted),
    runs,
  };
}

interface MeasureContext {
  uri: string;
  clientOptions: MongoClientOptions | undefined;
  bind: (client: MongoClient) => Operation;
  load: LoadShape;
  durationMS: number | undefined;
  operations: number | undefined;
  warmupMS: number;
  signal: AbortSignal | undefined;
  beforeRun: (() => void | Promise<void>) | undefined;
  onWarmup: (progress: LoadProgress) => void;
  onRun: (progress: LoadProgress) => void;
}

async function measureConfig(config: PoolConfig & { label: string }, context: MeasureContext): Promise<SweepRun> {
  const { label, ...poolOptions } = config;
  const client = new MongoClient(context.uri, { ...context.clientOptions, ...poolOptions });
  const poolWait = new LatencyRecorder();
  let recording = false;
  let connectionsCreated = 0;
  let checkoutFailures = 0;
  // Subscribed before connect() so no event of the measured run can be missed.
  client.on('connectionCheckedOut', (event: ConnectionCheckedOutEvent) => {
    if (recording) poolWait.recordMS(event.durationMS);
  });
  client.on('connectionCreated', () => {
    if (recording) connectionsCreated++;
  });
  client.on('connectionCheckOutFailed', () => {
    if (recording) checkoutFailures++;
  });
  try {
    await client.connect();
    const operation = context.bind(client);
    if (context.warmupMS > 0) {
      await generate(context.load, operation, { durationMS: context.warmupMS, signal: context.signal, onProgress: context.onWarmup });
    }
    await context.beforeRun?.();
    recording = true;
    const result = await generate(context.load, operation, {
      durationMS: context.durationMS,
      operations: context.operations,
      signal: context.signal,
      onProgress: context.onRun,
    });
    recording = false;
    return {
      label,
      config,
      result,
      poolWait: { count: poolWait.count, ...poolWait.summary(), distribution: poolWait.distribution() },
      connectionsCreated,
      checkoutFailures,
    };
  } finally {
    await client.close();
  }
}

function generate(
  load: LoadShape,
  operation: Operation,
  run: { durationMS?: number | undefined; operations?: number | undefined; signal: AbortSignal | undefined; onProgress: (p: LoadProgress) => void },
): Promise<LoadResult> {
  const common = {
    operation,
    ...(run.durationMS !== undefined && { durationMS: run.durationMS }),
    ...(run.operations !== undefined && { operations: run.operations }),
    ...(run.signal && { signal: run.signal }),
    onProgress: run.onProgress,
  };
  return load.mode === 'closed'
    ? runClosedLoop({ ...common, concurrency: load.concurrency })
    : runOpenLoop({ ...common, rate: load.rate, ...(load.maxOutstanding !== undefined && { maxOutstanding: load.maxOutstanding }) });
}

function readConfigs(configs: readonly PoolConfig[]): (PoolConfig & { label: string })[] {
  if (!Array.isArray(configs) || configs.length === 0) {
    throw new PoolConfigError('configs', configs, 'must be a non-empty array of pool configs');
  }
  return configs.map((config, i) => {
    const maxPoolSize = requirePositiveInteger(`configs[${i}].maxPoolSize`, config?.maxPoolSize);
    const minPoolSize = config.minPoolSize === undefined ? undefined : requireNonNegativeInteger(`configs[${i}].minPoolSize`, config.minPoolSize);
    if (minPoolSize !== undefined && minPoolSize > maxPoolSize) {
      throw new PoolConfigError(`configs[${i}].minPoolSize`, minPoolSize, `must not exceed maxPoolSize (${maxPoolSize})`);
    }
    if (config.maxConnecting !== undefined) requirePositiveInteger(`configs[${i}].maxConnecting`, config.maxConnecting);
    if (config.waitQueueTimeoutMS !== undefined) requireNonNegativeInteger(`configs[${i}].waitQueueTimeoutMS`, config.waitQueueTimeoutMS);
    return { ...config, label: config.label ?? `${maxPoolSize}/${minPoolSize ?? 0}` };
  });
}

/** Validates a load shape (errors name the field). */
export function readLoad(load: LoadShape): LoadShape {
  if (load?.mode === 'closed') return { mode: 'closed', concurrency: requirePositiveInteger('load.concurrency', load.concurrency) };
  if (load?.mode === 'open') {
    const rate = requirePositive('load.rate', load.rate);
    return load.maxOutstanding === undefined
      ? { mode: 'open', rate }
      : { mode: 'open', rate, maxOutstanding: requirePositiveInteger('load.maxOutstanding', load.maxOutstanding) };
  }
  throw new PoolConfigError('load.mode', (load as { mode?: unknown } | undefined)?.mode, "must be 'closed' or 'open'");
}

/**
 * Pool sizes to verify a recommendation with: a few around `center` (½×, ¾×, −1, ×1, +1, 1¼×,
 * 1½×, 2×), or every size from 1 to `max` when `thorough`. Sorted, unique, within 1..max.
 */
export function poolSizesAround(center: number, options: { thorough?: boolean; max?: number } = {}): number[] {
  const max = options.max ?? 64;
  requirePositiveInteger('center', center);
  requirePositiveInteger('max', max);
  if (options.thorough) return Array.from({ length: max }, (_, i) => i + 1);
  const sizes = [0.5, 0.75, 1, 1.25, 1.5, 2].map((f) => Math.round(center * f)).concat(center - 1, center + 1);
  return [...new Set(sizes)].filter((n) => n >= 1 && n <= max).sort((a, b) => a - b);
}
