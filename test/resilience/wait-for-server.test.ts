import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import { PoolConfigError, ServerUnavailableError, createClient, createRandom, waitForServer, type RetryAttempt } from '../../src/index.js';
import { startServer, type EmbeddedServer } from '../../src/server/index.js';

describe('waitForServer', () => {
  let server: EmbeddedServer;
  let deadPort: number;
  before(async () => {
    server = await startServer({ port: 0 });
    const dead = await startServer({ port: 0 });
    deadPort = dead.port;
    await dead.stop(); // nothing listens there any more
  });
  after(async () => {
    await server.stop();
  });

  it('succeeds when the server comes up late, backing off in between', async () => {
    const attempts: Array<RetryAttempt & { ok: boolean }> = [];
    const restarted = server.restart({ downtimeMS: 700 }); // the port is closed for 700 ms
    const result = await waitForServer(server.uri, {
      initialDelayMS: 50,
      maxDelayMS: 200,
      attemptTimeoutMS: 250,
      deadlineMS: 10_000,
      random: createRandom(7),
      onAttempt: (a) => attempts.push(a),
    });
    await restarted;
    assert.ok(result.attempts >= 2, `attempts ${result.attempts}`);
    assert.ok(result.elapsedMS >= 650, `elapsed ${result.elapsedMS}`);
    assert.equal(attempts.length, result.attempts);
    assert.deepEqual(attempts.map((a) => a.ok), [...Array(result.attempts - 1).fill(false), true]);
    for (const failed of attempts.slice(0, -1)) {
      assert.ok(failed.error, 'each failed attempt says why');
      assert.ok(failed.delayMS! >= 0 && failed.delayMS! < 200, `delay ${failed.delayMS}`);
    }
  });

  it('works through an existing client and leaves it usable', async () => {
    const client = createClient(server.uri, { onWarning: () => {} });
    try {
      const restarted = server.restart({ downtimeMS: 400 });
      const result = await waitForServer(client, { initialDelayMS: 50, maxDelayMS: 100, attemptTimeoutMS: 200 });
      await restarted;
      assert.ok(result.attempts >= 2);
      assert.deepEqual(await client.db('admin').command({ ping: 1 }), { ok: 1 });
    } finally {
      await client.close();
    }
  });

  it('repairs a client whose first auto-connect failed', async () => {
    const client = new MongoClient(server.uri, { serverSelectionTimeoutMS: 200 });
    try {
      const restarted = server.restart({ downtimeMS: 400 });
      await assert.rejects(client.db('admin').command({ ping: 1 }), /ECONNREFUSED|timed out/);
      await restarted;
      await waitForServer(client, { attemptTimeoutMS: 1000 });
      assert.deepEqual(await client.db('admin').command({ ping: 1 }), { ok: 1 });
    } finally {
      await client.close();
    }
  });

  it('gives up at the deadline with the attempt history, password redacted', async () => {
    const secret = 'hunter2-secret';
    const started = performance.now();
    const error = await waitForServer(`mongodb://bob:${secret}@127.0.0.1:${deadPort}/`, {
      deadlineMS: 600,
      attemptTimeoutMS: 150,
      initialDelayMS: 20,
      maxDelayMS: 50,
    }).catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    assert.ok(error instanceof ServerUnavailableError, String(error));
    assert.equal(error.name, 'ServerUnavailableError');
    assert.equal(error.code, 'POOLKIT_ERR_SERVER_UNAVAILABLE');
    assert.ok(elapsed >= 580 && elapsed < 1200, `gave up after ${elapsed} ms`);
    assert.match(error.message, /deadline of 600 ms reached/);
    assert.match(error.message, /ECONNREFUSED/);
    assert.ok(error.attempts.length >= 2, `attempts ${error.attempts.length}`);
    assert.ok(!error.message.includes(secret) && !JSON.stringify(error.attempts).includes(secret));
    assert.match(error.message, /bob:\*\*\*\*@/);
  });

  it('stops after `retries`', async () => {
    const error = (await waitForServer(`mongodb://127.0.0.1:${deadPort}/`, { retries: 1, attemptTimeoutMS: 100, initialDelayMS: 10 }).catch((e: unknown) => e)) as ServerUnavailableError;
    assert.equal(error.attempts.length, 2);
    assert.match(error.message, /1 retry exhausted/);
  });

  it('honours an AbortSignal', async () => {
    const controller = new AbortController();
    const started = performance.now();
    const error = (await waitForServer(`mongodb://127.0.0.1:${deadPort}/`, {
      attemptTimeoutMS: 100,
      initialDelayMS: 5000,
      maxDelayMS: 5000,
      random: () => 0.99,
      signal: controller.signal,
      onAttempt: () => controller.abort(new Error('deploy cancelled')),
    }).catch((e: unknown) => e)) as ServerUnavailableError;
    assert.ok(error instanceof ServerUnavailableError);
    assert.match(error.message, /aborted/);
    assert.ok(performance.now() - started < 1000, 'did not sit out the 5 s backoff');
  });

  it('validates the URI as createClient does (named option, did-you-mean, no password)', async () => {
    const secret = 'pw1-SECRET';
    const cases: Array<[string, string, RegExp]> = [
      [`mongodb://u:${secret}@127.0.0.1:${deadPort}/?maxPoolSze=1`, 'maxPoolSze', /did you mean maxPoolSize\?/],
      [`mongodb://u:${secret}@127.0.0.1:${deadPort}/?maxPoolSize=-1`, 'maxPoolSize', /must be between 0 and 1000000 \(in the connection string\)/],
      [`mongodb://u:${secret}@127.0.0.1:${deadPort}/?waitQueueTimeoutMS=soon`, 'waitQueueTimeoutMS', /must be an integer/],
    ];
    for (const [uri, option, rule] of cases) {
      const error = await waitForServer(uri, { retries: 0, attemptTimeoutMS: 100 }).catch((e: unknown) => e);
      assert.ok(error instanceof PoolConfigError, `${uri}: ${String(error)}`);
      assert.equal(error.option, option);
      assert.match(error.message, rule);
      assert.ok(!error.message.includes(secret) && !String(error.stack).includes(secret));
    }
  });

  it('rejects bad options naming them', async () => {
    await assert.rejects(waitForServer(server.uri, { retries: -1 }), /waitForServer: retries/);
    await assert.rejects(waitForServer('localhost:27017'), /uri: must start with mongodb:\/\//);
  });
});
