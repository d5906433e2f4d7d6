import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers/cli.js';
import { startServer } from '../../src/server/index.js';
import { describeKnee } from '../../src/advisor/index.js';

const CAPACITY = 4;
// 10 ms per operation: the runs are bound by the load model (≤ 400 ops/s), not by CPU on a busy machine.
const SERVICE_MS = 10;

test('poolkit advise --json on an embedded server with a load model: a measured, verified pool size in well under a minute', async () => {
  const started = performance.now();
  const { code, stdout, stderr } = await runCli([
    'advise', '--json', '--latency-ms', String(SERVICE_MS), '--max-concurrent-ops', String(CAPACITY), '--concurrency', '16',
    '--duration-ms', '350', '--warmup-ms', '100', '--documents', '100',
  ]);
  const wallS = (performance.now() - started) / 1000;
  assert.equal(code, 0, stderr);
  const r = JSON.parse(stdout);
  assert.ok(wallS < 60 && r.elapsedMS < 60_000, `took ${wallS.toFixed(1)} s`);
  assert.deepEqual(r.embeddedServer, { latencyMS: SERVICE_MS, maxConcurrentOps: CAPACITY, text: `embedded server, ${SERVICE_MS} ms per operation, at most ${CAPACITY} at once` });

  // The workload, measured with a PoolMonitor on a pool as large as the callers.
  assert.deepEqual(r.load, { mode: 'closed', concurrency: 16 });
  assert.equal(r.measurement.poolSize, 16);
  assert.ok(r.measurement.arrivalRate > 100, `λ = ${r.measurement.arrivalRate}`);
  // 16 callers on a 4-wide server: connections are held through the server's queue too.
  assert.ok(r.measurement.holdTimeMS.mean > SERVICE_MS * 2, `hold ${r.measurement.holdTimeMS.mean} ms`);
  // Of which the server's own time (serverStatus opLatencies, its queue included) is most.
  assert.ok(r.measurement.serverTimeMS >= SERVICE_MS && r.measurement.serverTimeMS <= r.measurement.holdTimeMS.mean, `server time ${r.measurement.serverTimeMS} ms`);

  // Capacity from the knee: N* = X_max × R_min, and R_min is at least the service time.
  const knee = r.capacity.knee;
  assert.equal(r.capacity.source, 'knee');
  assert.equal(knee.low.concurrency, 1);
  assert.ok(knee.minHoldTimeMS >= SERVICE_MS);
  assert.ok(Math.abs(knee.estimate - (knee.maxThroughput * knee.minHoldTimeMS) / 1000) < 1e-9);
  // The server completes at most 4 / 10 ms = 400 ops/s.
  assert.ok(knee.maxThroughput <= ((CAPACITY * 1000) / SERVICE_MS) * 1.05, `X_max ${knee.maxThroughput}`);
  // The client's stall under load (the knee's 64-caller step) is reported beside the capacity, not added to it.
  assert.equal(knee.high.concurrency, 64);
  assert.equal(knee.clientStallMS, knee.high.clientStallP99MS);
  assert.ok(Number.isFinite(knee.clientStallMS) && knee.clientStallMS >= 0, `J ${knee.clientStallMS} ms`);
  assert.ok(Math.abs(knee.stallEstimate - (knee.maxThroughput * (knee.minHoldTimeMS + knee.clientStallMS)) / 1000) < 1e-9);
  assert.equal(r.capacity.serverCapacity, Math.max(1, Math.ceil(knee.estimate * 1.3 - 1e-6)));
  // The advice explains the capacity once, as describeKnee words it (units up front: its stall clause may end the sentence).
  const kneeNote = r.advice.notes.find((note: string) => note.startsWith('Capacity estimated at the knee'));
  assert.ok(kneeNote?.startsWith(`Capacity estimated at the knee of the throughput curve, in connections: ${describeKnee(knee, r.capacity.serverCapacity)}`), kneeNote);
  assert.doesNotMatch(kneeNote, /connections connections/);

  // A sensible recommendation: the server's capacity, not the driver default (≤ 2 × capacity).
  assert.equal(r.recommendation.limitedBy, 'serverCapacity');
  assert.equal(r.recommendation.maxPoolSize, r.capacity.serverCapacity);
  // 1.3 × N*, N* itself a little over the 4-wide server's width.
  assert.ok(r.recommendation.maxPoolSize >= CAPACITY - 1 && r.recommendation.maxPoolSize <= Math.ceil(1.3 * knee.estimate), `recommended ${r.recommendation.maxPoolSize}`);
  assert.ok(r.recommendation.reasoning.some((line: string) => /Little's law/.test(line)));

  // The evidence: a sweep around the answer that includes the rules of thumb.
  const v = r.verification;
  const sizes = v.rows.map((row: { maxPoolSize: number }) => row.maxPoolSize);
  assert.ok(sizes.includes(r.recommendation.maxPoolSize) && sizes.includes(100) && sizes.includes(r.rules.seedFormula.maxPoolSize));
  assert.deepEqual(v.criteria, { throughputShare: 0.97, p99Factor: 1.1, minP99Samples: 500, smoothNeighbours: true });
  const recommended = v.rows.find((row: { marks: string[] }) => row.marks.includes('recommended'));
  assert.equal(recommended.maxPoolSize, r.recommendation.maxPoolSize);
  assert.ok(v.rows.find((row: { maxPoolSize: number }) => row.maxPoolSize === 100).marks.includes('driver default'));
  // Adequacy is what the rows say it is: each size judged by the median of it and its neighbours, when both were measured.
  const median3 = (a: number, b: number, c: number) => [a, b, c].sort((x, y) => x - y)[1];
  for (const row of v.rows) {
    assert.equal(row.p99Judged, row.ops - row.errors >= 500, `pool ${row.maxPoolSize}: ${row.ops} ops`);
    const below = v.rows.find((other: { maxPoolSize: number }) => other.maxPoolSize === row.maxPoolSize - 1);
    const above = v.rows.find((other: { maxPoolSize: number }) => other.maxPoolSize === row.maxPoolSize + 1);
    const smoothed = below !== undefined && above !== undefined && [below, row, above].every((x) => x.ops > x.errors);
    assert.equal(row.judged.smoothed, smoothed, `pool ${row.maxPoolSize}`);
    const throughput = smoothed ? median3(below.throughput, row.throughput, above.throughput) : row.throughput;
    const p99 = smoothed ? median3(below.p99MS, row.p99MS, above.p99MS) : row.p99MS;
    assert.deepEqual([row.judged.throughput, row.judged.p99MS], [throughput, p99], `pool ${row.maxPoolSize}`);
    const expected = throughput >= 0.97 * v.best.throughput.value - 1e-9 && (!row.p99Judged || p99 <= 1.1 * v.best.p99.value + 1e-9);
    assert.equal(row.adequate, expected, `pool ${row.maxPoolSize}`);
  }
  assert.deepEqual(v.adequate, v.rows.filter((row: { adequate: boolean }) => row.adequate).map((row: { maxPoolSize: number }) => row.maxPoolSize));
  assert.equal(v.pick.adequate, recommended.adequate);
  // The sweep reaches down to half the answer, and a pool below the server's capacity cannot
  // reach the best throughput (3 of 4 slots busy at most). Which sizes fall below 4 depends on
  // the answer (4..8 here), so only the half-size row is sure to exist.
  assert.ok(sizes.includes(Math.round(r.recommendation.maxPoolSize / 2)), `sizes ${sizes}`);
  for (const row of v.rows.filter((x: { maxPoolSize: number }) => x.maxPoolSize < CAPACITY)) {
    assert.ok(!row.adequate, `pool ${row.maxPoolSize}: ${row.throughputShare}`);
  }
  // The advice: the recommendation (adequate, or above an adequate size), or the smallest larger adequate size.
  assert.ok(['verified', 'adjusted', 'unverified'].includes(r.advice.verdict));
  // A move up was checked side by side: each pair's verdict is what its figures say.
  const check = v.pairedCheck;
  if (check) {
    assert.ok(check.candidate > r.recommendation.maxPoolSize && check.candidate <= 2 * r.recommendation.maxPoolSize);
    for (const pair of check.pairs) {
      const short = pair.recommended.throughput < 0.97 * pair.candidate.throughput || (pair.p99Judged && pair.recommended.p99MS > 1.1 * pair.candidate.p99MS);
      assert.equal(pair.recommendedShort, short);
    }
    // Pair after pair until the answer keeps up in one (the last) or has fallen short in three.
    const shorts = check.pairs.map((pair: { recommendedShort: boolean }) => pair.recommendedShort);
    assert.ok(check.pairs.length >= 1 && check.pairs.length <= 3, `${check.pairs.length} pairs`);
    assert.ok(shorts.slice(0, -1).every(Boolean), `pairs went on after the answer kept up: ${shorts}`);
    assert.equal(check.confirmed, shorts.length === 3 && shorts.every(Boolean));
    // The sizes between are checked only after a confirmed move over more than one size, the first at the geometric mean.
    assert.equal(check.between?.[0]?.size, check.confirmed && check.candidate - r.recommendation.maxPoolSize >= 2 ? Math.round(Math.sqrt(r.recommendation.maxPoolSize * check.candidate)) : undefined);
    for (const step of check.between ?? []) assert.ok(step.size > r.recommendation.maxPoolSize && step.size < check.candidate, JSON.stringify(step));
  }
  if (r.advice.verdict === 'verified') {
    assert.equal(r.advice.maxPoolSize, r.recommendation.maxPoolSize);
    assert.ok(v.pick.adequate || v.adequate.some((size: number) => size < r.advice.maxPoolSize) || (check && !check.confirmed));
  }
  if (r.advice.verdict === 'adjusted') {
    assert.ok(check?.confirmed, 'a move up only after the side-by-side check');
    const keptUp = (check.between ?? []).filter((step: { short: boolean }) => !step.short).map((step: { size: number }) => step.size);
    assert.equal(r.advice.maxPoolSize, keptUp.length > 0 ? Math.min(...keptUp) : check.candidate);
  }
  assert.equal(r.rules.driverDefault.maxPoolSize, 100);
  assert.equal(r.rules.seedFormula.concurrentRequests, 16);
  // stderr carried progress only.
  assert.match(stderr, /advise: knee: 1 caller/);
});

test('poolkit advise (text) against --uri with an open-loop rate and a given capacity', async () => {
  const server = await startServer({ latencyMS: 2 });
  try {
    const { code, stdout, stderr } = await runCli([
      'advise', '--uri', server.uri, '--rate', '300', '--server-capacity', '8', '--workload', 'insert', '--duration-ms', '300', '--warmup-ms', '50',
    ]);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^poolkit advise: insertOne of a small document, open loop, 300 ops\/s/m);
    assert.match(stdout, /server capacity\s+8 operations at once \(given\)/);
    const advised = Number(stdout.match(/^ {2}maxPoolSize\s+(\d+)/m)?.[1]);
    assert.ok(advised >= 1 && advised <= 8, stdout);
    for (const heading of ['Measured workload', 'Advice', 'Other answers for this workload', 'Verification']) assert.match(stdout, new RegExp(`^${heading}`, 'm'));
    assert.match(stdout, /seed formula int\(\d+ × [\d.]+ s × 1\.5\), 10\.\.100\s+\d+/);
    assert.match(stdout, /driver default\s+100\s+\d+/);
    assert.match(stdout, /cores × 2 \+ 1 \(\d+ cores on the server\)/);
    assert.match(stdout, /^ {2}adequate: /m);
    assert.ok(!stdout.includes('\u001b'), 'plain output when not a TTY');
  } finally {
    await server.stop();
  }
});

test('poolkit advise: usage errors exit 2 naming the flag', async () => {
  const [both, capacity, duration] = await Promise.all([
    runCli(['advise', '--rate', '100', '--concurrency', '4']),
    runCli(['advise', '--server-capacity', '0']),
    runCli(['advise', '--duration-ms', '-5']),
  ]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--rate and --concurrency exclude each other/);
  assert.equal(capacity.code, 2);
  assert.match(capacity.stderr, /--server-capacity/);
  assert.equal(duration.code, 2);
  assert.match(duration.stderr, /--duration-ms/);
});
