import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type EmbeddedServer } from '../../src/server/index.js';
import { renderHTML, renderJSON, renderTable, runSweep, type SweepProgress, type SweepResult } from '../../src/bench/index.js';
import { PoolConfigError } from '../../src/errors.js';

let server: EmbeddedServer;
let sweep: SweepResult;
const progress: SweepProgress[] = [];
/** beforeRun calls: the config, and how many progress reports had arrived by then. */
const beforeRuns: Array<{ index: number; label: string; progressSoFar: number }> = [];

before(async () => {
  server = await startServer({ port: 0 });
  // Eight workers against pools of 1, 4 and 16: the small pools must make operations wait.
  sweep = await runSweep({
    uri: server.uri,
    configs: [{ maxPoolSize: 1 }, { maxPoolSize: 4, minPoolSize: 2 }, { maxPoolSize: 16, label: 'roomy' }],
    workload: 'findOne',
    load: { mode: 'closed', concurrency: 8 },
    durationMS: 400,
    warmupMS: 200,
    documents: 200,
    seed: 11,
    onProgress: (p) => progress.push(p),
    beforeRun: async ({ config, index }) => {
      beforeRuns.push({ index, label: config.label, progressSoFar: progress.length });
      await new Promise((resolve) => setImmediate(resolve)); // awaited: the run waits for it
    },
  });
});
after(async () => {
  await server?.stop();
});

test('sweep measures every config with its own pool', () => {
  assert.deepEqual(sweep.runs.map((r) => r.label), ['1/0', '4/2', 'roomy']);
  assert.equal(sweep.aborted, false);
  assert.equal(sweep.workload.name, 'findOne');
  for (const run of sweep.runs) {
    assert.ok(run.result.ops > 0 && run.result.errors === 0, `${run.label}: ${run.result.ops} ops`);
    assert.ok(run.poolWait.count >= run.result.ops, `${run.label}: a check-out per operation`);
  }
  const [one, four, sixteen] = sweep.runs;
  // 8 workers on 1 connection: almost every operation queues behind 7 others.
  assert.ok(one.poolWait.p50 > sixteen.poolWait.p50, `wait p50 ${one.poolWait.p50} vs ${sixteen.poolWait.p50}`);
  assert.equal(four.config.minPoolSize, 2);
  assert.equal(one.connectionsCreated, 0, 'warm-up opened the only connection before measuring');
});

test('sweep reports progress from setup to done', () => {
  assert.equal(progress[0].phase, 'setup');
  assert.equal(progress.at(-1)?.phase, 'done');
  assert.equal(progress.at(-1)?.fraction, 1);
  for (let i = 1; i < progress.length; i++) {
    assert.ok(progress[i].fraction >= progress[i - 1].fraction - 1e-9, `progress went back at ${i}`);
  }
  assert.deepEqual([...new Set(progress.filter((p) => p.phase === 'run').map((p) => p.configIndex))], [0, 1, 2]);
});

test('beforeRun is awaited once per config, between its warm-up and its measured run', () => {
  assert.deepEqual(beforeRuns.map((b) => [b.index, b.label]), [[0, '1/0'], [1, '4/2'], [2, 'roomy']]);
  for (const { index, progressSoFar } of beforeRuns) {
    const earlier = progress.slice(0, progressSoFar).filter((p) => p.configIndex === index && p.phase !== 'setup');
    const later = progress.slice(progressSoFar).filter((p) => p.configIndex === index && p.phase !== 'done');
    assert.ok(earlier.length > 0 && earlier.every((p) => p.phase === 'warmup'), `config ${index}: only warm-up before beforeRun`);
    assert.ok(later.length > 0 && later.every((p) => p.phase === 'run'), `config ${index}: only the measured run after it`);
  }
});

test('text table has a row per config and marks the best throughput', () => {
  const table = renderTable(sweep);
  const lines = table.trimEnd().split('\n');
  assert.match(lines[0], /workload: findOne/);
  assert.match(lines[1], /^pool\s+ops\s+errors\s+ops\/s\s+p50 ms/);
  for (const run of sweep.runs) assert.ok(lines.some((l) => l.startsWith(run.label)), run.label);
  assert.equal(lines.filter((l) => /^\S+ \*/.test(l)).length, 1);
});

test('JSON report round-trips the sweep', () => {
  const parsed = JSON.parse(renderJSON(sweep)) as SweepResult;
  assert.equal(parsed.runs.length, 3);
  assert.equal(parsed.runs[2].result.ops, sweep.runs[2].result.ops);
  assert.equal(parsed.target, server.uri);
});

test('HTML report is one self-contained file with the SVG charts', () => {
  const html = renderHTML(sweep);
  assert.match(html, /^<!doctype html>/);
  assert.doesNotMatch(html, /https?:\/\//, 'no external references');
  assert.doesNotMatch(html, /<script[^>]*\bsrc=|<link\b|<img\b|@import|url\(/i);
  assert.equal(html.match(/<svg\b/g)?.length, 4);
  for (const title of ['Throughput by pool size', 'Latency by pool size', 'Pool wait-time distribution', 'Latency distribution']) {
    assert.ok(html.includes(`>${title}</text>`), title);
  }
  // A throughput line through the three pool sizes, one wait-distribution line per config.
  assert.ok((html.match(/<polyline/g)?.length ?? 0) >= 1 + 3 + 3);
  const data = html.match(/<script type="application\/json" id="sweep-data">\n([\s\S]*?)\n<\/script>/);
  assert.ok(data);
  assert.equal((JSON.parse(data[1]) as SweepResult).runs.length, 3);
});

test('HTML escapes labels', () => {
  const hostile = { ...sweep, runs: sweep.runs.map((r, i) => (i === 0 ? { ...r, label: '<script>alert(1)</script>' } : r)) };
  const html = renderHTML(hostile);
  assert.ok(!html.includes('<script>alert(1)</script>'));
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
});

test('sweep rejects bad configs by name before connecting', async () => {
  const base = { uri: server.uri, workload: 'findOne' as const, load: { mode: 'closed' as const, concurrency: 1 } };
  await assert.rejects(runSweep({ ...base, configs: [] }), (e: unknown) => e instanceof PoolConfigError && e.option === 'configs');
  await assert.rejects(runSweep({ ...base, configs: [{ maxPoolSize: 0 }] }), (e: unknown) => e instanceof PoolConfigError && e.option === 'configs[0].maxPoolSize');
  await assert.rejects(
    runSweep({ ...base, configs: [{ maxPoolSize: 2, minPoolSize: 3 }] }),
    (e: unknown) => e instanceof PoolConfigError && e.option === 'configs[0].minPoolSize',
  );
  await assert.rejects(
    runSweep({ ...base, configs: [{ maxPoolSize: 2 }], load: { mode: 'open', rate: 0 } }),
    (e: unknown) => e instanceof PoolConfigError && e.option === 'load.rate',
  );
});
