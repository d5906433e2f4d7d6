import type { MongoClient, Collection, Document } from 'mongodb';
import { createClient } from '../client/create-client.js';
import { presetOptions } from '../client/presets.js';
import { PoolMonitor } from '../monitor/pool-monitor.js';
import type { PoolSnapshot, ServerConnections } from '../monitor/types.js';
import { checkHealth } from '../resilience/health.js';
import { waitForServer } from '../resilience/wait-for-server.js';
import { withRetry } from '../resilience/retry.js';
import { RetryBudget } from '../resilience/budget.js';
import { gracefulShutdown } from '../resilience/shutdown.js';
import { recommendPoolSize } from '../sizing/recommend.js';
import { seedFormulaPoolSize } from '../sizing/rules.js';
import { runSweep, type SweepResult } from '../bench/sweep.js';
import { runOpenLoop } from '../bench/open-loop.js';
import { runDoctor } from '../doctor/index.js';
import type { EmbeddedServer } from '../server/index.js';
import { createRandom } from '../util/random.js';
import { redactUri } from '../util/redact.js';
import type { DemoReporter } from './reporter.js';

export interface DemoContext {
  uri: string;
  /** The embedded server when the demo started one (lets it stop/restart the server and inject faults). */
  embedded: EmbeddedServer | undefined;
  /** Server capacity of the embedded server's load model (ops at once), when known. */
  serverCapacity: number | undefined;
  /** configureFailPoint is available (embedded server, or a mongod with test commands). */
  failPoints: boolean;
  out: DemoReporter;
  /** The application client of the walkthrough (seed preset, monitored). */
  client?: MongoClient;
  monitor?: PoolMonitor;
}

const DB = 'connection_pool_demo';
const ms = (n: number, digits = 2) => `${n.toFixed(digits)} ms`;

function testData(ctx: DemoContext): Collection<Document> {
  return ctx.client!.db(DB).collection('test_data');
}

/** 1. Configuration: the seed's optimized client, validated, with its pool monitor attached before connect. */
export async function configuration(ctx: DemoContext): Promise<void> {
  const { out } = ctx;
  out.heading('Configuration');
  const client = createClient(ctx.uri, { preset: 'seed', appName: 'poolkit-demo', onWarning: (w) => out.note(`warning: ${w.message}`) });
  ctx.client = client;
  ctx.monitor = PoolMonitor.attach(client, { name: 'demo', leakThresholdMS: 5000 });
  const options = presetOptions('seed');
  out.line(`  createClient(${JSON.stringify(redactUri(ctx.uri))}, { preset: 'seed' }) → a validated MongoClient:`);
  out.table(['option', 'value'], Object.entries(options).map(([k, v]) => [k, String(v)]));
  await client.connect();
  out.ok('connected (options validated before the driver saw them; the pool monitor was attached before connect)');
  out.record('configuration', { preset: 'seed', options });
}

/** 2. Pool statistics: the client's exact pool view and the server's serverStatus.connections while 5 workers query. */
export async function poolStatistics(ctx: DemoContext): Promise<void> {
  const { out } = ctx;
  out.heading('Pool statistics (serverStatus)');
  const coll = testData(ctx);
  await coll.deleteMany({});
  await coll.insertOne({ test: true, created: new Date() });
  let peakInUse = 0;
  const sample = () => {
    for (const s of Object.values(ctx.monitor!.snapshot().servers)) peakInUse = Math.max(peakInUse, s.inUse);
  };
  let completed = 0;
  const worker = async () => {
    for (let i = 0; i < 5; i++) {
      await coll.findOne({ test: true });
      completed++;
      sample();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const during = Promise.all(Array.from({ length: 5 }, worker));
  await new Promise((resolve) => setTimeout(resolve, 150));
  // The pool may open a connection while serverStatus is on its way (minPoolSize warm-up): compare
  // views only when the pool's total was the same just before and just after the server's count.
  const totalOf = (snapshot: PoolSnapshot) =>
    Object.values(snapshot.servers).reduce((sum, server) => sum + server.total, 0);
  let serverDuring: ServerConnections;
  let clientDuring: PoolSnapshot;
  let attempts = 0;
  do {
    const before = totalOf(ctx.monitor!.snapshot());
    serverDuring = await ctx.monitor!.serverConnections();
    clientDuring = ctx.monitor!.snapshot();
    if (totalOf(clientDuring) === before) break;
  } while (++attempts < 5);
  await during;
  const [address, pool] = Object.entries(clientDuring.servers)[0];
  out.line(`  5 workers × 5 findOne({ test: true }), 100 ms apart, sharing one client (${completed} queries completed)`);
  out.table(
    ['view', 'total', 'idle', 'in use', 'waiting', 'created', 'wait p99', 'use p99'],
    [[`client pool ${address}`, pool.total, pool.idle, pool.inUse, pool.pending, pool.created, ms(pool.waitTime.p99), ms(pool.useTime.p99)]],
  );
  out.table(
    ['view', 'current', 'available', 'totalCreated', 'active'],
    [['server serverStatus.connections', serverDuring.current, serverDuring.available, serverDuring.totalCreated, serverDuring.active ?? '-']],
  );
  out.note(`the server counts the pool's ${pool.total} connection(s) plus the driver's monitoring connection(s); peak in use: ${peakInUse}`);
  out.record('poolStatistics', { client: clientDuring, server: serverDuring, peakInUse, queries: completed });
}

/** 3. Health check with response time. */
export async function healthCheck(ctx: DemoContext): Promise<void> {
  const { out } = ctx;
  out.heading('Health check');
  const report = await checkHealth(ctx.client!, { timeoutMS: 2000 });
  if (report.ok) out.ok(`healthy: ping ${ms(report.latencyMS)}, topology ${report.topology}, writable: ${report.writable}`);
  else out.bad(`unhealthy: ${report.error?.message}`);
  if (report.pool) out.note(`pool: ${JSON.stringify(report.pool)}`);
  out.record('healthCheck', report);
}

/** 4. Reconnection with backoff against a server that is briefly stopped and restarted. */
export async function reconnection(ctx: DemoContext): Promise<void> {
  const { out, embedded } = ctx;
  out.heading('Reconnection');
  if (!embedded) {
    out.skip('reconnection', 'needs the embedded server (the demo cannot stop a --uri deployment)');
    return;
  }
  const downtimeMS = 1500;
  const restarting = embedded.restart({ downtimeMS });
  // Health turns red as soon as the listener is gone.
  let down = await checkHealth(ctx.client!, { timeoutMS: 300 });
  for (let i = 0; i < 20 && down.ok; i++) down = await checkHealth(ctx.client!, { timeoutMS: 300 });
  out.bad(`server stopped for ${downtimeMS} ms: health ${down.ok ? 'still ok' : `unhealthy (${down.error?.name ?? 'error'})`}`);
  const attempts: Array<{ attempt: number; ok: boolean; delayMS?: number }> = [];
  const result = await waitForServer(ctx.uri, {
    initialDelayMS: 100,
    maxDelayMS: 1000,
    deadlineMS: 15_000,
    attemptTimeoutMS: 500,
    random: createRandom(1),
    onAttempt: (a) => {
      attempts.push({ attempt: a.attempt, ok: a.ok, delayMS: a.delayMS });
      out.line(`    attempt ${a.attempt}: ${a.ok ? 'connected' : `failed (${a.errorName ?? 'error'})`}${a.delayMS !== undefined && !a.ok ? `, next in ${Math.round(a.delayMS)} ms (full-jitter backoff)` : ''}`);
    },
  });
  await restarting;
  const after = await checkHealth(ctx.client!, { timeoutMS: 5000 });
  out.ok(`back after ${result.attempts} attempt(s), ${ms(result.elapsedMS, 0)}; the shared client recovered by itself: health ${after.ok ? 'ok' : 'not ok'} (${ms(after.latencyMS)})`);
  out.record('reconnection', { downtimeMS, ...result, attemptLog: attempts, healthyAfter: after.ok });
}

/** 5. Pool size comparison under concurrent load (the seed's three configurations). */
export async function poolSizeComparison(ctx: DemoContext): Promise<SweepResult> {
  const { out } = ctx;
  out.heading('Pool size comparison');
  const concurrency = 50;
  const sweep = await runSweep({
    uri: ctx.uri,
    configs: [
      { maxPoolSize: 5, minPoolSize: 1 },
      { maxPoolSize: 20, minPoolSize: 5 },
      { maxPoolSize: 50, minPoolSize: 10 },
    ],
    workload: 'findOne',
    load: { mode: 'closed', concurrency },
    durationMS: 2000,
    warmupMS: 300,
    documents: 1000,
    database: DB,
    clientOptions: { waitQueueTimeoutMS: 5000 },
  });
  out.line(`  ${concurrency} concurrent callers, findOne by _id, 2 s per configuration${ctx.serverCapacity ? ` (embedded server: 5 ms per operation, at most ${ctx.serverCapacity} at once)` : ''}`);
  out.table(
    ['maxPoolSize/minPoolSize', 'ops/s', 'p50', 'p99', 'pool wait p99', 'errors'],
    sweep.runs.map((r) => [r.label, r.result.throughput.toFixed(0), ms(r.result.latency.p50), ms(r.result.latency.p99), ms(r.poolWait.p99), r.result.errors]),
  );
  if (ctx.serverCapacity) out.note(`past ${ctx.serverCapacity} connections the server is the bottleneck: a bigger pool only moves the queue from the pool to the server`);
  out.record('poolSizeComparison', sweep.runs.map((r) => ({ label: r.label, throughput: r.result.throughput, latency: r.result.latency, poolWaitP99: r.poolWait.p99 })));
  return sweep;
}

/** 6. Pool size advice: queueing theory on a measured workload, next to the seed's formula. */
export async function poolSizeAdvice(ctx: DemoContext, comparison: SweepResult): Promise<void> {
  const { out } = ctx;
  out.heading('Pool size advice');
  // The seed's own example: 20 concurrent requests of 100 ms. Little's law: that is 200 requests/s.
  const seedAnswer = seedFormulaPoolSize({ concurrentRequests: 20, avgDurationS: 0.1 });
  const forSeedExample = recommendPoolSize({ arrivalRate: 200, holdTimeMS: { mean: 100 } });
  out.line(`  the seed's example, 20 concurrent requests of 100 ms (= 200 requests/s):`);
  out.table(['method', 'maxPoolSize'], [
    ['seed formula int(20 × 0.1 × 1.5) clamped to 10..100', seedAnswer],
    ['driver default', 100],
    ['recommendPoolSize (Little + Erlang C)', forSeedExample.maxPoolSize],
  ]);
  out.note(`20 requests in flight on average need ≥ 20 connections; the formula multiplies a concurrency by seconds and gets 3, clamped to ${seedAnswer}`);

  // A measured workload: open loop at a fixed rate, hold time from the pool monitor.
  const client = createClient(ctx.uri, { maxPoolSize: 50, appName: 'poolkit-demo-measure', onWarning: () => {} });
  const monitor = PoolMonitor.attach(client, { name: 'measure' });
  try {
    const coll = client.db(DB).collection('test_data');
    await coll.findOne({});
    // Half the best throughput the comparison measured: a load this deployment sustains with room to spare.
    const best = Math.max(...comparison.runs.map((r) => r.result.throughput));
    const rate = Math.max(20, Math.round(best / 2 / 10) * 10);
    const t0 = performance.now();
    const load = await runOpenLoop({ rate, durationMS: 1500, operation: (i) => coll.findOne({ _id: i % 1000 } as Document) });
    const seconds = (performance.now() - t0) / 1000;
    const snap = Object.values(monitor.snapshot().servers)[0];
    const arrivalRate = snap.useTime.count / seconds;
    const advice = recommendPoolSize({ arrivalRate, holdTimeMS: { mean: snap.useTime.mean, p99: snap.useTime.p99 }, serverCapacity: ctx.serverCapacity });
    out.line(`\n  measured: open loop at ${rate} ops/s → ${arrivalRate.toFixed(0)} check-outs/s, connection hold time mean ${ms(snap.useTime.mean)}, p99 ${ms(snap.useTime.p99)} (p99 latency ${ms(load.latency.p99)})`);
    out.table(['recommendation', 'value'], [
      ['maxPoolSize', advice.maxPoolSize],
      ['minPoolSize', advice.minPoolSize],
      ['waitQueueTimeoutMS', advice.waitQueueTimeoutMS],
      ['expected wait for a connection', ms(advice.expectedWaitMS, 3)],
      ['utilisation', `${(advice.utilisation * 100).toFixed(0)}%`],
    ]);
    for (const reason of advice.reasoning) out.note(`· ${reason}`);
    out.record('poolSizeAdvice', { seedFormula: seedAnswer, driverDefault: 100, seedExample: forSeedExample, measured: { rate, arrivalRate, holdTime: snap.useTime }, advice });
  } finally {
    monitor.detach();
    await client.close();
  }
}

/** 7. Retry: an idempotent read recovers from injected connection drops; a duplicate key is not retried. */
export async function retry(ctx: DemoContext): Promise<void> {
  const { out } = ctx;
  out.heading('Retry');
  if (!ctx.failPoints) {
    out.skip('retry', 'the server has no test commands (configureFailPoint): cannot inject failures');
    return;
  }
  const client = createClient(ctx.uri, { retryReads: false, retryWrites: false, appName: 'poolkit-demo-retry', onWarning: () => {} });
  try {
    const coll = client.db(DB).collection('test_data');
    await coll.findOne({});
    await client.db('admin').command({ configureFailPoint: 'failCommand', mode: { times: 2 }, data: { failCommands: ['find'], closeConnection: true, appName: 'poolkit-demo-retry' } });
    out.line('  injected: the next 2 finds drop their connection (failCommand closeConnection); the driver\'s own retry is off to show ours');
    const budget = new RetryBudget();
    const doc = await withRetry(() => coll.findOne({ test: true }), {
      idempotent: true,
      retries: 3,
      baseDelayMS: 50,
      budget,
      random: createRandom(2),
      onRetry: (e) => out.line(`    attempt ${e.attempt} failed: ${(e.error as Error).name} (${e.classification.reason}); retrying in ${Math.round(e.delayMS)} ms`),
    });
    out.ok(`recovered: found ${doc ? 'the document' : 'nothing'} on attempt 3`);
    await coll.createIndex({ uniqueKey: 1 }, { unique: true });
    await coll.deleteMany({ uniqueKey: 'demo' });
    await coll.insertOne({ uniqueKey: 'demo' });
    let attempts = 0;
    const dup = await withRetry(() => {
      attempts++;
      return coll.insertOne({ uniqueKey: 'demo' });
    }, { budget }).catch((e: Error) => e);
    const cause = (dup as Error & { cause?: { code?: number } }).cause;
    out.ok(`a duplicate key is never retried: ${attempts} attempt, then ${(dup as Error).name} (cause: code ${cause?.code})`);
    out.record('retry', { recovered: Boolean(doc), duplicateKeyAttempts: attempts });
  } finally {
    await client.db('admin').command({ configureFailPoint: 'failCommand', mode: 'off' }).catch(() => {});
    await client.close();
  }
}

/** 8. Best practices: the doctor checks the live deployment and the demo client's configuration. */
export async function bestPractices(ctx: DemoContext): Promise<void> {
  const { out } = ctx;
  out.heading('Best practices');
  const report = await runDoctor(ctx.uri, { options: { preset: 'seed', appName: 'poolkit-demo' }, pings: 5 });
  const s = out.style;
  const badge = { pass: s.green('pass'), warn: s.yellow('warn'), fail: s.red('fail') };
  for (const c of report.checks) out.line(`  ${badge[c.status]}  ${c.title}: ${c.reason}`);
  out.note(`${report.summary.pass} passed, ${report.summary.warn} warnings, ${report.summary.fail} failed (poolkit doctor --uri ... for fixes)`);
  out.record('bestPractices', report);
}

/** 9. Graceful shutdown: in-flight work drains, then the client closes. */
export async function shutdown(ctx: DemoContext): Promise<void> {
  const { out } = ctx;
  out.heading('Graceful shutdown');
  const client = ctx.client!;
  const coll = testData(ctx);
  let slow = 0;
  if (ctx.failPoints) {
    await client.db('admin').command({ configureFailPoint: 'failCommand', mode: { times: 20 }, data: { failCommands: ['find'], blockConnection: true, blockTimeMS: 300, appName: 'poolkit-demo' } });
    slow = 20;
  }
  const inFlight = Array.from({ length: 20 }, () => coll.findOne({ test: true }).then(() => 'done', () => 'interrupted'));
  const result = await gracefulShutdown(client, { timeoutMS: 5000 });
  const outcomes = await Promise.all(inFlight);
  ctx.monitor?.detach();
  out.line(`  20 queries in flight${slow ? ' (each held 300 ms by the server)' : ''}, then gracefulShutdown(client, { timeoutMS: 5000 })`);
  out.ok(`completed ${result.completed}, interrupted ${result.interrupted}, in ${ms(result.durationMS, 0)}; queries that finished: ${outcomes.filter((o) => o === 'done').length}/20; client closed`);
  out.record('shutdown', result);
}
