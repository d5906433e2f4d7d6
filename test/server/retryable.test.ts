import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RetryableWrites } from '../../src/server/topology/retryable.js';
import { CommandError } from '../../src/server/errors.js';

// The retryable-write table on its own (the driver-level stepdown tests are in replica-set.test.ts).

/** Stored replies come back with their BSON types (Int32...), as they go on the wire; compare as JSON. */
const plain = (value: unknown) => JSON.parse(JSON.stringify(value));

test('equal txnNumber resends the stored reply without re-applying; lower gets TransactionTooOld (225)', async () => {
  const table = new RetryableWrites();
  let applied = 0;
  const write = async () => ({ n: ++applied, ok: 1 });
  assert.deepEqual(await table.run('s1', 5, write), { n: 1, ok: 1 });
  assert.deepEqual(plain(await table.run('s1', 5, write)), { n: 1, ok: 1 }, 'retry answered from the table');
  assert.equal(applied, 1);
  await assert.rejects(table.run('s1', 4, write), (e: unknown) => e instanceof CommandError && e.code === 225 && e.codeName === 'TransactionTooOld');
  assert.equal((await table.run('s1', 6, write)).n, 2, 'a newer txnNumber executes');
  assert.equal((await table.run('s2', 1, write)).n, 3, 'sessions are independent');
});

test('a failed attempt is not stored: the retry executes', async () => {
  const table = new RetryableWrites();
  let attempts = 0;
  const flaky = async () => {
    if (++attempts === 1) throw CommandError.of('InterruptedDueToReplStateChange', 'interrupted');
    return { n: 1, ok: 1 };
  };
  await assert.rejects(table.run('s', 1, flaky));
  assert.deepEqual(await table.run('s', 1, flaky), { n: 1, ok: 1 });
  assert.equal(attempts, 2);
});

test('a retry arriving while the first attempt runs waits for it instead of applying twice', async () => {
  const table = new RetryableWrites();
  let applied = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const slow = async () => {
    await gate;
    return { n: ++applied, ok: 1 };
  };
  const first = table.run('s', 1, slow);
  const retry = table.run('s', 1, slow);
  release();
  assert.deepEqual(plain(await Promise.all([first, retry])), [{ n: 1, ok: 1 }, { n: 1, ok: 1 }]);
  assert.equal(applied, 1);
});

test('the stored reply drops the writeConcernError: a retry is acknowledged afresh', async () => {
  const table = new RetryableWrites();
  await table.run('s', 1, async () => ({ n: 1, ok: 1, writeConcernError: { code: 91, errmsg: 'x' }, errorLabels: ['RetryableWriteError'] }));
  assert.deepEqual(plain(await table.run('s', 1, async () => ({ n: 99, ok: 1 }))), { n: 1, ok: 1 });
});
