import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MongoClient } from 'mongodb';
import { clientEvents } from '../../src/client/client-events.js';
import { PoolMonitor } from '../../src/monitor/index.js';
import { createClient } from '../../src/client/index.js';

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
