// Shared benchmark plumbing: child processes with IPC, machine description, result files, tables.
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
export const RESULTS_DIR = join(here, '..', 'results');

/** Forks a TypeScript module of bench/support with IPC. */
export function forkSupport(script: string, args: string[] = []): ChildProcess {
  return fork(join(here, script), args, { execArgv: ['--expose-gc', '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

/** Sends one message and resolves with the next message of the given type (or accepted by `accept`). */
export async function request<T>(child: ChildProcess, message: object, type?: string, accept?: (m: unknown) => boolean): Promise<T> {
  const reply = new Promise<T>((resolve, reject) => {
    const onMessage = (m: any) => {
      if (accept ? accept(m) : type === undefined || m?.type === type) {
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(m as T);
      }
    };
    const onExit = (code: number | null) => reject(new Error(`benchmark child exited with code ${code} before replying`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
  child.send(message);
  return reply;
}

/**
 * Pins a process (all its threads) to one CPU with util-linux `taskset`, so a server and its load
 * generator on a 2-core machine stop stealing each other's core: the figures that matter (CPU per
 * operation) get far less noisy. False where there is one CPU, no taskset, or no permission;
 * POOLKIT_BENCH_NO_PIN=1 turns it off.
 */
export function pinProcess(pid: number, cpu: number): boolean {
  if (process.env.POOLKIT_BENCH_NO_PIN === '1' || os.availableParallelism() < 2) return false;
  const result = spawnSync('taskset', ['-a', '-p', '-c', String(cpu % os.availableParallelism()), String(pid)], { stdio: 'ignore' });
  const ok = result.status === 0;
  if (ok && pid === process.pid) selfPinnedTo = cpu;
  return ok;
}

/** The CPU this process was pinned to, for the results' machine description. */
let selfPinnedTo: number | null = null;

/** CPU 0 for the load generator (this process), CPU 1 for servers: see pinProcess. */
export const LOAD_CPU = 0;
export const SERVER_CPU = 1;

export interface BenchServer {
  child: ChildProcess;
  uri: string;
  /** Whether the server process runs on its own CPU (pinProcess). */
  pinned: boolean;
  stats(): Promise<{ cpu: NodeJS.CpuUsage; rss: number; connections: number }>;
  stop(): Promise<void>;
}

export async function startBenchServer(kind: string): Promise<BenchServer> {
  const child = forkSupport('server-process.ts', [kind]);
  const [ready] = (await once(child, 'message')) as [{ type: string; uri: string }];
  const pinned = child.pid !== undefined && pinProcess(child.pid, SERVER_CPU);
  return {
    child,
    uri: ready.uri,
    pinned,
    stats: () => request(child, { type: 'stats' }, 'stats'),
    async stop() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.send({ type: 'stop' });
      await exited;
    },
  };
}

export function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
    loadPinnedToCpu: selfPinnedTo,
  };
}

export function writeResults(name: string, data: object): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${name}.json`);
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}

/** A plain text table (Markdown-compatible). */
export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(headers), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...cells.slice(1).map(line)].join('\n');
}

export function parseFlags(argv: string[], defaults: Record<string, number | string | boolean>): Record<string, any> {
  const out: Record<string, any> = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      console.log(`flags (defaults): ${Object.entries(defaults).map(([k, v]) => `--${k} ${v}`).join('  ')}`);
      process.exit(0);
    }
    if (!arg.startsWith('--')) throw new Error(`unexpected argument '${arg}'`);
    const key = arg.slice(2);
    if (!(key in defaults)) throw new Error(`unknown flag --${key}; known: ${Object.keys(defaults).map((k) => `--${k}`).join(', ')}`);
    if (typeof defaults[key] === 'boolean') out[key] = true;
    else {
      const value = argv[++i];
      if (value === undefined) throw new Error(`--${key} needs a value`);
      out[key] = typeof defaults[key] === 'number' ? Number(value) : value;
      if (typeof defaults[key] === 'number' && !Number.isFinite(out[key])) throw new Error(`--${key} expects a number, got '${value}'`);
    }
  }
  return out;
}

export { median } from '../../src/util/stats.js';

/**
 * A distribution-free confidence interval for the median: the order statistics x(k) and
 * x(n + 1 − k), with k the largest rank such that P(Binomial(n, ½) < k) ≤ (1 − confidence) / 2.
 * No assumption about the shape of the samples (a VM stall makes them skewed). With few samples
 * it is the whole range [min, max] (for 95%: up to 8 samples, whose range covers the median with
 * probability 99.2%).
 */
export function medianInterval(values: number[], confidence = 0.95): [number, number] {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return [Number.NaN, Number.NaN];
  const tail = (1 - confidence) / 2;
  let k = 0;
  let probability = 2 ** -n; // P(B = 0)
  let cumulative = 0;
  for (let j = 0; j < n; j++) {
    cumulative += probability;
    if (cumulative > tail) break;
    k = j + 1;
    probability *= (n - j) / (j + 1);
  }
  return k === 0 ? [s[0], s[n - 1]] : [s[k - 1], s[n - k]];
}
