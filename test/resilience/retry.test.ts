import assert from 'node:assert/strict';
import { once } from 'node:events';
import { inspect } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { MongoClient, type Collection } from 'mongodb';
import { MongoClient as MongoClient6 } from 'mongodb6';
import { RetryBudget, RetryError, createClient, withRetry, type RetryEvent } from '../../src/index.js';
import { startReplicaSet, startServer, type EmbeddedServer, type ReplicaSet } from '../../src/server/index.js';

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
      // It gives up when the next backoff (≤ maxDelayMS 50) would end past the deadline: so at least
      // 600 − 50 ms in (Date.now() granularity: a few ms more), and not much after 600.
      assert.ok(elapsed >= 545 && elapsed < 1200, `elapsed ${elapsed}`);
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

  it('does not resend a whole attempt whose first write was applied before a later "nothing was sent" error', async () => {
    // Two writes in one attempt; the second is refused as not primary (nothing of it ran), but the first was applied.
    server.failCommand({ mode: { times: 1 }, data: { failCommands: ['insert'], errorCode: 10107, namespace: 'shop.audit', appName: 'retry-test' } });
    const error = await withRetry(
      async () => {
        await orders.insertOne({ kind: 'two-step' });
        await client.db('shop').collection('audit').insertOne({ kind: 'two-step' });
      },
      { ...fast, budget: null },
    ).catch((e: unknown) => e);
    server.failCommand({ mode: 'off' });
    assert.ok(error instanceof RetryError, String(error));
    assert.equal(error.attempts.length, 1, 'not resent');
    assert.match(error.message, /not idempotent: NotWritablePrimary .*used 2 connections \(1 expected\)/);
    assert.equal(await orders.countDocuments({ kind: 'two-step' }), 1, 'the first insert is not repeated');
  });

  it('still retries a non-idempotent write the server refused before running it', async () => {
    const fault = failCommand({ failCommands: ['insert'], errorCode: 10107 }, { times: 2 });
    await withRetry(() => orders.insertOne({ kind: 'refused-twice' }), { ...fast, budget: null });
    assert.equal(fault.disarm(), 2);
    assert.equal(await orders.countDocuments({ kind: 'refused-twice' }), 1);
  });

  it('an untracked client: the error alone decides (documented limit)', async () => {
    const plain = new MongoClient(server.uri, { retryWrites: false, appName: 'retry-test' });
    try {
      server.failCommand({ mode: { times: 1 }, data: { failCommands: ['insert'], errorCode: 10107, namespace: 'shop.audit', appName: 'retry-test' } });
      // The same two-step attempt as above: without pool events, withRetry cannot see the first insert.
      await withRetry(
        async () => {
          await plain.db('shop').collection('orders').insertOne({ kind: 'untracked-two-step' });
          await plain.db('shop').collection('audit').insertOne({ kind: 'untracked-two-step' });
        },
        { ...fast, budget: null },
      );
      assert.equal(await orders.countDocuments({ kind: 'untracked-two-step' }), 2, 'documented limit: resent');
    } finally {
      server.failCommand({ mode: 'off' });
      await plain.close();
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

/**
 * Writes whose reply is lost after the primary applied them, with the driver's own retry on
 * (retryWrites, the default). Three members and 300 ms of replication lag: the primary applies an
 * insert at once and replies only when a second member has it (w: majority), so a client with
 * socketTimeoutMS 100 gives up on a write that already happened. The driver then retries it with
 * the same transaction number; each test makes that retry fail with an error that, alone, says
 * "nothing was sent". withRetry must not resend (a new transaction number: a duplicate).
 */
describe('withRetry over the driver\'s own retry (replica set)', () => {
  let rs: ReplicaSet;
  /** Stepdowns and restarts started by a test's event handlers. */
  const pending: Array<Promise<unknown>> = [];

  const start = async () => {
    rs = await startReplicaSet({ nodes: 3, replicationLagMS: 300 });
    const client = createClient(rs.uri, { socketTimeoutMS: 100, serverSelectionTimeoutMS: 200, maxPoolSize: 1, minHeartbeatFrequencyMS: 20, monitorCommands: true, onWarning: () => {} });
    await client.db('admin').command({ ping: 1 });
    const sent: string[] = [];
    client.on('commandStarted', (event) => {
      if (event.commandName === 'insert') sent.push(String(event.command.txnNumber));
    });
    return { client, orders: client.db('shop').collection('orders'), sent };
  };
  const finish = async (client: MongoClient) => {
    await Promise.all(pending.splice(0));
    await client.close();
    await rs.stop();
  };
  /** Counts on the current primary, with a client of its own. */
  const countOrders = async () => {
    const check = new MongoClient(rs.uri);
    try {
      return await check.db('shop').collection('orders').countDocuments({ kind: 'order' });
    } finally {
      await check.close();
    }
  };
  const insertOnce = (orders: Collection) => withRetry(() => orders.insertOne({ kind: 'order' }), { retries: 10, baseDelayMS: 50, maxDelayMS: 200, budget: null }).catch((e: unknown) => e);

  it('NotWritablePrimary answering the driver\'s retry of an applied insert (stepdown)', async () => {
    const { client, orders, sent } = await start();
    try {
      // The first attempt times out; the primary steps down before the driver's retry reaches it.
      client.on('commandFailed', (event) => {
        if (event.commandName === 'insert' && sent.length === 1) pending.push(rs.stepDown());
      });
      const error = await insertOnce(orders);
      await Promise.all(pending);
      assert.deepEqual(sent.slice(0, 2), ['1', '1'], 'the driver retried with the same transaction number');
      assert.ok(error instanceof RetryError, String(error));
      assert.equal((error.cause as { code?: number }).code, 10107);
      assert.equal(error.attempts.length, 1, 'withRetry did not resend');
      assert.match(error.message, /not idempotent: NotWritablePrimary .*the driver already retried after an attempt that may have been applied/);
      assert.equal(await countOrders(), 1, 'exactly one order');
    } finally {
      await finish(client);
    }
  });

  it('a server selection error from the driver\'s retry of an applied insert (primary restarting)', async () => {
    const { client, orders, sent } = await start();
    try {
      const primary = rs.primary()!;
      // Right after the primary applied the insert (before its reply), it restarts: the connection
      // drops (not a timeout), the driver marks it Unknown and its retry finds no primary for 200 ms.
      const topology = primary.core.middleware.topology!;
      primary.core.middleware.topology = (ctx, spec, next) =>
        topology(ctx, spec, async () => {
          const reply = await next();
          if (ctx.commandName === 'insert' && pending.length === 0) pending.push(primary.restart({ downtimeMS: 600 }));
          return reply;
        });
      const error = await insertOnce(orders);
      await Promise.all(pending);
      assert.ok(error instanceof RetryError, String(error));
      assert.equal((error.cause as Error).name, 'MongoServerSelectionError');
      assert.equal(error.attempts.length, 1, 'withRetry did not resend');
      assert.match(error.message, /not idempotent: no suitable server was selected, but the attempt used 1 connection/);
      assert.equal(sent.length, 1);
      assert.equal(await countOrders(), 1, 'exactly one order');
    } finally {
      await finish(client);
    }
  });

  it('a failed connection check-out in the driver\'s retry of an applied insert (connection refused)', async () => {
    const { client, orders, sent } = await start();
    try {
      // The first attempt times out; the primary stops listening before the driver's retry connects.
      client.on('commandFailed', (event) => {
        if (event.commandName === 'insert' && sent.length === 1 && pending.length === 0) pending.push(rs.primary()!.restart({ downtimeMS: 600 }));
      });
      const error = await insertOnce(orders);
      await Promise.all(pending);
      assert.ok(error instanceof RetryError, String(error));
      assert.equal((error.cause as Error).name, 'MongoNetworkError');
      assert.match(error.message, /not idempotent: the connection failed while being established, but the attempt used 1 connection/);
      assert.equal(error.attempts.length, 1, 'withRetry did not resend');
      assert.equal(await countOrders(), 1, 'exactly one order');
    } finally {
      await finish(client);
    }
  });

  it('an insert whose reply was lost is not resent without the driver\'s retry either; marked idempotent it is', async () => {
    const { client } = await start();
    const noRetry = createClient(rs.uri, { retryWrites: false, socketTimeoutMS: 100, onWarning: () => {} });
    try {
      const orders = noRetry.db('shop').collection('orders');
      const error = await insertOnce(orders);
      assert.ok(error instanceof RetryError);
      assert.equal((error.cause as Error).name, 'MongoNetworkTimeoutError');
      assert.equal(error.attempts.length, 1, 'not resent');
      // The same call wrongly marked idempotent shows what the guard prevents: a second order.
      // (Every attempt times out with 300 ms of lag, but each one is applied.)
      await withRetry(() => orders.insertOne({ kind: 'order' }), { ...fast, retries: 1, idempotent: true, budget: null }).catch(() => {});
      assert.equal(await countOrders(), 3, 'one order from the first call, two from the "idempotent" one');
    } finally {
      await noRetry.close();
      await finish(client);
    }
  });
});

describe('RetryError never shows a password', () => {
  const secret = 'Wr0ng-Pa55-xyz';
  const leaks = (error: unknown) =>
    [String((error as Error).message), String(error), JSON.stringify((error as RetryError).attempts), inspect(error, { depth: 10 })].filter((text) => text.includes(secret));

  it('when the driver fails to authenticate with the password from the connection string', async () => {
    const server = await startServer({ auth: { users: [{ user: 'app', password: 'right' }] } });
    const client = createClient(server.uri.replace('mongodb://', `mongodb://app:${secret}@`), { onWarning: () => {} });
    try {
      const error = await withRetry(() => client.db('admin').command({ serverStatus: 1 }), { ...fast, budget: null }).catch((e: unknown) => e);
      assert.ok(error instanceof RetryError);
      assert.equal(error.code, 'POOLKIT_ERR_RETRY');
      assert.equal((error.cause as { code?: number }).code, 18);
      assert.deepEqual(leaks(error), []);
    } finally {
      await client.close();
      await server.stop();
    }
  });

  it('when an error message carries a connection string', async () => {
    const original = Object.assign(new Error(`no server at mongodb://bob:${secret}@db.internal:27017/?authSource=admin`), { name: 'MongoServerSelectionError' });
    const error = await withRetry(
      () => {
        throw original;
      },
      { ...fast, retries: 1, budget: null },
    ).catch((e: unknown) => e);
    assert.ok(error instanceof RetryError);
    assert.equal(error.attempts.length, 2);
    assert.match(error.message, /mongodb:\/\/bob:\*\*\*\*@db\.internal/);
    for (const text of [error.message, String(error), JSON.stringify(error.attempts)]) assert.ok(!text.includes(secret), text);
    assert.equal(error.cause, original, 'the cause is the original error, untouched (it is the caller\'s own)');
  });
});

describe('withRetry calls in progress (the pool listeners skip the attempt lookup while there are none)', () => {
  it('counts a call while it runs and not after it returns, throws, gives up or is aborted', async () => {
    const { retryCallsInProgress } = await import('../../src/resilience/attempt-scope.js');
    const before = retryCallsInProgress();
    let during = -1;
    await withRetry(async () => {
      during = retryCallsInProgress();
      return 1;
    });
    assert.equal(during, before + 1);
    assert.equal(retryCallsInProgress(), before, 'after a success');
    const notRetryable = Object.assign(new Error('no'), { code: 11000 });
    await assert.rejects(withRetry(async () => Promise.reject(notRetryable), { budget: null }), RetryError);
    assert.equal(retryCallsInProgress(), before, 'after giving up');
    const controller = new AbortController();
    const aborted = withRetry(
      async () => {
        controller.abort();
        throw Object.assign(new Error('flaky'), { code: 91 });
      },
      { idempotent: true, baseDelayMS: 50, signal: controller.signal, budget: null },
    );
    await assert.rejects(aborted, RetryError);
    assert.equal(retryCallsInProgress(), before, 'after an abort');
  });
});
