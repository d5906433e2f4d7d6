import { monitorEventLoopDelay } from 'node:perf_hooks';
import { MongoClient, type MongoClientOptions } from 'mongodb';
import { PoolMonitor } from '../monitor/pool-monitor.js';
import { LatencyRecorder, type LatencySummary } from '../monitor/latency.js';
import type { ServerPoolSnapshot } from '../monitor/types.js';
import { runClosedLoop } from '../bench/closed-loop.js';
import { runOpenLoop } from '../bench/open-loop.js';
import type { LoadShape } from '../bench/sweep.js';
import type { LoadProgress, LoadResult, Operation } from '../bench/types.js';
import type { Workload } from '../bench/workloads.js';
import { MeasurementError } from '../errors.js';

/** What one measured run of a workload tells about the pool (from a PoolMonitor on its client). */
export interface WorkloadMeasurement {
  load: LoadShape;
  /** maxPoolSize of the measuring client. */
  poolSize: number;
  /** Length of the measured run (after the warm-up), ms. */
  durationMS: number;
  /** Check-outs per second during the run (CMAP `connectionCheckedOut`): the pool's arrival rate λ. */
  arrivalRate: number;
  /** How long operations held a connection (check-out to check-in), ms: the pool's service time W. */
  holdTimeMS: LatencySummary;
  /** Spread of the hold time: p99 / p50 (1 = every operation alike; an exponential gives 6.6). */
  holdTimeSpread: number;
  /** Standard deviation of the hold time, ms: with its count, how precisely the run knows the mean (σ / √n). */
  holdTimeStdDevMS: number;
  /** How long operations waited for a connection, ms. */
  waitTimeMS: LatencySummary;
  /**
   * The server's own mean time per read or write during the run, ms (serverStatus `opLatencies`:
   * from the command's arrival to its reply, queueing for the server's capacity included).
   * Undefined when the server does not report it or the user may not run serverStatus. On a
   * shared server it covers every client's operations.
   */
  serverTimeMS?: number;
  /**
   * How late this process's event loop ran during the run, ms (perf_hooks.monitorEventLoopDelay
   * sampling every 1 ms, less that interval). A stall (garbage collection, other work) delays every
   * operation in flight, so a p99 difference smaller than the stalls is the client's noise, not an
   * effect of the pool.
   */
  eventLoopDelayMS: { p50: number; p99: number; max: number };
  /** Successful operations per second and their end-to-end latency (ms). */
  throughput: number;
  latencyMS: { mean: number; p50: number; p99: number; max: number };
  ops: number;
  errors: number;
  errorSamples: string[];
}

export interface MeasureOptions {
  uri: string;
  workload: Workload;
  database: string;
  collection: string;
  load: LoadShape;
  poolSize: number;
  durationMS: number;
  warmupMS: number;
  clientOptions?: MongoClientOptions;
  signal?: AbortSignal;
  onProgress?: (progress: LoadProgress, phase: 'warmup' | 'run') => void;
}

/** Most warm-up periods before measuring anyway (a pool that keeps opening connections is churning). */
const MAX_WARMUP_ROUNDS = 5;

/**
 * Runs the workload on a fresh client with a PoolMonitor attached: warm-up periods until the
 * pool stops growing (so nothing measured pays for handshakes), then the measured run, whose check-outs and
 * per-check-in hold times are taken from the monitor. Throws MeasurementError if no operation
 * of the run succeeded.
 */
export async function measureWorkload(options: MeasureOptions): Promise<WorkloadMeasurement> {
  const client = new MongoClient(options.uri, { ...options.clientOptions, maxPoolSize: options.poolSize });
  const monitor = PoolMonitor.attach(client);
  try {
    await client.connect();
    const operation = options.workload.bind(client.db(options.database).collection(options.collection));
    // Warm up until the pool stops growing: a run measured while connections are still being
    // opened (two at a time, the driver's maxConnecting) would count their handshakes as waits.
    for (let round = 0; options.warmupMS > 0 && round < MAX_WARMUP_ROUNDS; round++) {
      const createdBefore = totalCreated(monitor.snapshot().servers);
      await generate(options.load, operation, options.warmupMS, options.signal, (p) => options.onProgress?.(p, 'warmup'));
      if (totalCreated(monitor.snapshot().servers) === createdBefore || options.signal?.aborted) break;
    }
    // Only this run's samples: the monitor's own histograms are cumulative since attach.
    const hold = new LatencyRecorder();
    const wait = new LatencyRecorder();
    const checkedOutBefore = totalCheckedOut(monitor.snapshot().servers);
    const serverBefore = await readOpLatencies(client);
    const loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
    loopDelay.enable();
    const removeSink = monitor.addSampleSink({
      pool(kind, _server, ms) {
        if (kind === 'useTime') hold.recordMS(ms);
        else if (kind === 'waitTime') wait.recordMS(ms);
      },
      command() {},
    });
    const result = await generate(options.load, operation, options.durationMS, options.signal, (p) => options.onProgress?.(p, 'run'));
    removeSink();
    loopDelay.disable();
    const serverAfter = serverBefore && (await readOpLatencies(client));
    const checkouts = totalCheckedOut(monitor.snapshot().servers) - checkedOutBefore;
    if (result.ops === result.errors) {
      const why = result.errorSamples.length ? `: ${result.errorSamples.join('; ')}` : ' (no operation completed)';
      throw new MeasurementError(`every operation of the ${options.workload.name} workload failed${why}`);
    }
    const holdTimeMS = hold.summary();
    return {
      load: options.load,
      poolSize: options.poolSize,
      durationMS: result.durationMS,
      arrivalRate: result.durationMS > 0 ? (checkouts * 1000) / result.durationMS : 0,
      holdTimeMS,
      holdTimeSpread: holdTimeMS.p50 > 0 ? holdTimeMS.p99 / holdTimeMS.p50 : 1,
      holdTimeStdDevMS: hold.stdDevMS(),
      waitTimeMS: wait.summary(),
      ...serverTime(serverBefore, serverAfter),
      eventLoopDelayMS: { p50: lateMS(loopDelay.percentile(50)), p99: lateMS(loopDelay.percentile(99)), max: lateMS(loopDelay.max) },
      throughput: result.throughput,
      latencyMS: { mean: result.latency.mean, p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
      ops: result.ops,
      errors: result.errors,
      errorSamples: result.errorSamples,
    };
  } finally {
    monitor.detach();
    await client.close();
  }
}

/**
 * Unmeasured load on a throw-away client: the first seconds of a process run slower (the JIT is
 * still compiling the driver's hot paths, the heap is growing), which would bias the first step.
 */
export async function warmUp(options: Omit<MeasureOptions, 'durationMS' | 'warmupMS' | 'onProgress'> & { durationMS: number; onProgress?: (progress: LoadProgress) => void }): Promise<void> {
  const client = new MongoClient(options.uri, { ...options.clientOptions, maxPoolSize: options.poolSize });
  try {
    await client.connect();
    const operation = options.workload.bind(client.db(options.database).collection(options.collection));
    await generate(options.load, operation, options.durationMS, options.signal, (p) => options.onProgress?.(p));
  } finally {
    await client.close();
  }
}

/** The sampling interval of the event-loop delay histogram, ms. */
const LOOP_DELAY_RESOLUTION_MS = 1;

/** How late a loop-delay sample was, ms to the microsecond: its interval less the sampling interval (0 when none). */
function lateMS(nanos: number): number {
  if (!Number.isFinite(nanos) || nanos <= 0) return 0;
  return Math.max(0, Math.round(nanos / 1000) / 1000 - LOOP_DELAY_RESOLUTION_MS);
}

interface OpLatencyTotals {
  ops: number;
  latencyMicros: number;
}

/** Reads and writes the server has run and their summed time, from serverStatus `opLatencies` (undefined if unavailable). */
async function readOpLatencies(client: MongoClient): Promise<OpLatencyTotals | undefined> {
  try {
    const status = await client.db('admin').command({ serverStatus: 1, opLatencies: 1 });
    const sections = [status?.opLatencies?.reads, status?.opLatencies?.writes];
    let ops = 0;
    let latencyMicros = 0;
    for (const section of sections) {
      const n = Number(section?.ops);
      const micros = Number(section?.latency);
      if (!Number.isFinite(n) || !Number.isFinite(micros)) return undefined;
      ops += n;
      latencyMicros += micros;
    }
    return { ops, latencyMicros };
  } catch {
    return undefined; // no serverStatus privilege (clusterMonitor), or a server without it
  }
}

function serverTime(before: OpLatencyTotals | undefined, after: OpLatencyTotals | undefined): { serverTimeMS?: number } {
  if (before === undefined || after === undefined) return {};
  const ops = after.ops - before.ops;
  const micros = after.latencyMicros - before.latencyMicros;
  return ops > 0 && micros >= 0 ? { serverTimeMS: micros / ops / 1000 } : {};
}

function totalCreated(servers: Record<string, ServerPoolSnapshot>): number {
  let total = 0;
  for (const server of Object.values(servers)) total += server.created;
  return total;
}

function totalCheckedOut(servers: Record<string, ServerPoolSnapshot>): number {
  let total = 0;
  for (const server of Object.values(servers)) total += server.checkedOut;
  return total;
}

function generate(
  load: LoadShape,
  operation: Operation,
  durationMS: number,
  signal: AbortSignal | undefined,
  onProgress: (progress: LoadProgress) => void,
): Promise<LoadResult> {
  const common = { operation, durationMS, onProgress, ...(signal && { signal }) };
  return load.mode === 'closed'
    ? runClosedLoop({ ...common, concurrency: load.concurrency })
    : runOpenLoop({ ...common, rate: load.rate, ...(load.maxOutstanding !== undefined && { maxOutstanding: load.maxOutstanding }) });
}
