import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { startServer, type EmbeddedServer } from '../../src/server/index.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'poolkit-bench-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

const opsPerSecond = (table: string, label: string) => {
  const row = table.split('\n').find((l) => l.startsWith(`${label} `));
  assert.ok(row, `no row for pool ${label} in\n${table}`);
  // pool, ops, errors, ops/s, ...
  return Number(row.replace('*', '').trim().split(/\s+/)[3]);
};

test('poolkit bench on the embedded server with a load model prints a table per pool config', async () => {
  // Capacity 4 × 10 ms: a pool of 2 is capped near 200 ops/s, a pool of 8 reaches the server's 400.
  // (10 ms, not less: the run must be bound by the service time, not by CPU on a busy machine.)
  const { code, stdout, stderr } = await runCli([
    'bench', '--latency-ms', '10', '--max-concurrent-ops', '4', '--pools', '2,8/2', '--concurrency', '8', '--duration-ms', '400', '--warmup-ms', '150', '--documents', '50',
  ]);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /^workload: findOne .*closed loop, 8 workers, 400 ms per config/m);
  assert.match(stdout, /^pool\s+ops\s+errors\s+ops\/s\s+p50 ms/m);
  const small = opsPerSecond(stdout, '2');
  const large = opsPerSecond(stdout, '8/2');
  assert.ok(large > small * 1.3, `8 connections (${large} ops/s) beat 2 (${small} ops/s) on a 4-wide server`);
  // The verdict line is there; which pool it names depends on p99s of 400 ms runs (noise), and
  // smallestAdequateRun's rule itself is covered on fixed numbers in test/bench/summary.test.ts.
  assert.match(stdout, /^(smallest adequate: (2|8\/2) \(|no config reaches ≥ 97% of the best throughput)/m);
  // Progress went to stderr as plain lines (no TTY): no control characters.
  assert.match(stderr, /bench: pool 2 \(1\/2\)/);
  assert.ok(!stderr.includes('\u001b') && !stderr.includes('\r'), 'no control characters');
});

test('poolkit bench --json --html against --uri: JSON only on stdout, a self-contained HTML report', async () => {
  const server: EmbeddedServer = await startServer({ latencyMS: 1 });
  try {
    const html = join(dir, 'report.html');
    const { code, stdout, stderr } = await runCli([
      'bench', '--uri', server.uri, '--workload', 'mix', '--rate', '150', '--pools', '1,4', '--duration-ms', '400', '--warmup-ms', '100', '--documents', '50', '--json', '--html', html,
    ]);
    assert.equal(code, 0, stderr);
    const sweep = JSON.parse(stdout);
    assert.deepEqual(sweep.load, { mode: 'open', rate: 150 });
    assert.equal(sweep.workload.name, 'mix');
    assert.deepEqual(sweep.runs.map((r: { label: string }) => r.label), ['1', '4']);
    for (const run of sweep.runs) {
      assert.equal(run.result.errors, 0);
      // The open loop holds its rate: 150/s for 0.4 s is 60 operations.
      assert.ok(Math.abs(run.result.ops - 60) <= 1, `${run.label}: ${run.result.ops} ops`);
    }
    assert.match(stderr, /HTML report written to/);

    const page = readFileSync(html, 'utf8');
    assert.match(page, /^<!doctype html>/);
    assert.equal((page.match(/<svg /g) ?? []).length, 4, 'throughput, latency, wait and latency-distribution charts');
    assert.doesNotMatch(page, /<script(?! type="application\/json")|\s(?:src|href)=/, 'no scripts run and nothing is fetched');
    const data = JSON.parse(page.match(/<script type="application\/json" id="sweep-data">\n([\s\S]*?)\n<\/script>/)![1]);
    assert.deepEqual(data.runs.map((r: { label: string }) => r.label), ['1', '4']);
  } finally {
    await server.stop();
  }
});

test('poolkit bench: bad flags exit 2 with a message naming the flag', async () => {
  const cases: [string[], RegExp][] = [
    [['--pools', '5,x'], /--pools/],
    [['--pools', '5/9'], /--pools.*minPoolSize must not exceed maxPoolSize/],
    [['--concurrency', '0'], /--concurrency/],
    [['--duration-ms', 'soon'], /--duration-ms/],
    [['--workload', 'scan'], /--workload.*findOne, insert, mix, aggregate/],
    [['--mode', 'open'], /--mode open needs --rate/],
    [['--mode', 'closed', '--rate', '10'], /--rate applies to --mode open/],
    [['--html', join(tmpdirMissing(), 'r.html')], /--html: cannot write/],
  ];
  const results = await Promise.all(cases.map(([args]) => runCli(['bench', ...args])));
  results.forEach((r, i) => {
    assert.equal(r.code, 2, `${cases[i][0].join(' ')}: exit ${r.code}, ${r.stderr}`);
    assert.match(r.stderr, cases[i][1]);
    assert.equal(r.stdout, '');
  });
});

function tmpdirMissing(): string {
  return join(tmpdir(), 'poolkit-no-such-dir', 'deeper');
}
