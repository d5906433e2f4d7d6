import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { inspect } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import { PoolMonitor, RetryError, ShutdownError, checkHealth, createClient, createProbe, getInflightTracker, gracefulShutdown, trackInflight, withRetry, type ShutdownResult } from '../../src/index.js';
import { startServer, type EmbeddedServer } from '../../src/server/index.js';

const quiet = { onWarning: () => {} };

/** Resolves once `count` operations of the client are in flight (queued ones included). */
async function inflight(client: MongoClient, count: number): Promise<void> {
  const tracker = getInflightTracker(client)!;
  while (tracker.inflight < count) await once(client, 'connectionCheckOutStarted');
}

/** Makes every `find` (and `ping`) of clients named `appName` take `blockTimeMS` on the server. */
function slowCommands(server: EmbeddedServer, appName: string, blockTimeMS: number) {
  server.failCommand({ mode: 'alwaysOn', data: { failCommands: ['find', 'ping'], blockConnection: true, blockTimeMS, appName } });
}

const findOne = (client: MongoClient) => client.db('shop').collection('orders').findOne({});

describe('gracefulShutdown', () => {
  let server: EmbeddedServer;
  before(async () => {
    server = await startServer({ port: 0 });
  });
  after(async () => {
    await server.stop();
  });

  it('lets 100 slow operations, most of them queued for a connection, finish, then closes', async () => {
    const client = createClient(server.uri, { ...quiet, appName: 'drain-all', maxPoolSize: 20 });
    slowCommands(server, 'drain-all', 100);
    const poolClosed = once(client, 'connectionPoolClosed');
    const settled = Promise.allSettled(Array.from({ length: 100 }, () => findOne(client)));
    await inflight(client, 100);
    const tracker = getInflightTracker(client)!;

    let atStart = { inflight: 0, waiting: 0, finished: 0 };
    const result = await gracefulShutdown(client, {
      timeoutMS: 10_000,
      onStart: ({ inflight: count }) => (atStart = { inflight: count, waiting: tracker.waiting, finished: tracker.finished }),
    });
    server.failCommand({ mode: 'off' });

    assert.equal(atStart.inflight + atStart.finished, 100);
    assert.ok(atStart.waiting >= 60, `${atStart.waiting} operations were queued for one of the 20 connections`);
    assert.equal((await settled).filter((s) => s.status === 'fulfilled').length, 100, 'every operation completed');
    assert.equal(result.completed, atStart.inflight, 'every operation in flight at the start completed during the shutdown');
    assert.equal(result.interrupted, 0);
    assert.equal(result.timedOut, false);
    assert.ok(result.durationMS >= 300, `at least 4 waves of 100 ms remained, got ${result.durationMS}`);
    await poolClosed; // the driver closed the pool
    const health = await checkHealth(client);
    assert.equal(health.ok, false, 'a shut-down client is not pinged back to life');
    assert.equal(health.shuttingDown, true);
  });

  it('force-closes at timeoutMS and reports the interrupted operations', async () => {
    const client = createClient(server.uri, { ...quiet, appName: 'too-slow', maxPoolSize: 5 });
    slowCommands(server, 'too-slow', 1500);
    const settled = Promise.allSettled(Array.from({ length: 8 }, () => findOne(client)));
    await inflight(client, 8);

    const result = await gracefulShutdown(client, { timeoutMS: 300 });
    server.failCommand({ mode: 'off' });

    assert.equal(result.timedOut, true);
    assert.equal(result.interrupted, 8);
    assert.equal(result.completed, 0);
    assert.ok(result.durationMS >= 295 && result.durationMS < 1200, `duration ${result.durationMS}`);
    assert.equal((await settled).filter((s) => s.status === 'rejected').length, 8, 'interrupted operations fail instead of hanging');
  });

  it('fails readiness first, waits drainDelayMS, and still serves work that arrives meanwhile', async () => {
    const client = createClient(server.uri, { ...quiet, appName: 'drain-delay' });
    await client.db('admin').command({ ping: 1 });
    const probe = createProbe(client);
    const events: string[] = [];
    let lateOperation: Promise<unknown> | undefined;
    const result = await gracefulShutdown(client, {
      drainDelayMS: 200,
      onStart: async ({ inflight: count }) => {
        events.push(`start:${count}`);
        const ready = await probe('readiness');
        events.push(`ready:${ready.status}`);
        lateOperation = client.db('admin').command({ ping: 1 }); // a request the load balancer sent just before it noticed
      },
      onDone: (r) => events.push(`done:${r.completed}`),
    });
    assert.deepEqual(await lateOperation, { ok: 1 });
    assert.deepEqual(events, ['start:0', 'ready:503', 'done:1']);
    assert.equal(result.completed, 1);
    assert.ok(result.durationMS >= 195, `drain delay honoured: ${result.durationMS}`);
  });

  it('is idempotent: a second call returns the same shutdown', async () => {
    const client = createClient(server.uri, quiet);
    const first = gracefulShutdown(client);
    const second = gracefulShutdown(client);
    assert.equal(await first, await second);
  });

  it('runs on a signal, and a second signal stops the wait', async () => {
    const client = createClient(server.uri, { ...quiet, appName: 'on-signal' });
    slowCommands(server, 'on-signal', 1500);
    const operation = client.db('admin').command({ ping: 1 }).catch((error: unknown) => error);
    await inflight(client, 1);
    const before = process.listenerCount('SIGUSR2');
    let started!: () => void;
    const shutdownStarted = new Promise<void>((resolve) => (started = resolve));
    const done = gracefulShutdown(client, { signals: ['SIGUSR2'], timeoutMS: 10_000, onStart: () => started() });
    assert.equal(process.listenerCount('SIGUSR2'), before + 1);
    process.kill(process.pid, 'SIGUSR2');
    await shutdownStarted;
    assert.equal(getInflightTracker(client)!.shuttingDown, true, 'readiness flips on the first signal');
    process.kill(process.pid, 'SIGUSR2'); // impatient operator
    const result: ShutdownResult = await done;
    server.failCommand({ mode: 'off' });
    assert.ok((await operation) instanceof Error, 'the interrupted operation failed');
    assert.equal(result.signal, 'SIGUSR2');
    assert.equal(result.timedOut, true);
    assert.equal(result.interrupted, 1);
    assert.ok(result.durationMS < 1000, `second signal cut the wait short: ${result.durationMS}`);
    assert.equal(process.listenerCount('SIGUSR2'), before, 'handlers removed');
  });

  it('gives the signals back when the shutdown is started some other way', async () => {
    const client = createClient(server.uri, quiet);
    const before = process.listenerCount('SIGUSR2');
    const viaSignal = gracefulShutdown(client, { signals: ['SIGUSR2'] });
    const direct = await gracefulShutdown(client);
    assert.equal(await viaSignal, direct, 'the signal-armed promise reports the same shutdown');
    assert.equal(process.listenerCount('SIGUSR2'), before, 'no handler left to swallow a later signal');
  });

  it('a failing callback does not stop the shutdown', async () => {
    const client = createClient(server.uri, quiet);
    const closed = once(client, 'topologyClosed');
    await client.db('admin').command({ ping: 1 });
    await assert.rejects(
      gracefulShutdown(client, {
        onStart: () => {
          throw new Error('logger exploded');
        },
      }),
      /logger exploded/,
    );
    await closed;
  });

  it('works for a plain MongoClient with a PoolMonitor attached', async () => {
    const client = new MongoClient(server.uri, { appName: 'monitored' });
    const monitor = PoolMonitor.attach(client);
    slowCommands(server, 'monitored', 100);
    const settled = Promise.allSettled([1, 2, 3].map(() => client.db('admin').command({ ping: 1 })));
    await inflight(client, 3);
    const result = await gracefulShutdown(client, { timeoutMS: 5000 });
    server.failCommand({ mode: 'off' });
    monitor.detach();
    assert.deepEqual([result.completed, result.interrupted], [3, 0]);
    assert.ok((await settled).every((s) => s.status === 'fulfilled'));
  });

  it('waits for a withRetry call sleeping between two attempts, then closes', async () => {
    const client = createClient(server.uri, { ...quiet, appName: 'retrying', retryReads: false, minHeartbeatFrequencyMS: 20 });
    server.failCommand({ mode: { times: 1 }, data: { failCommands: ['find'], closeConnection: true, appName: 'retrying' } });
    let shutdown: Promise<ShutdownResult> | undefined;
    let atStart: { inflight: number; retrying: number } | undefined;
    // The first attempt's connection drops; the call then sleeps ~300 ms, holding no connection.
    const call = withRetry(() => findOne(client), {
      idempotent: true,
      baseDelayMS: 300,
      maxDelayMS: 300,
      random: () => 0.99,
      budget: null,
      onRetry: () => {
        shutdown = gracefulShutdown(client, { timeoutMS: 5000, onStart: (info) => (atStart = info) });
      },
    });
    assert.equal(await call, null, 'the retry ran on the open client and succeeded');
    const result = await shutdown!;
    assert.deepEqual(atStart, { inflight: 0, retrying: 1 });
    assert.equal(result.timedOut, false);
    assert.equal(result.interrupted, 0);
    assert.equal(result.completed, 1, "the second attempt's check-out");
    assert.ok(result.durationMS >= 250, `waited for the backoff: ${result.durationMS} ms`);
  });

  it('counts a withRetry call still waiting to retry at timeoutMS as interrupted', async () => {
    const client = createClient(server.uri, { ...quiet, appName: 'retrying-long', retryReads: false });
    server.failCommand({ mode: { times: 1 }, data: { failCommands: ['find'], closeConnection: true, appName: 'retrying-long' } });
    let begin!: (shutdown: Promise<ShutdownResult>) => void;
    const shutdown = new Promise<ShutdownResult>((resolve) => (begin = resolve)); // adopts the shutdown started in onRetry
    const call = withRetry(() => findOne(client), {
      idempotent: true,
      baseDelayMS: 1500,
      maxDelayMS: 1500,
      random: () => 0.99,
      budget: null,
      onRetry: () => begin(gracefulShutdown(client, { timeoutMS: 200 })),
    }).catch((error: unknown) => error);
    const result = await shutdown;
    assert.equal(result.timedOut, true);
    assert.equal(result.interrupted, 1, 'the call in backoff');
    assert.equal(result.completed, 0);
    assert.ok(result.durationMS >= 195 && result.durationMS < 1200, `duration ${result.durationMS}`);
    const error = await call;
    assert.ok(error instanceof RetryError);
    assert.equal(error.attempts.length, 2);
    assert.match(String(error.attempts[1].errorName), /NotConnected|Closed/, 'its next attempt met the closed client');
  });

  it('never shows a password in a ShutdownError', async () => {
    const secret = 'Sh0ut-Pa55-xyz';
    // A client whose close() fails with a message that carries its connection string.
    class FailingClose extends EventEmitter {
      async close(): Promise<void> {
        throw new Error(`could not close mongodb://bob:${secret}@db.internal:27017/`);
      }
    }
    const failing = new FailingClose() as unknown as MongoClient;
    trackInflight(failing);
    const closeError = await gracefulShutdown(failing, { timeoutMS: 100 }).catch((e: unknown) => e);
    assert.ok(closeError instanceof ShutdownError);
    assert.match(closeError.message, /closing the client failed: could not close mongodb:\/\/bob:\*\*\*\*@db\.internal/);
    const untracked = new MongoClient(`mongodb://bob:${secret}@127.0.0.1:1/`);
    const misuse = await gracefulShutdown(untracked).catch((e: unknown) => e);
    assert.ok(misuse instanceof ShutdownError);
    for (const error of [closeError, misuse]) {
      for (const text of [error.message, String(error), inspect(error, { depth: 10 })]) assert.ok(!text.includes(secret), text);
    }
  });

  it('refuses a client whose operations are not tracked', async () => {
    const plain = new MongoClient(server.uri);
    await assert.rejects(gracefulShutdown(plain), (error: unknown) => {
      assert.ok(error instanceof ShutdownError);
      assert.equal(error.name, 'ShutdownError');
      assert.equal(error.code, 'POOLKIT_ERR_SHUTDOWN');
      assert.match(error.message, /createClient\(\)|PoolMonitor/);
      return true;
    });
    await plain.close();
  });
});
