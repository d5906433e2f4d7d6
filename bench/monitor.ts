/**
 * Benchmark: the cost of watching the pool (issue 5, "Performance").
 *
 * Same workload for every variant: `findOne({ _id })`, pool 20, 32 closed-loop callers, fixed
 * duration, against the embedded server in its own process:
 *
 *   (a) bare driver
 *   (b) + PoolMonitor (default mode: pool events only)
 *   (c) + PoolMonitor + registerPrometheus (scraped every second)
 *   (d) driver with monitorCommands: true and no listener (the driver's own floor for command timing)
 *   (e) + PoolMonitor with commands: true
 *   (f) + @christiangalsterer/mongodb-driver-prometheus-exporter (monitorCommands on; scraped every second)
 *
 * Method. This machine is a VM whose speed drifts by 2× within seconds (steal time), so runs one
 * after the other cannot resolve a 3% difference: every sample pairs the variant with its baseline
 * on the same pinned CPU (the server has the other), and a control pair, (a) against (a0), the same
 * code twice, shows what the run resolves. Pairs are (a, x) for every x and (d, e), repeated `reps`
 * times with the order alternated; the medians of the paired ratios of CPU per operation
 * (process.cpuUsage) and of throughput are reported. Three ways to pair (`--method`):
 *
 * - `interleaved` (default): both clients of a pair in ONE fresh process (bench/support/monitor-load.ts),
 *   measured in turn in short slices (`--slice-ms`, default 250) A B B A, `--blocks` times
 *   (default 20), the process's CPU time over each slice charged to the client that ran it. One
 *   process means one heap, one JIT and one set of caches for both, and slices a quarter of a second
 *   apart see the same machine. This is the monitor's cost as a user's process sees it. The
 *   calibration variants (x1/x3/x10, a known busy loop per operation) read close to their true share
 *   of the bare client's CPU, and (d) and (f) read what the issue measured before any of our code.
 * - `together`: two fresh processes, one per variant, run at the same time on the one CPU. This
 *   cancels drift best, but two processes switching on one core evict each other's data from the CPU
 *   caches every few milliseconds, which amplifies a cost two to five times: most for code that
 *   touches memory (a monitor's state), less for a busy loop. Kept to compare with earlier runs.
 * - `alternating`: two fresh processes measured one at a time, ABBA windows of `--duration-ms`:
 *   each process alone, as a user's would be, but a process's CPU per operation alone moves by
 *   ±20% from one process to the next, too much to resolve a few percent.
 *
 * Run: `npm run bench -- monitor [--duration-ms N] [--warmup-ms N] [--initial-warmup-ms N] [--reps N]
 * [--concurrency N] [--pool N] [--rate OPS_PER_S] [--method together|alternating|interleaved] [--blocks N] [--slice-ms N]
 * [--variants a,b,c] [--out FILE]`, or import
 * `run(options)`. Writes bench/results/monitor.json (or FILE) and prints a table. `--rate` runs
 * each process at a fixed rate instead of a closed loop (see MonitorBenchOptions.rate).
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { once } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { MongoClient } from 'mongodb';
import { PoolMonitor } from '../src/monitor/index.js';
import { forkSupport, LOAD_CPU, machine, median, medianInterval, parseFlags, pinProcess, request, startBenchServer, table, writeResults } from './support/harness.js';
import { MONITOR_BENCH_DOCS, MONITOR_VARIANTS } from './support/monitor-load.js';


export interface MonitorBenchOptions {
  /** Measured time of each paired run (default 3000). */
  durationMS?: number;
  /** Unmeasured load just before each paired run (default 500). */
  warmupMS?: number;
  /** Unmeasured load of every fresh pair of variant processes before its measurement (default 3000). */
  initialWarmupMS?: number;
  /** Paired runs per pair (default 8). */
  repetitions?: number;
  concurrency?: number;
  poolSize?: number;
  /**
   * Operations per second each variant process runs at (open loop, at most `concurrency` in
   * flight), instead of the default closed loop (0). Both processes of a pair then do the same
   * work, so the CPU ratio is not amplified by the two competing for the core; the throughput
   * goals do not apply (both complete the same operations).
   */
  rate?: number;
  /**
   * `interleaved` (default): both clients of a pair in one process, measured in turn in short ABBA slices.
   * `together`: one process per variant, the two of a pair at the same time on one CPU.
   * `alternating`: one process per variant, the two of a pair one at a time in ABBA order (see the file comment).
   */
  method?: MonitorBenchMethod;
  /** ABBA blocks per pair sample (`alternating`: default 2, four windows per process; `interleaved`: default 20). */
  blocks?: number;
  /** `interleaved`: each slice's length (default 250 ms). */
  sliceMS?: number;
  /** Subset of a–f (default all; (a) is always included as the baseline). */
  variants?: string[];
  /** Use this server instead of starting one in a child process. */
  uri?: string;
  /** Write bench/results/monitor.json (default true), or to this path. */
  out?: string | boolean;
  /** Progress lines on stderr (default true). */
  progress?: boolean;
}

export type MonitorBenchMethod = 'together' | 'alternating' | 'interleaved';

/** One measured window of one variant process. */
export interface WindowResult {
  ops: number;
  elapsedMS: number;
  opsPerSec: number;
  cpuMicrosPerOp: number;
}

/** Two variants measured on the same CPU, at the same time or in alternating windows (`method`). */
export interface PairSample {
  rep: number;
  baseline: string;
  variant: string;
  /** Which of the two was told to start first, or measured first (alternated). */
  startedFirst: string;
  /** Its window, or with `alternating` its windows added up. */
  baselineRun: WindowResult;
  variantRun: WindowResult;
  /** variant / baseline within this sample. */
  cpuRatio: number;
  throughputRatio: number;
}

export interface VariantResult {
  id: string;
  label: string;
  /** Median over the variant's windows (absolute figures: only comparable within one run). */
  opsPerSec: number;
  cpuMicrosPerOp: number;
  /** Against (a), measured at the same time: medians of the paired ratios. */
  throughputRatio: number;
  cpuRatio: number;
  /** Spread of the paired CPU ratios (min, max), to judge the median. */
  cpuRatioRange: [number, number];
  /** 95% confidence intervals of the two medians (distribution-free, see medianInterval). */
  cpuRatioCI95: [number, number];
  throughputRatioCI95: [number, number];
}

export interface MonitorBenchResult {
  benchmark: 'monitor';
  date: string;
  workload: string;
  method: string;
  settings: Required<Pick<MonitorBenchOptions, 'durationMS' | 'warmupMS' | 'initialWarmupMS' | 'repetitions' | 'concurrency' | 'poolSize' | 'rate' | 'method' | 'blocks' | 'sliceMS'>>;
  environment: Record<string, unknown>;
  variants: VariantResult[];
  /** (e) against (d), measured at the same time: the goal is ≤ 1.03× CPU. */
  commandsModeVsDriverFloor: { cpuRatio: number; throughputRatio: number; cpuRatioRange: [number, number]; cpuRatioCI95: [number, number] } | null;
  /**
   * Whether this run can judge a 3% goal: the control (a0) measured within {@link CONTROL_TOLERANCE}
   * of (a) (null when the run had no control). When false, every goal is null (not judged).
   */
  controlResolves: boolean | null;
  goals: Record<string, boolean | null>;
  pairs: PairSample[];
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
  /** The default mode on a client with three pools (a replica set): each event's server is found by its address. */
  nsPerOpMonitorSeveralPools: number;
  /** Added CPU as a share of the bare driver's CPU per operation measured above (a); commands mode vs events without listener. */
  monitorShareOfDriverCpu: number;
  monitorCommandsShareOfDriverCpu: number;
}

interface VariantProcess {
  id: string;
  child: ChildProcess;
}

/** A fresh bench/support/monitor-load.ts process on the load generators' CPU. */
function forkLoadProcess(): ChildProcess {
  const child = forkSupport('monitor-load.ts');
  if (child.pid !== undefined) pinProcess(child.pid, LOAD_CPU);
  return child;
}

async function startVariant(id: string, uri: string, settings: { concurrency: number; poolSize: number; rate: number }): Promise<VariantProcess> {
  const child = forkLoadProcess();
  await request(child, { type: 'start', uri, variant: id, concurrency: settings.concurrency, poolSize: settings.poolSize, rate: settings.rate }, 'ready');
  return { id, child };
}

interface RawTotals {
  ops: number;
  elapsedMS: number;
  cpuUS: number;
}

function windowFrom(r: RawTotals): WindowResult {
  return {
    ops: r.ops,
    elapsedMS: round(r.elapsedMS, 1),
    opsPerSec: round((r.ops / r.elapsedMS) * 1000, 1),
    cpuMicrosPerOp: round(r.cpuUS / Math.max(1, r.ops), 3),
  };
}

function describeMethod(settings: { method: MonitorBenchMethod; blocks: number; sliceMS: number }): string {
  switch (settings.method) {
    case 'together':
      return 'pairs of fresh variant processes on one pinned CPU, measured at the same time';
    case 'alternating':
      return `pairs of fresh variant processes on one pinned CPU, measured one at a time in ${settings.blocks} ABBA blocks`;
    case 'interleaved':
      return `pairs of clients in one fresh process on one pinned CPU, measured in turn in ${settings.blocks} ABBA blocks of ${settings.sliceMS} ms slices`;
  }
}

/** One paired sample: `variantRun` against `baselineRun`. */
function pairSample(rep: number, baseline: string, variant: string, startedFirst: string, baselineRun: WindowResult, variantRun: WindowResult): PairSample {
  return {
    rep,
    baseline,
    variant,
    startedFirst,
    baselineRun,
    variantRun,
    cpuRatio: round(variantRun.cpuMicrosPerOp / baselineRun.cpuMicrosPerOp, 4),
    throughputRatio: round(variantRun.opsPerSec / baselineRun.opsPerSec, 4),
  };
}

function runWindow(p: VariantProcess, warmupMS: number, durationMS: number): Promise<WindowResult> {
  return request<RawTotals>(p.child, { type: 'run', warmupMS, durationMS }, 'result').then(windowFrom);
}

async function stopVariant(p: VariantProcess): Promise<void> {
  if (p.child.exitCode !== null) return;
  const exited = once(p.child, 'exit');
  p.child.send({ type: 'stop' });
  await exited;
}

/** Windows of one process added up: its operations, time and CPU over all of them. */
function addWindows(windows: WindowResult[]): WindowResult {
  const ops = windows.reduce((sum, w) => sum + w.ops, 0);
  const elapsedMS = windows.reduce((sum, w) => sum + w.elapsedMS, 0);
  const cpuUS = windows.reduce((sum, w) => sum + w.cpuMicrosPerOp * w.ops, 0);
  return { ops, elapsedMS: round(elapsedMS, 1), opsPerSec: round((ops / elapsedMS) * 1000, 1), cpuMicrosPerOp: round(cpuUS / Math.max(1, ops), 3) };
}

/** A run judges the 3% goals only if its control (a0, the bare driver again) is this close to 1. */
const CONTROL_TOLERANCE = 0.015;

const spread = (values: number[]): [number, number] => [round(Math.min(...values), 3), round(Math.max(...values), 3)];
const interval = (values: number[]): [number, number] => {
  const [low, high] = medianInterval(values);
  return [round(low, 3), round(high, 3)];
};

export async function run(options: MonitorBenchOptions = {}): Promise<MonitorBenchResult> {
  const settings = {
    durationMS: options.durationMS ?? 3000,
    warmupMS: options.warmupMS ?? 500,
    initialWarmupMS: options.initialWarmupMS ?? 3000,
    repetitions: options.repetitions ?? 8,
    concurrency: options.concurrency ?? 32,
    poolSize: options.poolSize ?? 20,
    rate: options.rate ?? 0,
    method: options.method ?? 'interleaved',
    blocks: options.blocks ?? ((options.method ?? 'interleaved') === 'interleaved' ? 20 : 2),
    sliceMS: options.sliceMS ?? 250,
  };
  if (!Number.isFinite(settings.rate) || settings.rate < 0) throw new Error(`--rate: expected operations per second ≥ 0 (0 = closed loop), got ${options.rate}`);
  if (!['together', 'alternating', 'interleaved'].includes(settings.method)) {
    throw new Error(`--method: expected together, alternating or interleaved, got ${String(options.method)}`);
  }
  if (!Number.isFinite(settings.sliceMS) || settings.sliceMS < 10) throw new Error(`--slice-ms: expected a time ≥ 10 ms, got ${options.sliceMS}`);
  if (!Number.isInteger(settings.blocks) || settings.blocks < 1) throw new Error(`--blocks: expected a whole number ≥ 1, got ${options.blocks}`);
  const wanted = new Set(['a', ...(options.variants ?? MONITOR_VARIANTS.map((v) => v.id))]);
  const variants = MONITOR_VARIANTS.filter((v) => wanted.has(v.id));
  const unknown = [...wanted].filter((id) => !MONITOR_VARIANTS.some((v) => v.id === id));
  if (unknown.length > 0) throw new Error(`--variants: unknown ${unknown.join(',')}; choose among ${MONITOR_VARIANTS.map((v) => v.id).join(',')}`);
  const log = options.progress === false ? () => {} : (line: string) => process.stderr.write(`${line}\n`);

  const server = options.uri ? undefined : await startBenchServer('ours');
  const uri = options.uri ?? server!.uri;
  const live = new Set<VariantProcess>();
  const start = async (id: string) => {
    const p = await startVariant(id, uri, settings);
    live.add(p);
    return p;
  };
  const stop = async (p: VariantProcess) => {
    live.delete(p);
    await stopVariant(p);
  };
  const logSample = (p: PairSample) =>
    log(`  rep ${p.rep + 1} (${p.baseline}, ${p.variant}): CPU/op ${p.cpuRatio.toFixed(3)}×, ops ${p.throughputRatio.toFixed(3)}× (${p.baselineRun.cpuMicrosPerOp.toFixed(0)} vs ${p.variantRun.cpuMicrosPerOp.toFixed(0)} µs/op)`);
  /** `interleaved`: one fresh process holding both clients, measured in turn (bench/support/monitor-load.ts). */
  const interleavedSample = async (rep: number, baseline: string, variant: string): Promise<PairSample> => {
    const child = forkLoadProcess();
    const p: VariantProcess = { id: `${baseline}+${variant}`, child };
    live.add(p);
    try {
      // Alternate which client is set up (and connects) first.
      const order: [string, string] = rep % 2 === 0 ? [baseline, variant] : [variant, baseline];
      await request(child, { type: 'startPair', uri, variants: order, concurrency: settings.concurrency, poolSize: settings.poolSize, rate: settings.rate }, 'ready');
      const { totals } = await request<{ totals: [RawTotals, RawTotals] }>(
        child,
        { type: 'interleave', warmupMS: settings.initialWarmupMS, sliceMS: settings.sliceMS, blocks: settings.blocks },
        'interleaved',
      );
      const [first, second] = totals.map(windowFrom);
      return order[0] === baseline ? pairSample(rep, baseline, variant, baseline, first, second) : pairSample(rep, baseline, variant, variant, second, first);
    } finally {
      await stop(p);
    }
  };
  try {
    await prepare(uri);
    const pairList: [string, string][] = variants.filter((v) => v.id !== 'a').map((v) => ['a', v.id]);
    if (wanted.has('d') && wanted.has('e')) pairList.push(['d', 'e']);
    const loop = settings.rate > 0 ? `${settings.rate} ops/s each (open loop)` : `closed loop of ${settings.concurrency}`;
    const how = describeMethod(settings);
    const each = settings.method === 'interleaved' ? `${settings.blocks * 2 * settings.sliceMS} ms per client` : `${settings.durationMS} ms`;
    log(`monitor bench: ${pairList.length} pairs × ${settings.repetitions} reps × ${each}, ${how}, ${loop}`);
    const pairs: PairSample[] = [];
    for (let rep = 0; rep < settings.repetitions; rep++) {
      for (const [baseline, variant] of pairList) {
        if (settings.method === 'interleaved') {
          const sample = await interleavedSample(rep, baseline, variant);
          pairs.push(sample);
          logSample(sample);
          continue;
        }
        // Fresh processes for every sample: two processes of the same code differ by a few percent
        // (JIT decisions, heap layout), which the median over repetitions then averages out.
        const [x, y] = await Promise.all([start(baseline), start(variant)]);
        // Warm both up together (JIT, heap, pool), then measure.
        await Promise.all([runWindow(x, 0, settings.initialWarmupMS), runWindow(y, 0, settings.initialWarmupMS)]);
        const first = rep % 2 === 0 ? x : y;
        const second = first === x ? y : x;
        let firstRun: WindowResult;
        let secondRun: WindowResult;
        if (settings.method === 'together') {
          [firstRun, secondRun] = await Promise.all([runWindow(first, settings.warmupMS, settings.durationMS), runWindow(second, settings.warmupMS, settings.durationMS)]);
        } else {
          const firstWindows: WindowResult[] = [];
          const secondWindows: WindowResult[] = [];
          for (let block = 0; block < settings.blocks; block++) {
            // ABBA: each process is measured as often early as late within the block.
            firstWindows.push(await runWindow(first, settings.warmupMS, settings.durationMS));
            secondWindows.push(await runWindow(second, settings.warmupMS, settings.durationMS));
            secondWindows.push(await runWindow(second, settings.warmupMS, settings.durationMS));
            firstWindows.push(await runWindow(first, settings.warmupMS, settings.durationMS));
          }
          firstRun = addWindows(firstWindows);
          secondRun = addWindows(secondWindows);
        }
        await Promise.all([stop(x), stop(y)]);
        const baselineRun = first === x ? firstRun : secondRun;
        const variantRun = first === x ? secondRun : firstRun;
        const sample = pairSample(rep, baseline, variant, first.id, baselineRun, variantRun);
        pairs.push(sample);
        logSample(sample);
      }
    }

    const samplesOf = (baseline: string, variant: string) => pairs.filter((p) => p.baseline === baseline && p.variant === variant);
    const windowsOf = (id: string): WindowResult[] => pairs.flatMap((p) => [...(p.baseline === id ? [p.baselineRun] : []), ...(p.variant === id ? [p.variantRun] : [])]);
    const results: VariantResult[] = variants.map((v) => {
      const own = samplesOf('a', v.id);
      const windows = windowsOf(v.id);
      return {
        id: v.id,
        label: v.label,
        opsPerSec: round(median(windows.map((w) => w.opsPerSec)), 0),
        cpuMicrosPerOp: round(median(windows.map((w) => w.cpuMicrosPerOp)), 2),
        throughputRatio: v.id === 'a' ? 1 : round(median(own.map((p) => p.throughputRatio)), 3),
        cpuRatio: v.id === 'a' ? 1 : round(median(own.map((p) => p.cpuRatio)), 3),
        cpuRatioRange: v.id === 'a' ? [1, 1] : spread(own.map((p) => p.cpuRatio)),
        cpuRatioCI95: v.id === 'a' ? [1, 1] : interval(own.map((p) => p.cpuRatio)),
        throughputRatioCI95: v.id === 'a' ? [1, 1] : interval(own.map((p) => p.throughputRatio)),
      };
    });
    const de = samplesOf('d', 'e');
    const commandsModeVsDriverFloor =
      de.length > 0
        ? {
            cpuRatio: round(median(de.map((p) => p.cpuRatio)), 3),
            throughputRatio: round(median(de.map((p) => p.throughputRatio)), 3),
            cpuRatioRange: spread(de.map((p) => p.cpuRatio)),
            cpuRatioCI95: interval(de.map((p) => p.cpuRatio)),
          }
        : null;
    const byId = new Map(results.map((r) => [r.id, r]));
    const control = byId.get('a0');
    const controlResolves = control === undefined ? null : Math.abs(control.cpuRatio - 1) <= CONTROL_TOLERANCE;
    const goal = (ids: string[], test: () => boolean) => (controlResolves !== false && ids.every((id) => byId.has(id)) ? test() : null);
    // At a fixed rate both complete the same operations: throughput says nothing there.
    const closedLoop = settings.rate === 0;
    const goals = {
      'b: CPU/op ≤ 1.03× (a)': goal(['b'], () => byId.get('b')!.cpuRatio <= 1.03),
      'b: throughput ≥ 0.98× (a)': closedLoop ? goal(['b'], () => byId.get('b')!.throughputRatio >= 0.98) : null,
      'c: CPU/op ≤ 1.03× (a)': goal(['c'], () => byId.get('c')!.cpuRatio <= 1.03),
      'c: throughput ≥ 0.98× (a)': closedLoop ? goal(['c'], () => byId.get('c')!.throughputRatio >= 0.98) : null,
      'e: CPU/op ≤ 1.03× (d)': goal(['d', 'e'], () => commandsModeVsDriverFloor!.cpuRatio <= 1.03),
      'b, c, e: each cheaper than (f)': goal(['b', 'c', 'e', 'f'], () => ['b', 'c', 'e'].every((id) => byId.get(id)!.cpuRatio < byId.get('f')!.cpuRatio)),
    };

    const hotPath = measureHotPath(byId.get('a')!.cpuMicrosPerOp);
    log(`  hot path: ${hotPath.nsPerOpMonitor} ns/op with the monitor, ${hotPath.nsPerOpMonitorCommands} ns/op in commands mode, ${hotPath.nsPerOpNoListener} ns/op without`);
    const result: MonitorBenchResult = {
      benchmark: 'monitor',
      date: new Date().toISOString(),
      workload: 'findOne({ _id })',
      method:
        `${describeMethod(settings)}; medians of the paired ratios; ` +
        (closedLoop ? `closed loop of ${settings.concurrency} callers each` : `open loop at ${settings.rate} ops/s each`),
      settings,
      environment: { ...machine(), driver: driverVersion(), serverPinned: server?.pinned ?? false },
      variants: results,
      commandsModeVsDriverFloor,
      controlResolves,
      goals,
      pairs,
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
    await Promise.all([...live].map(stopVariant));
    await server?.stop();
  }
}

export function formatTable(result: MonitorBenchResult): string {
  const h = result.hotPath;
  const hot =
    `hot path (events replayed, no I/O): ${h.nsPerOpMonitor} ns/op with PoolMonitor (${h.nsPerOpMonitorSeveralPools} with three pools), ${h.nsPerOpMonitorCommands} ns/op with ` +
    `commands: true, ${h.nsPerOpNoListener} ns/op without = ${(h.monitorShareOfDriverCpu * 100).toFixed(2)} % / ` +
    `${(h.monitorCommandsShareOfDriverCpu * 100).toFixed(2)} % of the bare driver's CPU per operation`;
  const ed = result.commandsModeVsDriverFloor;
  const lines = [
    table(
      ['variant', 'ops/s', 'CPU µs/op', 'throughput vs (a)', '95% CI', 'CPU/op vs (a)', '95% CI', 'CPU/op range'],
      result.variants.map((v) => [
        `(${v.id}) ${v.label}`,
        v.opsPerSec,
        v.cpuMicrosPerOp.toFixed(1),
        `${v.throughputRatio.toFixed(3)}×`,
        v.id === 'a' ? '' : `${v.throughputRatioCI95[0].toFixed(3)}–${v.throughputRatioCI95[1].toFixed(3)}`,
        `${v.cpuRatio.toFixed(3)}×`,
        v.id === 'a' ? '' : `${v.cpuRatioCI95[0].toFixed(3)}–${v.cpuRatioCI95[1].toFixed(3)}`,
        v.id === 'a' ? '' : `${v.cpuRatioRange[0].toFixed(3)}–${v.cpuRatioRange[1].toFixed(3)}`,
      ]),
    ),
    ...(ed ? [`(e) vs (d): CPU/op ${ed.cpuRatio.toFixed(3)}× (95% CI ${ed.cpuRatioCI95[0].toFixed(3)}–${ed.cpuRatioCI95[1].toFixed(3)}, range ${ed.cpuRatioRange[0].toFixed(3)}–${ed.cpuRatioRange[1].toFixed(3)}), throughput ${ed.throughputRatio.toFixed(3)}×`] : []),
    ...(result.controlResolves === false
      ? [`goals: not judged, the control (a0) measured ${result.variants.find((v) => v.id === 'a0')!.cpuRatio.toFixed(3)}× (this run does not resolve a 3% difference)`]
      : []),
    ...(Object.values(result.goals).some((v) => v !== null)
      ? [`goals: ${Object.entries(result.goals).filter(([, v]) => v !== null).map(([k, v]) => `${k} ${v ? 'met' : 'NOT met'}`).join('; ')}`]
      : []),
    hot,
  ];
  return lines.join('\n');
}

/** `port` is a parameter, not a constant, so each address below is built at run time as the driver builds it. */
function measureHotPath(driverMicrosPerOp: number, hotPathPort = 27017): HotPathResult {
  const host = '127.0.0.1';
  const address = `${host}:${hotPathPort}`;
  const iterations = 300_000;
  // As the driver: every pool event gets a new address string (ConnectionPool#address builds it),
  // command events share their connection's.
  const poolEvent = <T extends object>(fields: T) => ({ address: `${host}:${hotPathPort}`, ...fields });
  const commandStarted = { address, connectionId: 1, commandName: 'find', databaseName: 'bench', command: { find: 'items' } };
  const commandSucceeded = { address, connectionId: 1, commandName: 'find', duration: 0.2 };
  const perOp = (withMonitor: boolean, commands: boolean, pools = 1): number => {
    const client = new MongoClient(`mongodb://${address}`);
    const monitor = withMonitor ? PoolMonitor.attach(client, { name: `hot-${commands}-${pools}`, commands }) : undefined;
    const emit = (event: string, payload: object) => client.emit(event as any, payload as any);
    for (let other = 1; other < pools; other++) emit('connectionPoolCreated', { address: `${host}:${hotPathPort + other}`, options: { maxPoolSize: 20, minPoolSize: 0 } });
    emit('connectionPoolCreated', { address, options: { maxPoolSize: 20, minPoolSize: 0 } });
    emit('connectionCreated', { address, connectionId: 1 });
    emit('connectionReady', { address, connectionId: 1, durationMS: 1 });
    let best = Infinity;
    for (let round = 0; round < 5; round++) {
      const cpu0 = process.cpuUsage();
      for (let i = 0; i < iterations; i++) {
        emit('connectionCheckOutStarted', poolEvent({}));
        emit('connectionCheckedOut', poolEvent({ connectionId: 1, durationMS: 0 }));
        if (commands) {
          emit('commandStarted', commandStarted);
          emit('commandSucceeded', commandSucceeded);
        }
        emit('connectionCheckedIn', poolEvent({ connectionId: 1 }));
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
  const nsPerOpMonitorSeveralPools = perOp(true, false, 3);
  return {
    nsPerOpNoListener,
    nsPerOpMonitor,
    nsPerOpMonitorCommands,
    nsPerOpMonitorSeveralPools,
    monitorShareOfDriverCpu: round((nsPerOpMonitor - nsPerOpNoListener) / (driverMicrosPerOp * 1000), 4),
    monitorCommandsShareOfDriverCpu: round((nsPerOpMonitorCommands - nsPerOpNoListenerCommands) / (driverMicrosPerOp * 1000), 4),
  };
}

// ---- workload ------------------------------------------------------------------------------

/** The documents every variant's findOne({ _id }) reads. */
async function prepare(uri: string): Promise<void> {
  const client = new MongoClient(uri);
  try {
    const items = client.db('bench').collection<{ _id: number; name: string; qty: number }>('items');
    await items.deleteMany({});
    await items.insertMany(Array.from({ length: MONITOR_BENCH_DOCS }, (_, i) => ({ _id: i, name: `item-${i}`, qty: i % 17 })));
    const found = await items.findOne({ _id: 7 });
    if (found?.name !== 'item-7') throw new Error('findOne returned the wrong document');
  } finally {
    await client.close();
  }
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
      reps: 8,
      concurrency: 32,
      pool: 20,
      rate: 0,
      method: 'interleaved',
      blocks: 0,
      'slice-ms': 250,
      variants: MONITOR_VARIANTS.map((v) => v.id).join(','),
      out: '',
    });
    const result = await run({
      durationMS: flags['duration-ms'],
      warmupMS: flags['warmup-ms'],
      initialWarmupMS: flags['initial-warmup-ms'],
      repetitions: flags.reps,
      concurrency: flags.concurrency,
      poolSize: flags.pool,
      rate: flags.rate,
      method: flags.method,
      ...(flags.blocks ? { blocks: flags.blocks } : {}),
      sliceMS: flags['slice-ms'],
      variants: String(flags.variants).split(','),
      ...(flags.out ? { out: String(flags.out) } : {}),
    });
    process.stdout.write(`${formatTable(result)}\n`);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
