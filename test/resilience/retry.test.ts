import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { MongoClient, type Collection } from 'mongodb';
import { MongoClient as MongoClient6 } from 'mongodb6';
import { RetryBudget, RetryError, createClient, withRetry, type RetryEvent } from '../../src/index.js';
import { startServer, type EmbeddedServer } from '../../src/server/index.js';

// The driver's own single retry is switched off here so that every attempt the server sees is ours.
// A dropped connection marks the server Unknown until the monitor checks it again, at most every
// minHeartbeatFrequencyMS (500 ms by default): lowered to keep the tests fast.
const noDriverRetry = { retryReads: false, retryWrites: false, minHeartbeatFrequencyMS: 20, onWarning: () => {} };
const fast = { baseDelayMS: 1, maxDelayMS: 5 };

describe('withRetry against the embedded server', () => {
  let server: EmbeddedServer;
  let client: MongoClient;
  let orders: Collection;
  before(async () => {
    server = await startServer({ port: 0 });
    client = createClient(server.uri, { ...noDriverRetry, appName: 'retry-test' });
    orders = client.db('shop').collection('orders');
    await orders.insertOne({ _id: 'seed' as never, total: 10 });
  });
  after(async () => {
    await client.close();
    await server.stop();
  });

  /** Arms failCommand for this test's client; `disarm()` returns how many commands it hit. */
  const failCommand = (data: Record<string, unknown>, mode: unknown = 'alwaysOn') => {
    server.failCommand({ mode: mode as never, data: { appName: 'retry-test', ...data } });
    return { disarm: () => server.failCommand({ mode: 'off' }) };
  };

  it('recovers an idempotent read from 3 dropped connections', async () => {
    const fault = failCommand({ failCommands: ['find'], closeConnection: true }, { times: 3 });
    const retries: RetryEvent[] = [];
    const order = await withRetry(({ signal }) => orders.findOne({ _id: 'seed' as never }, { signal }), {
      ...fast,
      retries: 3,
      idempotent: true,
      budget: new RetryBudget(),
      onRetry: (event) => retries.push(event),
    });
    assert.equal(fault.disarm(), 3, 'the server saw three failed attempts');
    assert.deepEqual(order, { _id: 'seed', total: 10 });
    assert.equal(retries.length, 3);
    for (const event of retries) {
      assert.equal((event.error as Error).name, 'MongoNetworkError', 'a real driver network error');
      assert.equal(event.classification.retryable, 'idempotent');
    }
  });

  it('with too few retries gives up with the history and the driver error as cause', async () => {
    const fault = failCommand({ failCommands: ['find'], closeConnection: true }, { times: 5 });
    const error = await withRetry(() => orders.findOne({}), { ...fast, retries: 1, idempotent: true, budget: null }).catch((e: unknown) => e);
    assert.equal(fault.disarm(), 2);
    assert.ok(error instanceof RetryError);
    assert.equal(error.attempts.length, 2);
    assert.equal((error.cause as Error).name, 'MongoNetworkError');
    assert.match(error.message, /1 retry exhausted/);
  });

  it('does not resend a non-idempotent insert after a dropped connection', async () => {
    const fault = failCommand({ failCommands: ['insert'], closeConnection: true }, { times: 1 });
    const error = await withRetry(() => orders.insertOne({ kind: 'dropped' }), { ...fast, budget: null }).catch((e: unknown) => e);
    assert.equal(fault.disarm(), 1, 'exactly one attempt reached the server');
    assert.ok(error instanceof RetryError);
    assert.match(error.message, /not idempotent: network error after the command was sent/);
    assert.equal(await orders.countDocuments({ kind: 'dropped' }), 0);
  });

  it('does not duplicate an insert whose reply was lost (it ran; the client timed out)', async () => {
    // The server holds the insert 300 ms and then applies it; the client gives up after 100 ms.
    const impatient = createClient(server.uri, { ...noDriverRetry, appName: 'retry-test', socketTimeoutMS: 100 });
    const col = impatient.db('shop').collection('orders');
    try {
      const fault = failCommand({ failCommands: ['insert'], blockConnection: true, blockTimeMS: 300 }, { times: 1 });
      const error = await withRetry(() => col.insertOne({ kind: 'lost-reply' }), { ...fast, budget: null }).catch((e: unknown) => e);
      assert.equal(fault.disarm(), 1);
      assert.ok(error instanceof RetryError);
      assert.equal((error.cause as Error).name, 'MongoNetworkTimeoutError');
      assert.equal(error.attempts.length, 1, 'not resent');
      await waitForCount(orders, { kind: 'lost-reply' }, 1);

      // The same call marked idempotent (wrongly) shows what the guard prevents: a second order.
      const again = failCommand({ failCommands: ['insert'], blockConnection: true, blockTimeMS: 300 }, { times: 1 });
      await withRetry(() => col.insertOne({ kind: 'duplicated' }), { ...fast, idempotent: true, budget: null });
      again.disarm();
      await waitForCount(orders, { kind: 'duplicated' }, 2);
    } finally {
      await impatient.close();
    }
  });

  it('never retries a duplicate key, even when told the operation is idempotent', async () => {
    const before = server.core.stats.opcounters.insert;
    const error = await withRetry(() => orders.insertOne({ _id: 'seed' as never, total: 1 }), { ...fast, idempotent: true, budget: null }).catch((e: unknown) => e);
    assert.ok(error instanceof RetryError);
    assert.equal((error.cause as { code?: number }).code, 11000);
    assert.equal(error.attempts.length, 1);
    assert.match(error.message, /not retryable: duplicate key/);
    assert.equal(server.core.stats.opcounters.insert - before, 1, 'the server saw one insert');
  });

  it('stops when the shared budget is spent (server-side attempt count)', async () => {
    const budget = new RetryBudget({ ratio: 0, minRetriesPerSecond: 0.4, ttlMS: 10_000 }); // 4 retries per window
    const fault = failCommand({ failCommands: ['find'], closeConnection: true });
    const outcomes: RetryError[] = [];
    for (let call = 0; call < 3; call++) {
      outcomes.push((await withRetry(() => orders.findOne({}), { ...fast, retries: 3, idempotent: true, budget }).catch((e: unknown) => e)) as RetryError);
    }
    const attempts = fault.disarm();
    assert.equal(attempts, 4 + 2 + 1, 'call 1: 1 + 3 retries; call 2: 1 + the last retry; call 3: none left');
    assert.deepEqual(outcomes.map((e) => e.attempts.length), [4, 2, 1]);
    assert.match(outcomes[1].message, /retry budget exhausted/);
    assert.equal(budget.stats.refused, 2);
  });

  it('does not queue again after a wait-queue timeout (sheds load)', async () => {
    const small = createClient(server.uri, { ...noDriverRetry, appName: 'retry-test', maxPoolSize: 1, waitQueueTimeoutMS: 50 });
    try {
      const fault = failCommand({ failCommands: ['find'], blockConnection: true, blockTimeMS: 300 }, { times: 1 });
      const holder = small.db('shop').collection('orders').findOne({});
      await once(small, 'connectionCheckedOut'); // the only connection is now busy for 300 ms
      const error = await withRetry(() => small.db('admin').command({ ping: 1 }), { ...fast, idempotent: true, budget: null }).catch((e: unknown) => e);
      await holder;
      fault.disarm();
      assert.ok(error instanceof RetryError);
      assert.equal((error.cause as Error).name, 'MongoWaitQueueTimeoutError');
      assert.equal(error.attempts.length, 1);
      assert.match(error.message, /shed load/);
    } finally {
      await small.close();
    }
  });

  it('retries a server selection failure (nothing was sent) within the deadline', async () => {
    const briefly = createClient(server.uri, { ...noDriverRetry, serverSelectionTimeoutMS: 100 });
    try {
      await briefly.db('admin').command({ ping: 1 });
      const restarted = server.restart({ downtimeMS: 1000 }); // down for longer than the deadline
      const started = performance.now();
      const error = await withRetry(() => briefly.db('admin').command({ ping: 1 }), { idempotent: true, baseDelayMS: 20, maxDelayMS: 50, retries: 50, deadlineMS: 600, budget: null }).catch((e: unknown) => e);
      const elapsed = performance.now() - started;
      await restarted;
      assert.ok(error instanceof RetryError);
      assert.match(error.message, /deadline of 600 ms reached/);
      const selection = error.attempts.filter((a) => a.errorName === 'MongoServerSelectionError');
      assert.ok(selection.length >= 2, JSON.stringify(error.attempts.map((a) => a.errorName)));
      assert.ok(selection.every((a) => a.retryable === true));
      assert.ok(elapsed >= 590 && elapsed < 1200, `elapsed ${elapsed}`);
    } finally {
      await briefly.close();
    }
  });

  it('does not retry on a client whose first connect failed, and says how to recover', async () => {
    const dead = await startServer({ port: 0 });
    await dead.stop();
    const never = createClient(dead.uri, { ...noDriverRetry, serverSelectionTimeoutMS: 100 });
    try {
      const error = (await withRetry(() => never.db('admin').command({ ping: 1 }), { ...fast, budget: null }).catch((e: unknown) => e)) as RetryError;
      assert.deepEqual(error.attempts.map((a) => a.errorName), ['MongoServerSelectionError', 'MongoTopologyClosedError']);
      assert.match(error.message, /waitForServer\(client\)/);
    } finally {
      await never.close();
    }
  });

  it('classifies driver 6 errors the same way', async () => {
    const client6 = new MongoClient6(server.uri, { retryReads: false, appName: 'retry-test' });
    try {
      const fault = failCommand({ failCommands: ['find'], closeConnection: true }, { times: 2 });
      const order = await withRetry(() => client6.db('shop').collection('orders').findOne({ _id: 'seed' as never }), { ...fast, idempotent: true, budget: null });
      assert.equal(fault.disarm(), 2);
      assert.deepEqual(order, { _id: 'seed', total: 10 });
    } finally {
      await client6.close();
    }
  });
});

/** The server applies a blocked write after the client gave up: poll its count (no event tells us). */
async function waitForCount(collection: Collection, filter: Record<string, unknown>, expected: number): Promise<void> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const count = await collection.countDocuments(filter);
    if (count === expected) return;
    assert.ok(count < expected, `count ${count} exceeds ${expected}`);
    assert.ok(Date.now() < deadline, `count stayed at ${count}, expected ${expected}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
