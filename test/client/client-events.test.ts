import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MongoClient } from 'mongodb';
import { clientEvents } from '../../src/client/client-events.js';
import { PoolMonitor } from '../../src/monitor/index.js';
import { createClient, getInflightTracker, trackInflight } from '../../src/client/index.js';
import { startServer } from '../../src/server/index.js';

test('one driver listener per event however many toolkit handlers; removed with the last one', () => {
  const client = new MongoClient('mongodb://127.0.0.1:1/');
  const hub = clientEvents(client);
  assert.equal(clientEvents(client), hub, 'one hub per client');
  const seen: string[] = [];
  const a = (e: { n: number }) => seen.push(`a${e.n}`);
  const b = (e: { n: number }) => seen.push(`b${e.n}`);
  hub.on('connectionCheckedOut', a);
  hub.on('connectionCheckedOut', b);
  assert.equal(client.listenerCount('connectionCheckedOut'), 1);
  client.emit('connectionCheckedOut' as any, { n: 1 } as any);
  assert.deepEqual(seen, ['a1', 'b1']);
  hub.off('connectionCheckedOut', a);
  client.emit('connectionCheckedOut' as any, { n: 2 } as any);
  assert.deepEqual(seen, ['a1', 'b1', 'b2']);
  hub.off('connectionCheckedOut', b);
  assert.equal(client.listenerCount('connectionCheckedOut'), 0);
  hub.off('connectionCheckedOut', b); // unknown handler: no-op
});

test('createClient and two monitors share one listener per pool event', () => {
  const client = createClient('mongodb://127.0.0.1:1/');
  const one = PoolMonitor.attach(client, { name: 'hub-1' });
  const two = PoolMonitor.attach(client, { name: 'hub-2' });
  for (const event of ['connectionCheckOutStarted', 'connectionCheckedOut', 'connectionCheckedIn', 'connectionCheckOutFailed']) {
    assert.equal(client.listenerCount(event as any), 1, event);
  }
  one.detach();
  two.detach();
  // createClient's tracker still listens.
  assert.equal(client.listenerCount('connectionCheckedIn'), 1);
});

test('a lone handler is itself the driver listener; a second one switches to one dispatch, in order', () => {
  const client = new MongoClient('mongodb://127.0.0.1:1/');
  const hub = clientEvents(client);
  const seen: string[] = [];
  const a = (e: { n: number }) => seen.push(`a${e.n}`);
  const b = (e: { n: number }) => seen.push(`b${e.n}`);
  const emit = (n: number) => client.emit('connectionCheckedIn' as any, { n } as any);
  hub.on('connectionCheckedIn', a);
  assert.deepEqual(client.listeners('connectionCheckedIn'), [a], 'no dispatch in between');
  hub.on('connectionCheckedIn', b);
  const [dispatch] = client.listeners('connectionCheckedIn') as unknown[];
  assert.equal(client.listenerCount('connectionCheckedIn'), 1);
  assert.ok(dispatch !== a && dispatch !== b);
  emit(1);
  hub.off('connectionCheckedIn', a);
  assert.deepEqual(client.listeners('connectionCheckedIn'), [b]);
  emit(2);
  hub.on('connectionCheckedIn', a);
  emit(3);
  assert.deepEqual(seen, ['a1', 'b1', 'b2', 'b3', 'a3']);
  hub.off('connectionCheckedIn', b);
  hub.off('connectionCheckedIn', a);
  assert.equal(client.listenerCount('connectionCheckedIn'), 0);
});

test('a handler added during a dispatch hears the next event, not the current one', () => {
  const client = new MongoClient('mongodb://127.0.0.1:1/');
  const hub = clientEvents(client);
  const seen: string[] = [];
  const late = (e: { n: number }) => seen.push(`late${e.n}`);
  const first = (e: { n: number }) => {
    seen.push(`first${e.n}`);
    if (e.n === 1) hub.on('connectionCheckedOut', late);
  };
  hub.on('connectionCheckedOut', first);
  client.emit('connectionCheckedOut' as any, { n: 1 } as any);
  client.emit('connectionCheckedOut' as any, { n: 2 } as any);
  assert.deepEqual(seen, ['first1', 'first2', 'late2']);
  hub.off('connectionCheckedOut', first);
  hub.off('connectionCheckedOut', late);
});

test('a monitor does the in-flight counting in its own handlers; the tracker listens again when it leaves', async () => {
  const server = await startServer({ port: 0 });
  const client = new MongoClient(server.uri, { maxPoolSize: 4 });
  try {
    const tracker = trackInflight(client);
    const trackerListener = client.listeners('connectionCheckedIn')[0];
    const one = PoolMonitor.attach(client, { name: 'drive-1' });
    const two = PoolMonitor.attach(client, { name: 'drive-2' });
    const items = client.db('drive').collection('items');
    await Promise.all(Array.from({ length: 20 }, () => items.findOne({})));
    // Every operation was counted once: by the tracker, through the first monitor's handlers.
    assert.equal(tracker.started, 20);
    assert.equal(tracker.finished, 20);
    assert.equal(tracker.inflight, 0);
    assert.equal(tracker.waiting, 0);
    const pool = Object.values(one.snapshot().servers)[0];
    assert.equal(pool.checkedOut, 20);
    assert.equal(Object.values(two.snapshot().servers)[0].checkedOut, 20);

    one.detach(); // the tracker takes its own listeners back while the second monitor stays
    await Promise.all(Array.from({ length: 10 }, () => items.findOne({})));
    assert.equal(tracker.started, 30);
    assert.equal(tracker.finished, 30);
    assert.equal(Object.values(two.snapshot().servers)[0].checkedOut, 30);

    two.detach();
    assert.deepEqual(client.listeners('connectionCheckedIn'), [trackerListener], 'only the tracker listens');
    const idle = tracker.whenIdle();
    await items.findOne({});
    await idle;
    assert.equal(tracker.started, 31);
    assert.equal(tracker.finished, 31);
    assert.equal(getInflightTracker(client), tracker);
  } finally {
    await client.close();
    await server.stop();
  }
});

test('a monitor alone on a client: one listener per pool event, and detach leaves none', () => {
  const client = new MongoClient('mongodb://127.0.0.1:1/');
  const listening = () => client.eventNames().map((event) => `${String(event)}:${client.listenerCount(event as any)}`);
  const before = listening(); // the driver's own
  const monitor = PoolMonitor.attach(client, { name: 'drive-alone' });
  for (const event of ['connectionCheckOutStarted', 'connectionCheckedOut', 'connectionCheckedIn', 'connectionCheckOutFailed']) {
    assert.equal(client.listenerCount(event as any), 1, event);
  }
  assert.ok(getInflightTracker(client), 'graceful shutdown and readiness still find a tracker');
  monitor.detach();
  assert.equal(getInflightTracker(client), undefined);
  assert.deepEqual(listening(), before);
});
