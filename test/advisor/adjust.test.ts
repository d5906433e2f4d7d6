import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer } from '../helpers/server.js';
import { adviseWorkload } from '../../src/advisor/index.js';
import { betweenSize } from '../../src/advisor/advise.js';

// Five operations at a time, 20 ms each: a pool of 3 or 4 reaches at most 60% or 80% of the
// plateau, which 5 and more reach. Slow enough that run-to-run noise is far below those gaps.
const server = useServer({ latencyMS: 20, maxConcurrentOps: 5 });

test('adviseWorkload: a given capacity below the server\'s moves up, checked side by side, and the size between is checked too', async () => {
  const r = await adviseWorkload({
    uri: server().uri,
    load: { mode: 'closed', concurrency: 12 },
    serverCapacity: 3,
    durationMS: 400,
    warmupMS: 50,
    documents: 50,
    compareRules: false,
  });
  assert.equal(r.recommendation.maxPoolSize, 3);
  const v = r.verification!;
  assert.equal(v.pick?.adequate, false, `3 of 5 slots: ${v.pick?.throughputShare}`);
  const check = v.pairedCheck!;
  assert.ok(check.candidate === 5 || check.candidate === 6, `candidate ${check.candidate}`);
  assert.equal(check.confirmed, true, '3 falls short of the candidate in both pairs');
  assert.equal(check.pairs.length, 2);
  for (const pair of check.pairs) assert.ok(pair.recommended.throughput < 0.75 * pair.candidate.throughput, JSON.stringify(pair));
  // The size between (4) is measured against the candidate the same way, and falls short (4 of 5 slots).
  assert.equal(check.between?.size, 4);
  assert.equal(check.between?.pairs.length, 2);
  for (const pair of check.between!.pairs) assert.ok(pair.recommended.throughput < 0.9 * pair.candidate.throughput && pair.recommendedShort, JSON.stringify(pair));
  assert.equal(check.between?.short, true);
  assert.equal(r.advice.verdict, 'adjusted');
  assert.equal(r.advice.maxPoolSize, check.candidate);
  assert.match(r.advice.notes.at(-1)!, new RegExp(`advising ${check.candidate}, the smallest larger size that did \\(and 3 fell short of it again in 2 of 2 side-by-side pairs, as did 4 in 2 of 2\\)`));
  assert.equal(betweenSize(3, check.candidate), 4);
});
