import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MongoClient } from 'mongodb';
import { MongoClient as MongoClient6 } from 'mongodb6';
import { PoolMonitor } from '../../src/monitor/index.js';
import { PoolConfigError, PoolMonitorError } from '../../src/errors.js';
import { getInflightTracker, trackInflight } from '../../src/client/inflight.js';
import { useServer } from '../helpers/server.js';
import { startReplicaSet } from '../../src/server/index.js';
import { EventTally } from './tally.js';
import { driverPool, events, once, sumClosed, sumFailed, until } from './helpers.js';

type AnyClientClass = new (uri: string, options?: any) => MongoClient;
const drivers: Array<[string, AnyClientClass]> = [
  ['driver 7', MongoClient],
  ['driver 6 (mongodb6)', MongoClient6 as unknown as AnyClientClass],
];

describe('PoolMonitor against the embedded server', () => {
  const srv = useServer();
  const address = () => `${srv().host}:${srv().port}`;

  test('10,000 concurrent operations over maxPoolSize 10 end exact and match the driver and the server', async () => {
    const client = new MongoClient(srv().uri, { maxPoolSize: 10 });
    const monitor = PoolMonitor.attach(client, { name: 'bulk' });
    const tally = new EventTally(client);
    try {
      // Connect first: 10,000 operations all waiting in auto-connect starve the driver's own monitor.
      await client.connect();
      const results = await Promise.all(Array.from({ length: 10_000 }, () => client.db('app').command({ ping: 1 })));
      assert.equal(results.filter((r) => r.ok === 1).length, 10_000);

      const snap = monitor.snapshot();
      assert.equal(snap.name, 'bulk');
      assert.deepEqual(Object.keys(snap.servers), [address()]);
      const s = snap.servers[address()];
      assert.equal(s.inUse, 0);
      assert.equal(s.pending, 0);
      assert.equal(s.opening, 0);
      assert.equal(s.maxPoolSize, 10);
      assert.equal(s.created - sumClosed(s), s.total);
      assert.equal(s.total, s.idle);
      assert.ok(s.total >= 2 && s.total <= 10, `total ${s.total}`);
      // Equal to an independent tally of the driver's own events.
      assert.equal(s.created, tally.n('connectionCreated'));
      assert.equal(sumClosed(s), tally.n('connectionClosed'));
      assert.equal(s.checkedOut, tally.n('connectionCheckedOut'));
      assert.ok(s.checkedOut >= 10_000);
      assert.equal(sumFailed(s), tally.n('connectionCheckOutFailed'));
      assert.equal(s.pending, tally.n('connectionCheckOutStarted') - tally.n('connectionCheckedOut') - tally.n('connectionCheckOutFailed'));
      assert.equal(s.inUse, tally.n('connectionCheckedOut') - tally.n('connectionCheckedIn'));
      assert.equal(s.waitTime.count, s.checkedOut);
      assert.equal(s.useTime.count, tally.n('connectionCheckedIn'));
      assert.equal(s.createTime.count, tally.n('connectionReady'));
      assert.ok(s.waitTime.max > 0, 'operations queued behind 10 connections must have waited');
      for (const summary of [s.waitTime, s.useTime, s.createTime]) {
        assert.ok(summary.p50 <= summary.p95 && summary.p95 <= summary.p99 && summary.p99 <= summary.max, JSON.stringify(summary));
      }
      assert.ok(s.useTime.p50 > 0);
      // And to the driver's own (internal) counters.
      const driver = driverPool(client, address());
      assert.deepEqual({ total: s.total, idle: s.idle, opening: s.opening, inUse: s.inUse }, {
        total: driver.total,
        idle: driver.available,
        opening: driver.pending,
        inUse: driver.checkedOut,
      });

      // The server sees the pool plus the driver's monitoring connections. The driver streams
      // (2 sockets per server: the awaitable-hello monitor and the RTT pinger) only when the
      // server's hello carries a topologyVersion; otherwise it polls on 1 socket. The embedded
      // server sends none (docs/compatibility.md), so: exactly 1 per server of the topology.
      const hello = await client.db('admin').command({ hello: 1 });
      const monitoringPerServer = hello.topologyVersion === undefined ? 1 : 2;
      assert.equal(monitoringPerServer, 1, 'the embedded server does not announce streaming');
      const servers = Object.keys(monitor.snapshot().servers).length;
      const server = await monitor.serverConnections();
      const pool = monitor.snapshot().servers[address()].total;
      assert.equal(server.current, pool + monitoringPerServer * servers, `server ${server.current} vs pool ${pool}`);
      assert.equal(JSON.parse(JSON.stringify(snap)).servers[address()].created, s.created, 'snapshot is plain JSON');
    } finally {
      tally.stop();
      await client.close();
      monitor.detach();
    }
    const closed = monitor.snapshot().servers[address()];
    assert.equal(closed.total, 0);
    assert.equal(closed.created - sumClosed(closed), 0);
    assert.equal(closed.closed.poolClosed, closed.created);
  });

  for (const [label, Client] of drivers) {
    test(`${label}: attaching to a connected client throws PoolMonitorError`, async () => {
      const client = new Client(srv().uri, { maxPoolSize: 2 });
      try {
        await client.connect();
        assert.throws(
          () => PoolMonitor.attach(client),
          (error: unknown) => error instanceof PoolMonitorError && error.code === 'POOLKIT_ERR_MONITOR' && /before connect/.test(error.message),
        );
        await client.close();
        // A closed client has no topology: attaching before it reconnects is allowed and counts the new pool.
        const monitor = PoolMonitor.attach(client);
        const tally = new EventTally(client);
        await client.connect();
        await client.db('app').command({ ping: 1 });
        const s = monitor.snapshot().servers[address()];
        assert.ok(s.checkedOut >= 1);
        assert.equal(s.checkedOut, tally.n('connectionCheckedOut'));
        assert.equal(s.created, tally.n('connectionCreated'));
        tally.stop();
        monitor.detach();
      } finally {
        await client.close();
      }
    });

    test(`${label}: counts match the driver's events, commands mode turns on command monitoring`, async () => {
      const client = new Client(srv().uri, { maxPoolSize: 3 });
      const monitor = PoolMonitor.attach(client, { commands: true });
      const tally = new EventTally(client);
      let commandEvents = 0;
      client.on('commandSucceeded', () => commandEvents++);
      try {
        await Promise.all(Array.from({ length: 300 }, () => client.db('app').command({ ping: 1 })));
        const snap = monitor.snapshot();
        const s = snap.servers[address()];
        assert.equal(s.checkedOut, tally.n('connectionCheckedOut'));
        assert.equal(s.created, tally.n('connectionCreated'));
        assert.equal(s.total, s.created - sumClosed(s));
        assert.equal(s.inUse + s.pending + s.opening, 0);
        assert.ok(commandEvents >= 300, 'the driver emitted command events');
        assert.equal(snap.commands?.ping.count, 300);
        assert.equal(snap.commands?.ping.failed, 0);
        assert.ok(snap.commands!.ping.duration.max > 0);
      } finally {
        tally.stop();
        await client.close();
        monitor.detach();
      }
    });

    test(`${label}: a pool cleared during handshakes is reported with its cause and leaves no drift`, async () => {
      // Handshakes that finish while the pool is paused are destroyed without connectionClosed.
      const client = new Client(srv().uri, {
        maxPoolSize: 5,
        maxConnecting: 2,
        heartbeatFrequencyMS: 60_000,
        serverMonitoringMode: 'poll',
      });
      const monitor = PoolMonitor.attach(client, { name: `clear ${label}` });
      const tally = new EventTally(client);
      try {
        await client.db('app').command({ ping: 1 });
        srv().failCommand({
          mode: { times: 2 },
          data: { failCommands: ['hello', 'ismaster', 'isMaster'], blockConnection: true, blockTimeMS: 400 },
        });
        const created = events(client, 'connectionCreated', 2);
        // One operation takes the idle connection, two open new ones (their handshakes are held).
        const pings = [1, 2, 3].map(() => client.db('app').command({ ping: 1 }));
        const first = await Promise.race(pings.map((p, i) => p.then(() => i)));
        await created;
        await until(() => !srv().core.failPoints.active); // both handshakes reached the server
        assert.equal(monitor.snapshot().servers[address()].opening, 2);

        // A network error on the idle connection clears the pool; the monitor's check fails too, so it stays paused.
        srv().failCommand({ mode: 'alwaysOn', data: { failCommands: ['ping', 'hello', 'ismaster', 'isMaster'], closeConnection: true } });
        const cleared = once(monitor, 'cleared');
        await assert.rejects(client.db('app').command({ ping: 1 }), /closed|network/i);
        const [report] = await cleared;
        assert.equal(report.server, address());
        assert.match(report.cause ?? '', /MongoNetworkError/);

        const outcomes = await Promise.allSettled(pings.filter((_, i) => i !== first));
        assert.deepEqual(outcomes.map((o) => o.status), ['rejected', 'rejected']);
        const s = monitor.snapshot().servers[address()];
        assert.equal(s.cleared.count, 1);
        assert.match(s.cleared.lastCause ?? '', /MongoNetworkError/);
        assert.equal(s.opening, 0, 'handshakes destroyed silently are no longer opening');
        assert.equal(s.created, 3);
        assert.equal(s.total, s.created - sumClosed(s));
        assert.equal(s.total, driverPool(client, address()).total);
        assert.equal(tally.n('connectionClosed'), 1, 'the driver itself reported only one close');
        assert.equal(s.closed.stale, 2);
        assert.equal(s.checkoutFailed.connectionError, tally.failedByReason.connectionError);
      } finally {
        srv().failCommand({ mode: 'off' });
        tally.stop();
        await client.close();
        monitor.detach();
      }
    });
  }

  test('snapshot().commands is present only with commands: true', async () => {
    const plain = new MongoClient(srv().uri, { maxPoolSize: 2 });
    const withCommands = new MongoClient(srv().uri, { maxPoolSize: 2 });
    const plainMonitor = PoolMonitor.attach(plain);
    const commandsMonitor = PoolMonitor.attach(withCommands, { commands: true });
    try {
      // Before any traffic: the key is there (empty) only in commands mode.
      assert.equal('commands' in plainMonitor.snapshot(), false);
      assert.deepEqual(commandsMonitor.snapshot().commands, {});
      await Promise.all([plain, withCommands].map((c) => c.db('app').collection('orders').findOne({ _id: 1 } as any)));
      const snap = plainMonitor.snapshot();
      assert.deepEqual(Object.keys(snap).sort(), ['at', 'leaks', 'name', 'servers']);
      assert.equal('commands' in JSON.parse(JSON.stringify(snap)), false);
      assert.equal(snap.servers[address()].checkedOut, 1, 'the default-mode monitor did see the operation');
      const commands = commandsMonitor.snapshot().commands!;
      assert.equal(commands.find.count, 1);
      assert.equal(commands.find.failed, 0);
      assert.equal(commands.find.duration.count, 1);
    } finally {
      await Promise.all([plain.close(), withCommands.close()]);
      plainMonitor.detach();
      commandsMonitor.detach();
    }
  });

  test('histogram settings reach every histogram: a fixed-size one keeps exact max and mean beyond its range', async () => {
    const client = new MongoClient(srv().uri, { maxPoolSize: 2 });
    const monitor = PoolMonitor.attach(client, { commands: true, histogram: { highestTrackableValueMS: 5, autoResize: false } });
    try {
      await client.db('app').command({ ping: 1 });
      srv().failCommand({ mode: { times: 1 }, data: { failCommands: ['find'], blockConnection: true, blockTimeMS: 40 } });
      await client.db('app').collection('orders').findOne({ _id: 1 } as any); // 40 ms: above the 5 ms range
      const snap = monitor.snapshot();
      const s = snap.servers[address()];
      assert.ok(s.useTime.max >= 40, `useTime ${JSON.stringify(s.useTime)}`);
      assert.ok(s.useTime.p99 <= s.useTime.max);
      const find = snap.commands!.find.duration;
      assert.ok(find.max >= 40 && find.mean === find.max && find.p50 >= 5 && find.p50 <= find.max, JSON.stringify(find));
    } finally {
      srv().failCommand({ mode: 'off' });
      await client.close();
      monitor.detach();
    }
  });

  test('detach removes every listener it added; attach also tracks in-flight operations', async () => {
    /** Every event the client has listeners for, with their counts. */
    const allListeners = (c: MongoClient) => Object.fromEntries(c.eventNames().map((name) => [String(name), c.listenerCount(name as any)]));
    const client = new MongoClient(srv().uri); // a fresh client: no in-flight tracker yet
    const before = allListeners(client);
    const monitor = PoolMonitor.attach(client, { commands: true, leakThresholdMS: 50, captureStacks: true });
    const during = allListeners(client);
    assert.ok((during.connectionCheckedOut ?? 0) > (before.connectionCheckedOut ?? 0));
    assert.ok((during.commandStarted ?? 0) > (before.commandStarted ?? 0));
    assert.ok(getInflightTracker(client), 'attach starts the in-flight tracker used by graceful shutdown');
    monitor.detach();
    assert.deepEqual(allListeners(client), before, 'the tracker attach installed is gone too');
    assert.equal(getInflightTracker(client), undefined);
    monitor.detach(); // idempotent
    assert.equal((client as any).options.monitorCommands, false, 'command monitoring restored');

    // A tracker someone else installed (createClient, trackInflight) belongs to the client and stays.
    const tracked = new MongoClient(srv().uri);
    const tracker = trackInflight(tracked);
    const beforeTracked = allListeners(tracked);
    const m2 = PoolMonitor.attach(tracked);
    m2.detach();
    assert.deepEqual(allListeners(tracked), beforeTracked);
    assert.equal(getInflightTracker(tracked), tracker);

    // Two monitors share one tracker: it stays until the last one detaches.
    const shared = new MongoClient(srv().uri);
    const sharedBefore = allListeners(shared);
    const first = PoolMonitor.attach(shared, { name: 'first' });
    const second = PoolMonitor.attach(shared, { name: 'second' });
    first.detach();
    assert.ok(getInflightTracker(shared), 'still held by the second monitor');
    second.detach();
    assert.deepEqual(allListeners(shared), sharedBefore);
  });

  test('options are validated and name the option', () => {
    const client = new MongoClient(srv().uri);
    const bad: Array<[object, string]> = [
      [{ leakThresholdMS: 0 }, 'leakThresholdMS'],
      [{ leakThresholdMS: '5' }, 'leakThresholdMS'],
      [{ saturationThresholdMS: -1 }, 'saturationThresholdMS'],
      [{ commands: 'yes' }, 'commands'],
      [{ captureStacks: true }, 'captureStacks'],
      [{ histogram: { significantDigits: 7 } }, 'histogram.significantDigits'],
      [{ histogram: { buckets: [] } }, 'histogram.buckets'],
      [{ histogram: 3 }, 'histogram'],
      [{ histogram: { highestTrackableValueMS: 0 } }, 'histogram.highestTrackableValueMS'],
      [{ histogram: { highestTrackableValueMS: Infinity } }, 'histogram.highestTrackableValueMS'],
      [{ histogram: { highestTrackableValueMS: '60000' } }, 'histogram.highestTrackableValueMS'],
      [{ histogram: { autoResize: 'no' } }, 'histogram.autoResize'],
      [{ name: '' }, 'name'],
      [{ leakTreshold: 5 }, 'leakTreshold'],
    ];
    for (const [options, option] of bad) {
      assert.throws(
        () => PoolMonitor.attach(client, options as any),
        (error: unknown) => error instanceof PoolConfigError && error.option === option && error.message.startsWith(option),
        JSON.stringify(options),
      );
    }
    assert.throws(
      () => PoolMonitor.attach(client, { histogram: { buckets: [] } } as any),
      /expected one of significantDigits, highestTrackableValueMS, autoResize/,
    );
    const sized = PoolMonitor.attach(new MongoClient(srv().uri), {
      histogram: { significantDigits: 2, highestTrackableValueMS: 5_000, autoResize: false },
    });
    assert.deepEqual(sized.options.histogram, { significantDigits: 2, highestTrackableValueMS: 5_000, autoResize: false });
    sized.detach();
    const a = PoolMonitor.attach(client, { name: 'same' });
    assert.throws(() => PoolMonitor.attach(new MongoClient(srv().uri), { name: 'same' }), PoolMonitorError);
    const b = PoolMonitor.attach(new MongoClient(srv().uri));
    const c = PoolMonitor.attach(new MongoClient(srv().uri));
    assert.notEqual(b.name, c.name, 'default names are made unique');
    for (const m of [a, b, c]) m.detach();
  });
});

test('several pools (a replica set): every event counts on its own server, as a per-address tally of the driver says', async () => {
  const rs = await startReplicaSet({ nodes: 3 });
  const client = new MongoClient(rs.uri, { maxPoolSize: 4, serverSelectionTimeoutMS: 5000 });
  const monitor = PoolMonitor.attach(client, { name: 'rs-pools' });
  // The oracle: the driver's own events, counted per event name and address.
  const tally = new Map<string, number>();
  const names = ['connectionCreated', 'connectionClosed', 'connectionCheckOutStarted', 'connectionCheckedOut', 'connectionCheckedIn'] as const;
  for (const name of names) client.on(name, (e: { address: string }) => tally.set(`${name} ${e.address}`, (tally.get(`${name} ${e.address}`) ?? 0) + 1));
  const n = (name: (typeof names)[number], server: string) => tally.get(`${name} ${server}`) ?? 0;
  try {
    const [primary, ...secondaries] = rs.members.map((m) => m.core.address);
    // Operations on the primary and on both secondaries, interleaved, with queueing (pool of 4).
    await Promise.all([
      ...Array.from({ length: 40 }, () => client.db('app').command({ ping: 1 })),
      ...Array.from({ length: 30 }, () => client.db('app').collection('c').findOne({}, { readPreference: 'secondary' })),
    ]);
    const snap = monitor.snapshot();
    assert.deepEqual(Object.keys(snap.servers).sort(), [primary, ...secondaries].sort());
    let secondaryCheckouts = 0;
    for (const [server, s] of Object.entries(snap.servers)) {
      assert.equal(s.checkedOut, n('connectionCheckedOut', server), server);
      assert.equal(s.created, n('connectionCreated', server), server);
      assert.equal(s.created - sumClosed(s), s.total, server);
      assert.equal(s.inUse, 0, server);
      assert.equal(s.pending, n('connectionCheckOutStarted', server) - n('connectionCheckedOut', server), server);
      assert.equal(s.useTime.count, n('connectionCheckedIn', server), server);
      if (server !== primary) secondaryCheckouts += s.checkedOut;
    }
    assert.ok(snap.servers[primary].checkedOut >= 40, `primary ${snap.servers[primary].checkedOut}`);
    assert.ok(secondaryCheckouts >= 30, `secondaries ${secondaryCheckouts}`);
  } finally {
    await client.close();
    monitor.detach();
    await rs.stop();
  }
});

test('commands mode on a replica set: each command name counts on its own server, failures included', async () => {
  const rs = await startReplicaSet({ nodes: 3 });
  const client = new MongoClient(rs.uri, { maxPoolSize: 4, serverSelectionTimeoutMS: 5000 });
  const monitor = PoolMonitor.attach(client, { name: 'rs-commands', commands: true });
  // The oracle: the driver's own command events per name and address.
  const done = new Map<string, number>();
  const failed = new Map<string, number>();
  const add = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  client.on('commandSucceeded', (e) => add(done, `${e.commandName} ${e.address}`));
  client.on('commandFailed', (e) => {
    add(done, `${e.commandName} ${e.address}`);
    add(failed, `${e.commandName} ${e.address}`);
  });
  try {
    const items = client.db('app').collection('c');
    // Interleaved names and servers, so consecutive commands differ in name, in server, or both.
    await Promise.all([
      ...Array.from({ length: 40 }, (_, i) => client.db('app').command({ ping: 1 }, { readPreference: i % 2 === 0 ? 'primary' : 'secondary' })),
      ...Array.from({ length: 20 }, (_, i) => items.insertOne({ i })),
      ...Array.from({ length: 20 }, () => items.findOne({}, { readPreference: 'secondary' })),
      ...Array.from({ length: 10 }, () => client.db('app').command({ noSuchCommand: 1 }).catch(() => 'failed')),
    ]);
    const stats = monitor.commandStats()!;
    const seen = new Set<string>();
    for (const [name, byServer] of stats) {
      for (const [server, s] of byServer) {
        const key = `${name} ${server}`;
        seen.add(key);
        assert.equal(s.count, done.get(key) ?? 0, key);
        assert.equal(s.failed, failed.get(key) ?? 0, key);
        assert.equal(s.duration.count, s.count, key);
      }
    }
    assert.deepEqual([...seen].sort(), [...done.keys()].sort(), 'the same (name, server) pairs as the driver');
    const snap = monitor.snapshot();
    assert.equal(snap.commands!.insert.count, 20);
    assert.equal(snap.commands!.noSuchCommand.failed, 10);
    assert.ok(stats.get('ping')!.size >= 2, 'ping ran on the primary and on a secondary');
    const findServers = [...stats.get('find')!.keys()];
    assert.ok(findServers.every((server) => server !== rs.members[0].core.address), `find ran on secondaries: ${findServers}`);
  } finally {
    await client.close();
    monitor.detach();
    await rs.stop();
  }
});
