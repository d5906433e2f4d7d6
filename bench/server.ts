// npm run bench -- server: the embedded server against a floor server (same socket layer and
// dispatcher, one pre-encoded find reply), each in its own process, each driven by the real driver
// in a load process of its own. Reports ops/s, p50/p99 and server CPU µs per operation as ratios to
// the floor, plus resident memory per idle connection.
//
// Method: this VM's speed drifts by 2× within seconds (steal time), so the two are measured at
// the same time: both servers pinned to one CPU, both load processes to the other, and one
// measured window that opens and closes for both together. Each repetition's ratios are samples;
// the medians are reported.
import net from 'node:net';
import { once } from 'node:events';
import { BSON } from 'bson';
import { encodeOpMsgRequest } from '../src/server/wire/codec.js';
import { forkSupport, LOAD_CPU, pinProcess, request, startBenchServer, machine, writeResults, table, parseFlags, median, type BenchServer } from './support/harness.js';

const flags = parseFlags(process.argv.slice(2), { 'duration-ms': 3000, reps: 7, concurrency: 64, pool: 50, docs: 10000, 'idle-connections': 2000 });

interface Run { ops: number; errors: number; elapsedMS: number; clientCpuUS: number; p50US: number; p99US: number; serverCpuUS: number }

/** A load process against one server; its measured window opens and closes at the parent's signal. */
function startLoad(server: BenchServer, job: { durationMS: number; populate?: number }) {
  const child = forkSupport('find-load.ts');
  // The load generators on one core, the servers on the other (see pinProcess).
  if (child.pid !== undefined && server.pinned) pinProcess(child.pid, LOAD_CPU);
  const edges: Record<'open' | 'close', Promise<void>> = {
    open: new Promise((resolve) => child.on('message', (m: { type?: string; edge?: string }) => m?.type === 'window' && m.edge === 'open' && resolve())),
    close: new Promise((resolve) => child.on('message', (m: { type?: string; edge?: string }) => m?.type === 'window' && m.edge === 'close' && resolve())),
  };
  const result = request<Omit<Run, 'serverCpuUS'>>(child, {
    uri: server.uri, durationMS: job.durationMS, concurrency: flags.concurrency, maxPoolSize: flags.pool, populate: job.populate, ids: flags.docs,
  }, undefined, (m) => (m as { type?: string }).type === undefined);
  return { child, edges, result, ack: (edge: 'open' | 'close') => child.send({ type: 'window-ack', edge }) };
}

/**
 * Loads every server at once, each from its own load process, over one shared measured window:
 * it opens when every load process has warmed up and closes when the last one has finished; each
 * server's CPU is sampled at both edges (the warm-up, connect and close are not charged to it).
 */
async function loadTogether<K extends string>(targets: Record<K, BenchServer>, job: { durationMS: number; populate?: number }): Promise<Record<K, Run>> {
  const kinds = Object.keys(targets) as K[];
  const loads = kinds.map((k) => startLoad(targets[k], job));
  await Promise.all(loads.map((l) => l.edges.open));
  const before = await Promise.all(kinds.map((k) => targets[k].stats()));
  for (const l of loads) l.ack('open');
  await Promise.all(loads.map((l) => l.edges.close));
  const after = await Promise.all(kinds.map((k) => targets[k].stats()));
  for (const l of loads) l.ack('close');
  const results = await Promise.all(loads.map((l) => l.result));
  const cpu = (u: NodeJS.CpuUsage) => u.user + u.system;
  return Object.fromEntries(kinds.map((k, i) => [k, { ...results[i], serverCpuUS: cpu(after[i].cpu) - cpu(before[i].cpu) }])) as Record<K, Run>;
}

/** Opens idle connections (each completes a hello) and returns the server's RSS growth per connection. */
async function idleMemory(server: BenchServer, count: number): Promise<number> {
  const port = Number(new URL(server.uri).port);
  const before = (await server.stats()).rss;
  const sockets: net.Socket[] = [];
  const hello = encodeOpMsgRequest(1, BSON.serialize({ hello: 1, $db: 'admin', client: { driver: { name: 'bench', version: '0' } } }));
  for (let i = 0; i < count; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, count - i) }, async () => {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.on('error', () => {});
      await once(s, 'connect');
      s.write(hello);
      await once(s, 'data');
      sockets.push(s);
    }));
  }
  const stats = await server.stats();
  if (stats.connections < count) throw new Error(`only ${stats.connections} of ${count} idle connections are open`);
  for (const s of sockets) s.destroy();
  return (stats.rss - before) / count;
}

const servers = { floor: await startBenchServer('floor'), ours: await startBenchServer('ours') };
try {
  process.stderr.write(`populating ${flags.docs} documents...\n`);
  await loadTogether({ ours: servers.ours }, { durationMS: 200, populate: flags.docs });
  const runs: Record<'floor' | 'ours', Run[]> = { floor: [], ours: [] };
  for (let rep = 0; rep < flags.reps; rep++) {
    const both = await loadTogether(servers, { durationMS: flags['duration-ms'] });
    for (const kind of ['floor', 'ours'] as const) runs[kind].push(both[kind]);
    const rate = (r: Run) => Math.round((r.ops / r.elapsedMS) * 1000);
    process.stderr.write(
      `rep ${rep + 1}/${flags.reps}: floor ${rate(both.floor)} ops/s, ${(both.floor.serverCpuUS / both.floor.ops).toFixed(1)} µs/op; ` +
        `ours ${rate(both.ours)} ops/s, ${(both.ours.serverCpuUS / both.ours.ops).toFixed(1)} µs/op\n`,
    );
  }
  const idle = {
    floor: await idleMemory(servers.floor, flags['idle-connections']),
    ours: await idleMemory(servers.ours, flags['idle-connections']),
  };
  const summarize = (rs: Run[]) => ({
    opsPerSec: rs.reduce((a, r) => a + r.ops, 0) / (rs.reduce((a, r) => a + r.elapsedMS, 0) / 1000),
    p50MS: median(rs.map((r) => r.p50US)) / 1000,
    p99MS: median(rs.map((r) => r.p99US)) / 1000,
    serverCpuUSPerOp: rs.reduce((a, r) => a + r.serverCpuUS, 0) / rs.reduce((a, r) => a + r.ops, 0),
    clientCpuUSPerOp: rs.reduce((a, r) => a + r.clientCpuUS, 0) / rs.reduce((a, r) => a + r.ops, 0),
    errors: rs.reduce((a, r) => a + r.errors, 0),
  });
  const floor = summarize(runs.floor);
  const ours = summarize(runs.ours);
  // Paired per repetition (the same seconds of the same machine), then the median.
  const paired = (pick: (r: Run) => number) => median(runs.ours.map((r, i) => pick(r) / pick(runs.floor[i])));
  const ratios = {
    throughput: paired((r) => r.ops / r.elapsedMS),
    p50: paired((r) => r.p50US),
    p99: paired((r) => r.p99US),
    serverCpuPerOp: paired((r) => r.serverCpuUS / r.ops),
  };
  const goals = {
    throughputAtLeast95pct: ratios.throughput >= 0.95,
    serverCpuAtMost1_5x: ratios.serverCpuPerOp <= 1.5,
    idleConnectionAtMost64KiB: idle.ours <= 64 * 1024,
  };
  const result = { benchmark: 'server', date: new Date().toISOString(), machine: { ...machine(), pinned: servers.ours.pinned && servers.floor.pinned }, flags, floor, ours, ratios, idleBytesPerConnection: idle, goals, runs };
  const file = writeResults('server', result);
  const f = (n: number, d = 1) => n.toFixed(d);
  console.log(table(
    ['server', 'ops/s', 'p50 ms', 'p99 ms', 'server CPU µs/op', 'idle conn KiB', 'errors'],
    [
      ['floor', f(floor.opsPerSec, 0), f(floor.p50MS, 2), f(floor.p99MS, 2), f(floor.serverCpuUSPerOp), f(idle.floor / 1024), floor.errors],
      ['ours', f(ours.opsPerSec, 0), f(ours.p50MS, 2), f(ours.p99MS, 2), f(ours.serverCpuUSPerOp), f(idle.ours / 1024), ours.errors],
      ['ours/floor', f(ratios.throughput, 3), f(ratios.p50, 3), f(ratios.p99, 3), f(ratios.serverCpuPerOp, 3), '', ''],
    ],
  ));
  console.log(`goals: ${Object.entries(goals).map(([k, v]) => `${k}=${v ? 'met' : 'NOT met'}`).join(', ')}`);
  console.log(`results: ${file}`);
} finally {
  await Promise.all(Object.values(servers).map((s) => s.stop()));
}
