/**
 * Benchmark: the cost of watching the pool (issue 5, "Performance").
 *
 * Same workload for every variant: `findOne({ _id })` (or `ping` if the server has no CRUD),
 * pool 20, 32 closed-loop callers, fixed duration; the server runs in its own process, so
 * `process.cpuUsage()` here is the client's CPU only. Variants alternate within each
 * repetition (rotating the starting variant) so drift on a shared machine hits all of them.
 *
 *   (a) bare driver
 *   (b) + PoolMonitor (default mode: pool events only)
 *   (c) + PoolMonitor + registerPrometheus (scraped every second)
 *   (d) driver with monitorCommands: true and no listener (the driver's own floor for command timing)
 *   (e) + PoolMonitor with commands: true
 *   (f) + @christiangalsterer/mongodb-driver-prometheus-exporter (monitorCommands on; scraped every second)
 *
 * Run: `npm run bench -- monitor [--duration-ms N] [--warmup-ms N] [--initial-warmup-ms N] [--reps N] [--concurrency N]
 * [--pool N] [--variants a,b,c]` (or `node --import tsx bench/monitor.ts ...`), or import
 * `run(options)`. Writes bench/results/monitor.json and prints a table.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MongoClient } from 'mongodb';
import { Registry } from 'prom-client';
import { monitorMongoDBDriver } from '@christiangalsterer/mongodb-driver-prometheus-exporter';
import { PoolMonitor } from '../src/monitor/index.js';
import { registerPrometheus } from '../src/exporters/prometheus.js';
import { LOAD_CPU, machine, median, parseFlags, pinProcess, startBenchServer, table, writeResults } from './support/harness.js';


export interface MonitorBenchOptions {
  /** Measured time per variant and repetition (default 3000). */
  durationMS?: number;
  /** Unmeasured load before each measurement (default 500). */
  warmupMS?: number;
  /** Unmeasured load once at the start (default 3000). */
  initialWarmupMS?: number;
  repetitions?: number;
  concurrency?: number;
  poolSize?: number;
  /** Subset of a–f (default all). */
  variants?: string[];
  /** Use this server instead of starting one in a child process. */
  uri?: string;
  /** Write bench/results/monitor.json (default true), or to this path. */
  out?: string | boolean;
  /** Progress lines on stderr (default true). */
  progress?: boolean;
}

interface Variant {
  id: string;
  label: string;
  monitorCommands: boolean;
  setup(client: MongoClient): { scrape?: () => Promise<unknown>; teardown(): void };
}

const VARIANTS: Variant[] = [
  { id: 'a', label: 'bare driver', monitorCommands: false, setup: () => ({ teardown() {} }) },
  {
    id: 'b',
    label: 'PoolMonitor (pool events)',
    monitorCommands: false,
    setup(client) {
      const monitor = PoolMonitor.attach(client, { name: 'bench-b' });
      return { teardown: () => monitor.detach() };
    },
  },
  {
    id: 'c',
    label: 'PoolMonitor + Prometheus',
    monitorCommands: false,
    setup(client) {
      const monitor = PoolMonitor.attach(client, { name: 'bench-c' });
      const registry = new Registry();
      registerPrometheus(monitor, { registry });
      return { scrape: () => registry.metrics(), teardown: () => monitor.detach() };
    },
  },
  { id: 'd', label: 'driver monitorCommands, no listener', monitorCommands: true, setup: () => ({ teardown() {} }) },
  {
    id: 'e',
    label: 'PoolMonitor commands: true',
    monitorCommands: false, // the monitor turns it on
    setup(client) {
      const monitor = PoolMonitor.attach(client, { name: 'bench-e', commands: true });
      return { teardown: () => monitor.detach() };
    },
  },
  {
    id: 'f',
    label: 'mongodb-driver-prometheus-exporter',
    monitorCommands: true,
    setup(client) {
      const registry = new Registry();
      monitorMongoDBDriver(client as any, registry as any);
      return { scrape: () => registry.metrics(), teardown() {} };
    },
  },
];

export interface VariantResult {
  id: string;
  label: string;
  /** Median over repetitions. */
  opsPerSec: number;
  cpuMicrosPerOp: number;
  /** Relative to (a): median over repetitions of the ratio within each repetition. */
  throughputRatio: number;
  cpuRatio: number;
  runs: Array<{ ops: number; elapsedMS: number; opsPerSec: number; cpuMicrosPerOp: number }>;
}

export interface MonitorBenchResult {
  benchmark: 'monitor';
  date: string;
  workload: string;
  settings: Required<Pick<MonitorBenchOptions, 'durationMS' | 'warmupMS' | 'initialWarmupMS' | 'repetitions' | 'concurrency' | 'poolSize'>>;
  environment: Record<string, unknown>;
  variants: VariantResult[];
  hotPath: HotPathResult;
}

/**
 * The monitor's own cost per operation, without sockets or a server: the driver's events for
 * one operation replayed through a real MongoClient's emitter, with and without a monitor.
 * Deterministic where the end-to-end numbers are at the mercy of the machine's other load.
 */
export interface HotPathResult {
  /** Per operation: checkOutStarted, checkedOut, checkedIn (+ commandStarted, commandSucceeded in commands mode). */
  nsPerOpNoListener: number;
  nsPerOpMonitor: number;
  nsPerOpMonitorCommands: number;
  /** Added CPU as a share of the bare driver's CPU per operation measured above (a); commands mode vs events without listener. */
  monitorShareOfDriverCpu: number;
  monitorCommandsShareOfDriverCpu: number;
}

export async function run(options: MonitorBenchOptions = {}): Promise<MonitorBenchResult> {
  const settings = {
    durationMS: options.durationMS ?? 3000,
    warmupMS: options.warmupMS ?? 500,
    initialWarmupMS: options.initialWarmupMS ?? 3000,
    repetitions: options.repetitions ?? 5,
    concurrency: options.concurrency ?? 32,
    poolSize: options.poolSize ?? 20,
  };
  const variants = options.variants ? VARIANTS.filter((v) => options.variants!.includes(v.id)) : VARIANTS;
  if (variants.length === 0) throw new Error(`--variants: choose among ${VARIANTS.map((v) => v.id).join(',')}`);
  const log = options.progress === false ? () => {} : (line: string) => process.stderr.write(`${line}\n`);

  const server = options.uri ? undefined : await startBenchServer('ours');
  const uri = options.uri ?? server!.uri;
  // The client (measured) on one core, the server on the other: see pinProcess.
  const pinned = server !== undefined && server.pinned && pinProcess(process.pid, LOAD_CPU);
  try {
    const workload = await prepare(uri);
    log(`monitor bench: workload ${workload.name}, ${settings.repetitions} × ${variants.length} variants × ${settings.durationMS} ms`);
    // JIT and the server's caches are process-wide: warm both up once before any measurement.
    await measure(uri, VARIANTS[0], workload.op, { ...settings, warmupMS: 0, durationMS: settings.initialWarmupMS });
    const runs = new Map<string, VariantResult['runs']>(variants.map((v) => [v.id, []]));
    for (let rep = 0; rep < settings.repetitions; rep++) {
      for (let i = 0; i < variants.length; i++) {
        const variant = variants[(i + rep) % variants.length];
        const result = await measure(uri, variant, workload.op, settings);
        runs.get(variant.id)!.push(result);
        log(`  rep ${rep + 1} (${variant.id}) ${variant.label}: ${result.opsPerSec.toFixed(0)} ops/s, ${result.cpuMicrosPerOp.toFixed(1)} µs CPU/op`);
      }
    }
    const baselineRuns = runs.get(variants.some((v) => v.id === 'a') ? 'a' : variants[0].id)!;
    const hotPath = measureHotPath(median(baselineRuns.map((r) => r.cpuMicrosPerOp)));
    log(`  hot path: ${hotPath.nsPerOpMonitor} ns/op with the monitor, ${hotPath.nsPerOpMonitorCommands} ns/op in commands mode, ${hotPath.nsPerOpNoListener} ns/op without`);
    const result: MonitorBenchResult = {
      benchmark: 'monitor',
      date: new Date().toISOString(),
      workload: workload.name,
      settings,
      environment: { ...machine(), driver: driverVersion(), pinned },
      variants: variants.map((v) => {
        const own = runs.get(v.id)!;
        // Ratios are paired per repetition (same minute of machine noise), then the median is taken.
        const paired = (pick: (r: VariantResult['runs'][number]) => number) =>
          median(own.map((r, rep) => pick(r) / pick(baselineRuns[rep])));
        return {
          id: v.id,
          label: v.label,
          opsPerSec: round(median(own.map((r) => r.opsPerSec)), 0),
          cpuMicrosPerOp: round(median(own.map((r) => r.cpuMicrosPerOp)), 2),
          throughputRatio: round(paired((r) => r.opsPerSec), 3),
          cpuRatio: round(paired((r) => r.cpuMicrosPerOp), 3),
          runs: own,
        };
      }),
      hotPath,
    };
    if (options.out !== false) {
      let file: string;
      if (typeof options.out === 'string') {
        file = resolve(options.out);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
      } else {
        file = writeResults('monitor', result);
      }
      log(`wrote ${file}`);
    }
    return result;
  } finally {
    await server?.stop();
  }
}

export function formatTable(result: MonitorBenchResult): string {
  const h = result.hotPath;
  const hot =
    `hot path (events replayed, no I/O): ${h.nsPerOpMonitor} ns/op with PoolMonitor, ${h.nsPerOpMonitorCommands} ns/op with ` +
    `commands: true, ${h.nsPerOpNoListener} ns/op without = ${(h.monitorShareOfDriverCpu * 100).toFixed(2)} % / ` +
    `${(h.monitorCommandsShareOfDriverCpu * 100).toFixed(2)} % of the bare driver's CPU per operation`;
  return `${table(
    ['variant', 'ops/s', 'CPU µs/op', 'throughput vs (a)', 'CPU/op vs (a)'],
    result.variants.map((v) => [
      `(${v.id}) ${v.label}`,
      v.opsPerSec,
      v.cpuMicrosPerOp.toFixed(1),
      `${v.throughputRatio.toFixed(3)}×`,
      `${v.cpuRatio.toFixed(3)}×`,
    ]),
  )}\n${hot}`;
}

function measureHotPath(driverMicrosPerOp: number): HotPathResult {
  const address = '127.0.0.1:27017';
  const iterations = 300_000;
  const started = { address };
  const checkedOut = { address, connectionId: 1, durationMS: 0 };
  const checkedIn = { address, connectionId: 1 };
  const commandStarted = { address, connectionId: 1, commandName: 'find', databaseName: 'bench', command: { find: 'items' } };
  const commandSucceeded = { address, connectionId: 1, commandName: 'find', duration: 0.2 };
  const perOp = (withMonitor: boolean, commands: boolean): number => {
    const client = new MongoClient(`mongodb://${address}`);
    const monitor = withMonitor ? PoolMonitor.attach(client, { name: `hot-${commands}`, commands }) : undefined;
    const emit = (event: string, payload: object) => client.emit(event as any, payload as any);
    emit('connectionPoolCreated', { address, options: { maxPoolSize: 20, minPoolSize: 0 } });
    emit('connectionCreated', { address, connectionId: 1 });
    emit('connectionReady', { address, connectionId: 1, durationMS: 1 });
    let best = Infinity;
    for (let round = 0; round < 5; round++) {
      const cpu0 = process.cpuUsage();
      for (let i = 0; i < iterations; i++) {
        emit('connectionCheckOutStarted', started);
        emit('connectionCheckedOut', checkedOut);
        if (commands) {
          emit('commandStarted', commandStarted);
          emit('commandSucceeded', commandSucceeded);
        }
        emit('connectionCheckedIn', checkedIn);
      }
      const cpu = process.cpuUsage(cpu0);
      best = Math.min(best, ((cpu.user + cpu.system) * 1000) / iterations);
    }
    monitor?.detach();
    return Math.round(best);
  };
  const nsPerOpNoListener = perOp(false, false);
  const nsPerOpNoListenerCommands = perOp(false, true); // (d): the driver emits command events nobody hears
  const nsPerOpMonitor = perOp(true, false);
  const nsPerOpMonitorCommands = perOp(true, true);
  return {
    nsPerOpNoListener,
    nsPerOpMonitor,
    nsPerOpMonitorCommands,
    monitorShareOfDriverCpu: round((nsPerOpMonitor - nsPerOpNoListener) / (driverMicrosPerOp * 1000), 4),
    monitorCommandsShareOfDriverCpu: round((nsPerOpMonitorCommands - nsPerOpNoListenerCommands) / (driverMicrosPerOp * 1000), 4),
  };
}

// ---- workload ------------------------------------------------------------------------------

const DOCS = 1000;

async function prepare(uri: string): Promise<{ name: string; op: (client: MongoClient, i: number) => Promise<unknown> }> {
  const client = new MongoClient(uri);
  try {
    const items = client.db('bench').collection<{ _id: number; name: string; qty: number }>('items');
    await items.deleteMany({});
    await items.insertMany(Array.from({ length: DOCS }, (_, i) => ({ _id: i, name: `item-${i}`, qty: i % 17 })));
    const found = await items.findOne({ _id: 7 });
    if (found?.name !== 'item-7') throw new Error('findOne returned the wrong document');
    return {
      name: 'findOne({ _id })',
      op: (c, i) => c.db('bench').collection<{ _id: number }>('items').findOne({ _id: i % DOCS }),
    };
  } catch (error: any) {
    if (error?.code !== 59) throw error; // CommandNotFound: the embedded server has no CRUD yet
    return { name: 'ping (server without find)', op: (c) => c.db('bench').command({ ping: 1 }) };
  } finally {
    await client.close();
  }
}

async function measure(
  uri: string,
  variant: Variant,
  op: (client: MongoClient, i: number) => Promise<unknown>,
  settings: { durationMS: number; warmupMS: number; concurrency: number; poolSize: number },
): Promise<VariantResult['runs'][number]> {
  const client = new MongoClient(uri, { maxPoolSize: settings.poolSize, monitorCommands: variant.monitorCommands });
  const { scrape, teardown } = variant.setup(client);
  try {
    await client.connect();
    await load(client, op, settings.concurrency, settings.warmupMS);
    const scraper = scrape ? setInterval(() => void scrape(), 1000) : undefined;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const ops = await load(client, op, settings.concurrency, settings.durationMS);
    const elapsedMS = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    if (scraper) clearInterval(scraper);
    return {
      ops,
      elapsedMS: round(elapsedMS, 1),
      opsPerSec: round((ops / elapsedMS) * 1000, 1),
      cpuMicrosPerOp: round((cpu.user + cpu.system) / ops, 3),
    };
  } finally {
    await client.close();
    teardown();
  }
}

/** `concurrency` closed-loop callers until the deadline; returns completed operations. */
async function load(client: MongoClient, op: (client: MongoClient, i: number) => Promise<unknown>, concurrency: number, durationMS: number): Promise<number> {
  const deadline = performance.now() + durationMS;
  let done = 0;
  let next = 0;
  const caller = async () => {
    while (performance.now() < deadline) {
      await op(client, next++);
      done++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, caller));
  return done;
}

// ---- helpers -------------------------------------------------------------------------------

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function driverVersion(): string {
  try {
    return (createRequire(import.meta.url)('mongodb/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    const flags = parseFlags(process.argv.slice(2), {
      'duration-ms': 3000,
      'warmup-ms': 500,
      'initial-warmup-ms': 3000,
      reps: 5,
      concurrency: 32,
      pool: 20,
      variants: VARIANTS.map((v) => v.id).join(','),
    });
    const result = await run({
      durationMS: flags['duration-ms'],
      warmupMS: flags['warmup-ms'],
      initialWarmupMS: flags['initial-warmup-ms'],
      repetitions: flags.reps,
      concurrency: flags.concurrency,
      poolSize: flags.pool,
      variants: String(flags.variants).split(','),
    });
    process.stdout.write(`${formatTable(result)}\n`);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
