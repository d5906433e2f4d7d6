// npm run bench -- server: the embedded server against a floor server (same socket layer and
// dispatcher, one pre-encoded find reply), each in its own process, driven by the real driver in a
// third process. Reports ops/s, p50/p99 and server CPU µs per operation as ratios to the floor,
// plus resident memory per idle connection.
import net from 'node:net';
import { once } from 'node:events';
import { BSON } from 'bson';
import { encodeOpMsgRequest } from '../src/server/wire/codec.js';
import { forkSupport, LOAD_CPU, pinProcess, request, startBenchServer, machine, writeResults, table, parseFlags, median, type BenchServer } from './support/harness.js';

const flags = parseFlags(process.argv.slice(2), { 'duration-ms': 5000, reps: 3, concurrency: 64, pool: 50, docs: 10000, 'idle-connections': 2000 });

interface Run { ops: number; errors: number; elapsedMS: number; clientCpuUS: number; p50US: number; p99US: number; serverCpuUS: number }

async function load(server: BenchServer, populate?: number): Promise<Run> {
  const child = forkSupport('find-load.ts');
  // The load generator on one core, the servers on the other (see pinProcess).
  if (child.pid !== undefined && server.pinned) pinProcess(child.pid, LOAD_CPU);
  // Server CPU is sampled when the child opens and closes its measured window, so the warm-up,
  // connection set-up and close are not charged to the measured operations.
  const samples: NodeJS.CpuUsage[] = [];
  child.on('message', (m: { type?: string; edge?: string }) => {
    if (m?.type !== 'window') return;
    void server.stats().then((stats) => {
      samples.push(stats.cpu);
      child.send({ type: 'window-ack', edge: m.edge });
    });
  });
  const result = await request<Omit<Run, 'serverCpuUS'>>(child, {
    uri: server.uri, durationMS: populate ? 200 : flags['duration-ms'], concurrency: flags.concurrency, maxPoolSize: flags.pool, populate, ids: flags.docs,
  }, undefined, (m) => (m as { type?: string }).type === undefined);
  if (samples.length !== 2) throw new Error(`expected two window samples of the server's CPU, got ${samples.length}`);
  const [before, after] = samples;
  const serverCpuUS = after.user + after.system - (before.user + before.system);
  return { ...result, serverCpuUS };
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
  await load(servers.ours, flags.docs);
  const runs: Record<'floor' | 'ours', Run[]> = { floor: [], ours: [] };
  for (let rep = 0; rep < flags.reps; rep++) {
    const order: Array<'floor' | 'ours'> = rep % 2 === 0 ? ['floor', 'ours'] : ['ours', 'floor'];
    for (const kind of order) {
      const run = await load(servers[kind]);
      runs[kind].push(run);
      process.stderr.write(`rep ${rep + 1}/${flags.reps} ${kind}: ${Math.round((run.ops / run.elapsedMS) * 1000)} ops/s, server ${(run.serverCpuUS / run.ops).toFixed(1)} µs/op\n`);
    }
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
  const ratios = {
    throughput: ours.opsPerSec / floor.opsPerSec,
    p50: ours.p50MS / floor.p50MS,
    p99: ours.p99MS / floor.p99MS,
    serverCpuPerOp: ours.serverCpuUSPerOp / floor.serverCpuUSPerOp,
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
