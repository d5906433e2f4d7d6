// npm run bench -- load-model: throughput saturation under the embedded server's load model.
// A closed-loop sweep (N callers, each issuing its next operation as soon as the last returns)
// against a server with a fixed service time and a capacity: throughput should grow linearly up to
// the capacity and plateau at maxConcurrentOps / latencyMS (8 / 5 ms = 1600 ops/s by default),
// while latency grows with the queue (Little's law: latency ≈ N / throughput beyond saturation).
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MongoClient } from 'mongodb';
import * as hdr from 'hdr-histogram-js';
import { startServer, type LoadModelStats } from '../src/server/index.js';
import { machine, parseFlags, request, table, writeResults } from './support/harness.js';

export interface LoadModelBenchOptions {
  latencyMS?: number;
  maxConcurrentOps?: number;
  /** Closed-loop concurrency levels to sweep. */
  concurrency?: number[];
  durationMS?: number;
  warmupMS?: number;
  /** The operation: `find` (findOne by _id) or `ping`. */
  op?: 'find' | 'ping';
}

export interface LoadModelBenchRow {
  concurrency: number;
  opsPerSec: number;
  expectedOpsPerSec: number;
  p50MS: number;
  p99MS: number;
  expectedLatencyMS: number;
  maxObservedRunning: number;
  errors: number;
}

export async function run(options: LoadModelBenchOptions = {}): Promise<{ options: Required<LoadModelBenchOptions>; rows: LoadModelBenchRow[] }> {
  const opts: Required<LoadModelBenchOptions> = {
    latencyMS: options.latencyMS ?? 5,
    maxConcurrentOps: options.maxConcurrentOps ?? 8,
    concurrency: options.concurrency ?? [1, 2, 4, 8, 16, 32, 64],
    durationMS: options.durationMS ?? 2000,
    warmupMS: options.warmupMS ?? 300,
    op: options.op ?? 'find',
  };
  // The server runs in its own process, so the load generator's CPU time does not delay its timers.
  const server = await startServerProcess(opts.latencyMS, opts.maxConcurrentOps);
  const maxConcurrency = Math.max(...opts.concurrency);
  const client = new MongoClient(server.uri, { maxPoolSize: maxConcurrency, minPoolSize: maxConcurrency });
  const rows: LoadModelBenchRow[] = [];
  try {
    const coll = client.db('bench').collection<{ _id: number; n: number }>('docs');
    if (opts.op === 'find') await coll.insertMany(Array.from({ length: 100 }, (_, i) => ({ _id: i, n: i })));
    const operation = opts.op === 'find' ? (i: number) => coll.findOne({ _id: i % 100 }) : () => client.db('admin').command({ ping: 1 });
    const capacityOpsPerSec = (opts.maxConcurrentOps / opts.latencyMS) * 1000;
    for (const concurrency of opts.concurrency) {
      const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3, useWebAssembly: false });
      let ops = 0;
      let errors = 0;
      let recording = false;
      let seq = 0;
      const start = performance.now();
      const warmEnd = start + opts.warmupMS;
      const end = warmEnd + opts.durationMS;
      const caller = async () => {
        while (performance.now() < end) {
          const t0 = performance.now();
          try {
            await operation(seq++);
          } catch {
            errors++;
          }
          if (recording) {
            ops++;
            histogram.recordValue(Math.round((performance.now() - t0) * 1000));
          }
        }
      };
      const warm = setTimeout(() => {
        recording = true;
        void server.resetStats();
      }, opts.warmupMS);
      const measureStart = warmEnd;
      await Promise.all(Array.from({ length: concurrency }, caller));
      clearTimeout(warm);
      const elapsedS = (performance.now() - measureStart) / 1000;
      const expectedOpsPerSec = Math.min(concurrency, opts.maxConcurrentOps) * (1000 / opts.latencyMS);
      rows.push({
        concurrency,
        opsPerSec: Math.round(ops / elapsedS),
        expectedOpsPerSec: Math.round(Math.min(expectedOpsPerSec, capacityOpsPerSec)),
        p50MS: histogram.getValueAtPercentile(50) / 1000,
        p99MS: histogram.getValueAtPercentile(99) / 1000,
        expectedLatencyMS: Math.max(opts.latencyMS, (concurrency / capacityOpsPerSec) * 1000),
        maxObservedRunning: (await server.stats()).maxObservedRunning,
        errors,
      });
      process.stderr.write(`concurrency ${concurrency}: ${rows.at(-1)!.opsPerSec} ops/s\n`);
    }
  } finally {
    await client.close();
    await server.stop();
  }
  return { options: opts, rows };
}

interface ServerProcess {
  uri: string;
  stats(): Promise<LoadModelStats>;
  resetStats(): Promise<unknown>;
  stop(): Promise<void>;
}

async function startServerProcess(latencyMS: number, maxConcurrentOps: number): Promise<ServerProcess> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--serve', String(latencyMS), String(maxConcurrentOps)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [ready] = (await once(child, 'message')) as [{ uri: string }];
  return {
    uri: ready.uri,
    stats: () => request<LoadModelStats>(child, { type: 'stats' }, 'stats').then((m) => (m as unknown as { stats: LoadModelStats }).stats),
    resetStats: () => request(child, { type: 'reset' }, 'reset'),
    async stop() {
      const exited = once(child, 'exit');
      child.send({ type: 'stop' });
      await exited;
    },
  };
}

/** `--serve LATENCY CAPACITY`: the server side, answering stats/reset/stop over IPC. */
async function serve(latencyMS: number, maxConcurrentOps: number): Promise<void> {
  const server = await startServer({ latencyMS, maxConcurrentOps });
  process.on('message', (msg: { type: string }) => {
    if (msg.type === 'stats') process.send?.({ type: 'stats', stats: server.loadModel.stats });
    else if (msg.type === 'reset') {
      server.loadModel.resetStats();
      process.send?.({ type: 'reset' });
    } else if (msg.type === 'stop') void server.stop().then(() => process.exit(0));
  });
  process.on('disconnect', () => void server.stop().then(() => process.exit(0)));
  process.send?.({ type: 'ready', uri: server.uri });
}

const isMain = import.meta.url === pathToFileURL(process.argv[1] ?? '').href;
if (isMain && process.argv[2] === '--serve') {
  await serve(Number(process.argv[3]), Number(process.argv[4]));
} else if (isMain) {
  const flags = parseFlags(process.argv.slice(2), { 'latency-ms': 5, 'max-concurrent-ops': 8, concurrency: '1,2,4,8,16,32,64', 'duration-ms': 2000, op: 'find' });
  const result = await run({
    latencyMS: flags['latency-ms'],
    maxConcurrentOps: flags['max-concurrent-ops'],
    concurrency: String(flags.concurrency).split(',').map(Number),
    durationMS: flags['duration-ms'],
    op: flags.op,
  });
  const file = writeResults('load-model', { machine: machine(), date: new Date().toISOString(), ...result });
  console.log(
    table(
      ['callers', 'ops/s', 'model ops/s', 'p50 ms', 'p99 ms', 'model latency ms', 'max running', 'errors'],
      result.rows.map((r) => [r.concurrency, r.opsPerSec, r.expectedOpsPerSec, r.p50MS.toFixed(2), r.p99MS.toFixed(2), r.expectedLatencyMS.toFixed(1), r.maxObservedRunning, r.errors]),
    ),
  );
  console.log(`\nplateau expected at ${result.options.maxConcurrentOps} / ${result.options.latencyMS} ms = ${Math.round((result.options.maxConcurrentOps / result.options.latencyMS) * 1000)} ops/s; results in ${file}`);
}
