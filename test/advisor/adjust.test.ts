import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer } from '../helpers/server.js';
import { adviseWorkload } from '../../src/advisor/index.js';
import { betweenSize } from '../../src/advisor/advise.js';
import { formatAdvice } from '../../src/cli/advise.js';

// Five operations at a time, 40 ms each: a pool of 3 or 4 reaches at most 60% or 80% of the
// plateau, which 6 (and on a quiet machine 5) reaches. Slow enough that run-to-run noise is far
// below those gaps, and that the client's own time per operation stays small beside the service
// time: with 20 ms, under the full suite's load, 5 reached 85% and 6 96.6% of the plateau, so no
// size up to 2 × 3 qualified and no move up was checked.
const server = useServer({ latencyMS: 40, maxConcurrentOps: 5 });

test('adviseWorkload: a given capacity below the server\'s moves up, checked side by side, and the size between is checked too', async () => {
  const r = await adviseWorkload({
    uri: server().uri,
    load: { mode: 'closed', concurrency: 12 },
    serverCapacity: 3,
    durationMS: 800,
    warmupMS: 50,
    documents: 50,
    compareRules: false,
  });
  assert.equal(r.recommendation.maxPoolSize, 3);
  const v = r.verification!;
  assert.equal(v.pick?.adequate, false, `3 of 5 slots: ${v.pick?.throughputShare}`);
  const check = v.pairedCheck;
  assert.ok(check, `no move up was checked: ${JSON.stringify(v.rows.map((row) => [row.maxPoolSize, Math.round(row.throughput), row.p99MS, row.adequate]))}`);
  assert.ok(check.candidate === 5 || check.candidate === 6, `candidate ${check.candidate}`);
  assert.equal(check.confirmed, true, '3 falls short of the candidate in all three pairs');
  assert.equal(check.pairs.length, 3);
  for (const pair of check.pairs) assert.ok(pair.recommended.throughput < 0.75 * pair.candidate.throughput, JSON.stringify(pair));
  // The size between (4) is measured against the candidate the same way, and falls short (4 of 5 slots).
  const [first, ...rest] = check.between!;
  assert.equal(first.size, 4);
  assert.equal(first.pairs.length, 3);
  for (const pair of first.pairs) assert.ok(pair.recommended.throughput < 0.9 * pair.candidate.throughput && pair.recommendedShort, JSON.stringify(pair));
  assert.equal(first.short, true);
  assert.equal(r.advice.verdict, 'adjusted');
  if (check.candidate === 5) {
    assert.equal(rest.length, 0, 'nothing left between 4 and 5');
    assert.equal(r.advice.maxPoolSize, 5);
    assert.match(r.advice.notes.at(-1)!, /advising 5, the smallest larger size that did \(and 3 fell short of it again in 3 of 3 side-by-side pairs, as did 4 in 3 of 3\)/);
  } else {
    // From 6 the bisection goes on to 5, between 4 (short) and 6. With 5 slots, 5 connections
    // leave a slot idle while a reply is in transit, so 5 may or may not keep up with 6.
    assert.deepEqual(rest.map((step) => step.size), [5]);
    if (rest[0].short) {
      assert.equal(r.advice.maxPoolSize, 6);
      assert.match(r.advice.notes.at(-1)!, /advising 6, the smallest larger size that did \(and 3 fell short of it again in 3 of 3 side-by-side pairs, as did 4 and 5 in 3 of 3 each\)/);
    } else {
      assert.equal(r.advice.maxPoolSize, 5);
      assert.match(r.advice.notes.at(-1)!, /advising 5, between the two, which kept up with 6 (in the first pair|in pair [23] \(short in the [12] before\)); also checked: 4 \(short in every pair\)/);
    }
  }
  assert.equal(check.betweenStopped, 'narrowed');
  // The text output shows each comparison and how it ended.
  const plain = (text: string) => text;
  const text = formatAdvice(r, undefined, { bold: plain, dim: plain, green: plain, yellow: plain, red: plain, cyan: plain });
  assert.match(text, new RegExp(`side by side, 3 vs ${check.candidate}: .* → short in 3 of 3 pairs`));
  assert.match(text, new RegExp(`side by side, 4 vs ${check.candidate}: .* → short in 3 of 3 pairs`));
  for (const step of rest) assert.match(text, new RegExp(`side by side, ${step.size} vs 6: .* → ${step.short ? 'short in 3 of 3 pairs' : 'kept up in pair [123]\\n'}`));
  assert.equal(betweenSize(3, check.candidate), 4);
});
