import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MongoClient, MongoServerError } from 'mongodb';
import { startServer } from '../../src/server/index.js';

// The load model through the real driver: capacity, queueing, maxTimeMS and the handshake delay.

test('at most maxConcurrentOps operations execute at once; the rest queue', async () => {
  const server = await startServer({ latencyMS: 25, maxConcurrentOps: 3 });
  const client = new MongoClient(server.uri, { maxPoolSize: 20 });
  try {
    const items = client.db('app').collection<{ _id: number }>('items');
    await items.insertOne({ _id: 1 });
    server.loadModel.resetStats();
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 12 }, () => items.findOne({ _id: 1 })));
    const elapsed = Date.now() - t0;
    const stats = server.loadModel.stats;
    assert.equal(stats.maxObservedRunning, 3, 'never more than 3 at once, and the capacity was used');
    assert.ok(stats.maxObservedQueued >= 1, `operations queued (max ${stats.maxObservedQueued})`);
    assert.equal(stats.completed, 12);
    assert.ok(elapsed >= 4 * 25 - 5, `12 ops / 3 slots x 25 ms needs >= 100 ms, took ${elapsed}`);
  } finally {
    await client.close();
    await server.stop();
  }
});

test('maxTimeMS expires while queued (MaxTimeMSExpired, 50); hello and runtime changes are not held up', async () => {
  const server = await startServer();
  const client = new MongoClient(server.uri, { maxPoolSize: 5 });
  try {
    // Two pooled connections first, so that nothing below waits for a handshake.
    await Promise.all([client.db('admin').command({ ping: 1 }), client.db('admin').command({ ping: 1 })]);
    server.loadModel.set({ latencyMS: 600, maxConcurrentOps: 1 });
    const blocker = client.db('admin').command({ ping: 1 });
    const t0 = Date.now();
    const err = await client
      .db('admin')
      .command({ ping: 1, maxTimeMS: 40 })
      .then(
        () => null,
        (e: unknown) => e,
      );
    assert.ok(err instanceof MongoServerError, String(err));
    assert.equal(err.code, 50);
    assert.equal(err.codeName, 'MaxTimeMSExpired');
    assert.ok(Date.now() - t0 < 450, 'expired at its deadline, while the only slot was still taken');
    assert.equal(server.loadModel.stats.timedOut, 1);
    // Handshake/monitoring commands are exempt: hello is answered while the slot is taken.
    const t1 = Date.now();
    const hello = await client.db('admin').command({ hello: 1 });
    assert.equal(hello.isWritablePrimary, true);
    assert.ok(Date.now() - t1 < 400, 'hello did not wait for the slot');
    await blocker;
    // Runtime change through the JS handle.
    server.loadModel.set({ latencyMS: 0, maxConcurrentOps: 0 });
    const t2 = Date.now();
    await client.db('admin').command({ ping: 1 });
    assert.ok(Date.now() - t2 < 400, 'the new settings apply at once');
  } finally {
    await client.close();
    await server.stop();
  }
});

test('handshakeDelayMS slows connection establishment, not later commands', async () => {
  const server = await startServer({ handshakeDelayMS: 300 });
  const client = new MongoClient(server.uri, { maxPoolSize: 1 });
  const durations: number[] = [];
  client.on('connectionReady', (e) => durations.push(e.durationMS));
  try {
    await client.db('admin').command({ ping: 1 });
    const t0 = Date.now();
    await client.db('admin').command({ ping: 1 });
    assert.ok(Date.now() - t0 < 250, 'second command on the same connection is not delayed');
    assert.equal(durations.length, 1);
    assert.ok(durations[0] >= 290, `connectionReady.durationMS = ${durations[0]}`);
  } finally {
    await client.close();
    await server.stop();
  }
});
