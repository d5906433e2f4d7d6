import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import os from 'node:os';
import { BSON } from 'bson';
import * as mongodb7 from 'mongodb';
import * as mongodb6 from 'mongodb6';
import { useServer } from '../helpers/server.js';
import { RawClient, TapProxy } from '../helpers/raw.js';
import { encodeCompressed, encodeOpQueryRequest, encodeOpMsgRequest } from '../../src/server/wire/codec.js';
import { CompressorId, MsgFlags, OpCode } from '../../src/server/wire/constants.js';
import { startServer, type EmbeddedServer } from '../../src/server/index.js';
import type { ConnectionState } from '../../src/server/connection/state.js';

/** The server-side state of a raw client's connection (after one round trip, so it is registered). */
async function connectionOf(server: EmbeddedServer, raw: RawClient): Promise<ConnectionState> {
  const id = raw.command({ ping: 1, $db: 'admin' });
  assert.equal((await raw.nextReply())?.responseTo, id);
  const state = [...server.core.connections].find((c) => c.remoteAddress.endsWith(`:${raw.socket.localPort}`));
  assert.ok(state, 'the raw client has a server connection');
  return state;
}

/** Waits for a flow-control event, failing after 10 s instead of hanging the suite. */
function flowEvent(state: ConnectionState, event: 'backpressure' | 'pause'): Promise<unknown> {
  return once(state, event, { signal: AbortSignal.timeout(10_000) });
}

const drivers = [
  ['driver 7', mongodb7],
  ['driver 6', mongodb6 as unknown as typeof mongodb7],
] as const;

for (const [label, driver] of drivers) {
  describe(`handshake and admin commands (${label})`, () => {
    const server = useServer();

    test('connects, pings and reports a standalone with per-connection ids', async () => {
      const client = new driver.MongoClient(server().uri, { maxPoolSize: 2 });
      try {
        await client.connect();
        assert.deepEqual(await client.db('admin').command({ ping: 1 }), { ok: 1 });
        const a = await client.db('admin').command({ hello: 1 });
        assert.equal(a.isWritablePrimary, true);
        assert.equal(a.logicalSessionTimeoutMinutes, 30);
        assert.equal(a.maxBsonObjectSize, 16 * 1024 * 1024);
        assert.ok(a.maxWireVersion >= 8 && a.minWireVersion === 0);
        const legacy = await client.db('admin').command({ isMaster: 1 });
        assert.equal(legacy.ismaster, true);
        assert.equal(legacy.isWritablePrimary, undefined);
        const status = await client.db('admin').command({ serverStatus: 1 });
        for (const field of ['current', 'available', 'totalCreated', 'active']) assert.equal(typeof status.connections[field], 'number', field);
        assert.ok(status.uptime >= 0);
        assert.equal(typeof status.opcounters.command, 'number');
        assert.equal(typeof status.mem.resident, 'number');
        const build = await client.db('admin').command({ buildInfo: 1 });
        assert.match(build.version, /^\d+\.\d+\.\d+$/);
      } finally {
        await client.close();
      }
    });

    test("connectionId: one per connection, distinct, and the one hello reports on that connection", async () => {
      const client = new driver.MongoClient(server().uri, { minPoolSize: 2, maxPoolSize: 2, monitorCommands: true });
      const ready = new Set<string>();
      const bothReady = new Promise<void>((resolve) => {
        client.on('connectionReady', (e: any) => {
          ready.add(String(e.connectionId));
          if (ready.size === 2) resolve();
        });
      });
      const hellos: { connection: string; serverConnectionId: unknown; reported: unknown }[] = [];
      client.on('commandSucceeded', (e: any) => {
        if (e.commandName === 'hello') hellos.push({ connection: String(e.connectionId), serverConnectionId: e.serverConnectionId, reported: e.reply.connectionId });
      });
      try {
        await client.connect();
        await bothReady;
        // Six at once over two idle connections: both are used.
        await Promise.all(Array.from({ length: 6 }, () => client.db('admin').command({ hello: 1 })));
        const byConnection = new Map<string, Set<number>>();
        for (const h of hellos) {
          // The driver learnt the id from the handshake; every later hello on that socket repeats it.
          assert.equal(Number(h.serverConnectionId), h.reported);
          let ids = byConnection.get(h.connection);
          if (!ids) byConnection.set(h.connection, (ids = new Set()));
          ids.add(h.reported as number);
        }
        assert.equal(byConnection.size, 2, 'both pool connections answered');
        const ids = [...byConnection.values()].map((set) => {
          assert.equal(set.size, 1, 'one id per connection');
          return [...set][0];
        });
        assert.notEqual(ids[0], ids[1]);
        const serverIds = new Set([...server().core.connections].map((c) => c.id));
        for (const id of ids) assert.ok(serverIds.has(id), `connection ${id} is one of the server's`);
      } finally {
        await client.close();
      }
    });

    test('hostInfo, getCmdLineOpts, whatsmyuri and getParameter', async () => {
      const client = new driver.MongoClient(server().uri, { maxPoolSize: 1 });
      try {
        const admin = client.db('admin');
        const host = await admin.command({ hostInfo: 1 });
        assert.equal(host.system.hostname, os.hostname());
        assert.equal(host.system.numCores, os.cpus().length);
        assert.equal(host.system.cpuArch, os.arch());
        assert.equal(host.os.type, os.type());
        const opts = await admin.command({ getCmdLineOpts: 1 });
        assert.deepEqual(opts.parsed.net, { bindIp: '127.0.0.1', port: server().port });
        assert.ok(opts.argv.includes(String(server().port)));
        const me = await admin.command({ whatsmyuri: 1 });
        assert.match(me.you, /^127\.0\.0\.1:\d+$/);
        assert.ok([...server().core.connections].some((c) => c.remoteAddress === me.you), 'the address is this client connection as the server sees it');
        const fcv = await admin.command({ getParameter: 1, featureCompatibilityVersion: 1 });
        assert.deepEqual(fcv.featureCompatibilityVersion, { version: '7.0' });
        assert.equal(fcv.maxIncomingConnections, undefined, 'only what was asked');
        const all = await admin.command({ getParameter: '*' });
        assert.equal(all.cursorTimeoutMillis, 600_000);
        assert.deepEqual(all.authenticationMechanisms, ['SCRAM-SHA-1', 'SCRAM-SHA-256']);
        await assert.rejects(admin.command({ getParameter: 1, noSuchParameter: 1 }), (err: any) => err.code === 72);
      } finally {
        await client.close();
      }
    });

    test('killAllSessions kills every session cursor', async () => {
      const client = new driver.MongoClient(server().uri);
      try {
        const c = client.db('killall').collection<any>('c');
        await c.insertMany(Array.from({ length: 10 }, (_, i) => ({ _id: i })));
        const session = client.startSession();
        const cursor = c.find({}, { batchSize: 2, session });
        await cursor.next();
        const before = server().core.cursors.size;
        assert.ok(before >= 1);
        assert.deepEqual(await client.db('admin').command({ killAllSessions: [] }), { ok: 1 });
        assert.equal(server().core.cursors.size, 0);
        await assert.rejects(cursor.toArray(), (err: any) => err.code === 43);
        await session.endSession();
      } finally {
        await client.close();
      }
    });

    test('w: 0 writes are executed in order and get no reply', async () => {
      const proxy = await TapProxy.start(server().port);
      // One pool connection: requests on it run in order. Heartbeats far apart: none in flight.
      const client = new driver.MongoClient(proxy.uri, { maxPoolSize: 1, heartbeatFrequencyMS: 60_000 });
      try {
        const c = client.db('w0').collection<any>('c');
        await c.findOne({});
        const result = await c.insertOne({ _id: 1, v: 'unacknowledged' }, { writeConcern: { w: 0 } });
        assert.equal(result.acknowledged, false);
        assert.deepEqual(await c.findOne({ _id: 1 }), { _id: 1, v: 'unacknowledged' });
        const unacknowledged = proxy.toServer.filter((m) => m.moreToCome);
        assert.equal(unacknowledged.length, 1, 'the driver sent the insert with moreToCome');
        assert.equal(proxy.toClient.length, proxy.toServer.length - 1, 'every request but the w: 0 one got exactly one reply');
      } finally {
        await client.close();
        await proxy.close();
      }
    });

    test('unknown command is CommandNotFound (59)', async () => {
      const client = new driver.MongoClient(server().uri);
      try {
        await assert.rejects(client.db('test').command({ frobnicate: 1 }), (err: any) => err.code === 59 && /no such command: 'frobnicate'/.test(err.message));
      } finally {
        await client.close();
      }
    });

    test('zlib compression is negotiated and used both ways (OP_COMPRESSED on the wire)', async () => {
      const proxy = await TapProxy.start(server().port);
      const client = new driver.MongoClient(proxy.uri, { compressors: ['zlib'] });
      try {
        const c = client.db('zlib').collection<any>('c');
        await c.insertOne({ a: 'x'.repeat(1000) });
        assert.equal((await c.find({}).toArray()).length, 1);
        const zlibOpMsg = (m: { opCode: number; originalOpCode?: number; compressorId?: number }) =>
          m.opCode === OpCode.OP_COMPRESSED && m.originalOpCode === OpCode.OP_MSG && m.compressorId === CompressorId.zlib;
        assert.ok(proxy.toServer.filter(zlibOpMsg).length >= 2, 'insert and find were sent compressed');
        assert.ok(proxy.toClient.filter(zlibOpMsg).length >= 2, 'their replies came back compressed');
        // The handshake is never compressed.
        assert.equal(proxy.toServer[0].opCode, OpCode.OP_QUERY);
        assert.equal(proxy.toClient[0].opCode, OpCode.OP_REPLY);
        // The server only advertises what it supports.
        const raw = await RawClient.connect(server().port);
        try {
          raw.command({ hello: 1, $db: 'admin', client: { driver: { name: 't', version: '0' } }, compression: ['snappy', 'zstd', 'zlib'] });
          const reply = await raw.nextReply();
          assert.deepEqual(reply?.doc.compression, ['zlib']);
        } finally {
          raw.close();
        }
      } finally {
        await client.close();
        await proxy.close();
      }
    });

    test('a transaction on a standalone is refused with IllegalOperation (20)', async () => {
      const client = new driver.MongoClient(server().uri);
      const session = client.startSession();
      try {
        session.startTransaction();
        await assert.rejects(
          client.db('test').collection('t').findOne({}, { session }),
          (err: any) => err.code === 20 && err.codeName === 'IllegalOperation' && /Transaction numbers are only allowed on a replica set member or mongos/.test(err.message),
        );
      } finally {
        await session.endSession().catch(() => {});
        await client.close();
      }
    });
  });
}

describe('wire protocol edge cases (raw sockets)', () => {
  const server = useServer();

  test('OP_QUERY handshake gets an OP_REPLY; other OP_QUERY commands get 352', async () => {
    const raw = await RawClient.connect(server().port);
    try {
      raw.write(encodeOpQueryRequest(77, 'admin.$cmd', BSON.serialize({ isMaster: 1, helloOk: true })));
      const reply = await raw.nextReply();
      assert.equal(reply?.opCode, OpCode.OP_REPLY);
      assert.equal(reply?.responseTo, 77);
      assert.equal(reply?.doc.ismaster, true);
      assert.equal(reply?.doc.helloOk, true);
      raw.write(encodeOpQueryRequest(78, 'test.$cmd', BSON.serialize({ find: 'c' })));
      const refused = await raw.nextReply();
      assert.equal(refused?.doc.ok, 0);
      assert.equal(refused?.doc.code, 352);
    } finally {
      raw.close();
    }
  });

  test('moreToCome requests get no reply', async () => {
    const raw = await RawClient.connect(server().port);
    try {
      raw.command({ ping: 1, $db: 'admin' }, { flags: MsgFlags.moreToCome });
      const id = raw.command({ ping: 1, $db: 'admin' });
      const reply = await raw.nextReply();
      assert.equal(reply?.responseTo, id, 'the first reply answers the second request');
    } finally {
      raw.close();
    }
  });

  test('a malformed moreToCome request gets no reply either; the connection keeps working', async () => {
    const raw = await RawClient.connect(server().port);
    try {
      const bad = encodeOpMsgRequest(40, BSON.serialize({ ping: 1, $db: 'admin' }), { flags: MsgFlags.moreToCome });
      bad[20] = 9; // unknown section kind
      raw.write(bad);
      const id = raw.command({ ping: 1, $db: 'admin' });
      const reply = await raw.nextReply();
      assert.equal(reply?.responseTo, id, 'the first reply answers the ping, not the malformed request');
      assert.equal(reply?.doc.ok, 1);
    } finally {
      raw.close();
    }
  });

  test('a malformed OP_QUERY inside OP_COMPRESSED is answered with OP_REPLY', async () => {
    const raw = await RawClient.connect(server().port);
    try {
      const query = encodeOpQueryRequest(41, 'admin.$cmd', BSON.serialize({ isMaster: 1 }));
      query.writeInt32LE(1_000_000, query.length - BSON.serialize({ isMaster: 1 }).length); // the query's length lies
      raw.write(encodeCompressed(query, CompressorId.zlib));
      const reply = await raw.nextReply();
      assert.equal(reply?.opCode, OpCode.OP_REPLY);
      assert.equal(reply?.responseTo, 41);
      assert.equal(reply?.doc.ok, 0);
      assert.match(reply?.doc.errmsg, /malformed message/);
    } finally {
      raw.close();
    }
  });

  test('malformed BSON gets an error reply and the connection keeps working', async () => {
    const raw = await RawClient.connect(server().port);
    try {
      const body = Buffer.from(BSON.serialize({ ping: 1, $db: 'admin' }));
      body[4] = 0x7f; // an invalid BSON type byte
      raw.write(encodeOpMsgRequest(5, body));
      const bad = await raw.nextReply();
      assert.equal(bad?.responseTo, 5);
      assert.equal(bad?.doc.ok, 0);
      assert.match(bad?.doc.errmsg, /invalid BSON|malformed/);
      const id = raw.command({ ping: 1, $db: 'admin' });
      assert.equal((await raw.nextReply())?.responseTo, id);
    } finally {
      raw.close();
    }
  });

  test('a missing $db, a bad section and a bad checksum get clear errors', async () => {
    const raw = await RawClient.connect(server().port);
    try {
      raw.command({ ping: 1 });
      assert.match((await raw.nextReply())?.doc.errmsg, /\$db/);
      const frame = encodeOpMsgRequest(9, BSON.serialize({ ping: 1, $db: 'admin' }), { checksum: true });
      frame[frame.length - 2] ^= 1;
      raw.write(frame);
      assert.equal((await raw.nextReply())?.doc.code, 288);
      const badKind = encodeOpMsgRequest(10, BSON.serialize({ ping: 1, $db: 'admin' }));
      badKind[20] = 9;
      raw.write(badKind);
      const r = await raw.nextReply();
      assert.equal(r?.doc.ok, 0);
      assert.match(r?.doc.errmsg, /section kind/);
    } finally {
      raw.close();
    }
  });

  test('a declared length below 16 or above the maximum closes only that connection', async () => {
    const healthy = new mongodb7.MongoClient(server().uri);
    try {
      await healthy.db('admin').command({ ping: 1 });
      for (const length of [3, 2_000_000_000]) {
        const raw = await RawClient.connect(server().port);
        const bytes = Buffer.alloc(16);
        bytes.writeInt32LE(length, 0);
        raw.write(bytes);
        await raw.waitClosed();
        assert.ok(raw.closed);
      }
      assert.deepEqual(await healthy.db('admin').command({ ping: 1 }), { ok: 1 });
    } finally {
      await healthy.close();
    }
  });

  test('a command body over 16 MiB + 16 KiB is BSONObjectTooLarge (10334)', async () => {
    const raw = await RawClient.connect(server().port);
    try {
      const big = BSON.serialize({ ping: 1, $db: 'admin', pad: Buffer.alloc(16 * 1024 * 1024 + 20 * 1024) });
      raw.write(encodeOpMsgRequest(3, big));
      const reply = await raw.nextReply();
      assert.equal(reply?.doc.code, 10334);
    } finally {
      raw.close();
    }
  });

  test('a client that sends but does not read stops being served once its replies back up; others are served', async () => {
    const cap = 1024 * 1024;
    const small = await startServer({ maxPendingWriteBytes: cap });
    const other = new mongodb7.MongoClient(small.uri);
    const raw = await RawClient.connect(small.port);
    try {
      const c = other.db('bp').collection<any>('c');
      await c.insertMany(Array.from({ length: 10 }, (_, i) => ({ _id: i, s: 'x'.repeat(100 * 1024) }))); // ~1 MB per find reply
      const state = await connectionOf(small, raw);
      raw.socket.pause(); // from now on the client reads nothing
      const sent = 200; // ~200 MB of replies if they were all produced
      const ids = Array.from({ length: sent }, () => raw.command({ find: 'c', filter: {}, $db: 'bp' }));
      await flowEvent(state, 'backpressure');
      // Replies stay bounded by the cap plus the one reply that crossed it, and the socket is not read.
      assert.ok(state.flow.pendingWriteBytes <= cap + 1.1 * 1024 * 1024, `${state.flow.pendingWriteBytes} bytes pending`);
      assert.equal(state.flow.readingPaused, true);
      // Another client is served meanwhile, and sees that most requests were never executed.
      assert.equal((await c.findOne({ _id: 3 }))?._id, 3);
      const status = await other.db('admin').command({ serverStatus: 1 });
      const executed = status.opcounters.query - 1; // less the findOne above
      assert.ok(executed < sent / 4, `${executed} of ${sent} finds ran while the client was not reading`);
      assert.ok(state.flow.pendingWriteBytes <= cap + 1.1 * 1024 * 1024);
      // Once the client reads, it gets every reply, in order.
      raw.socket.resume();
      for (const id of ids) {
        const reply = await raw.nextReply();
        assert.ok(reply, 'connection stayed open');
        assert.equal(reply.responseTo, id);
        assert.equal(reply.doc.cursor.firstBatch.length, 10);
      }
      assert.equal(small.core.stats.opcounters.query, sent + 1);
    } finally {
      raw.close();
      await other.close();
      await small.stop();
    }
  });

  test('requests read ahead are bounded: the socket is not read while 256 wait', async () => {
    const raw = await RawClient.connect(server().port);
    try {
      const state = await connectionOf(server(), raw);
      // The first ping blocks for a moment; meanwhile 20,000 more arrive in one burst (~1 MB).
      server().failCommand({ mode: { times: 1 }, data: { failCommands: ['ping'], blockConnection: true, blockTimeMS: 500 } });
      const first = raw.command({ ping: 1, $db: 'admin' });
      const burst = Buffer.concat(Array.from({ length: 20_000 }, (_, i) => encodeOpMsgRequest(1000 + i, BSON.serialize({ ping: 1, $db: 'admin' }))));
      raw.write(burst);
      await flowEvent(state, 'pause');
      // At most the bound plus what one socket read delivered (a 64 KiB chunk holds ~1,400 pings).
      assert.ok(state.flow.queuedRequests <= 256 + 1500, `${state.flow.queuedRequests} requests queued`);
      assert.equal(state.flow.readingPaused, true);
      assert.equal((await raw.nextReply())?.responseTo, first);
      for (let i = 0; i < 20_000; i++) assert.equal((await raw.nextReply())?.responseTo, 1000 + i);
    } finally {
      server().failCommand({ mode: 'off' });
      raw.close();
    }
  });
});

describe('server lifecycle', () => {
  test('restart keeps the port; a driver reconnects on its own', async () => {
    const server = await startServer();
    const client = new mongodb7.MongoClient(server.uri, { serverSelectionTimeoutMS: 5000, heartbeatFrequencyMS: 500 });
    try {
      await client.db('admin').command({ ping: 1 });
      await server.restart({ downtimeMS: 100 });
      assert.deepEqual(await client.db('admin').command({ ping: 1 }), { ok: 1 });
      const status = await client.db('admin').command({ serverStatus: 1 });
      assert.ok(status.connections.totalCreated >= 3, 'new connections were made after the restart');
    } finally {
      await client.close();
      await server.stop();
    }
  });

  test('restart keeps the data and indexes', async () => {
    const server = await startServer();
    const client = new mongodb7.MongoClient(server.uri, { serverSelectionTimeoutMS: 5000, heartbeatFrequencyMS: 500 });
    try {
      const c = client.db('kept').collection<any>('c');
      await c.insertMany([{ _id: 1, u: 'a' }, { _id: 2, u: 'b' }]);
      await c.createIndex({ u: 1 }, { unique: true });
      await server.restart({ downtimeMS: 50 });
      assert.deepEqual(await c.find().sort({ _id: 1 }).toArray(), [{ _id: 1, u: 'a' }, { _id: 2, u: 'b' }]);
      await assert.rejects(c.insertOne({ _id: 3, u: 'a' }), (err: any) => err.code === 11000, 'the unique index survived too');
    } finally {
      await client.close();
      await server.stop();
    }
  });

  test('many servers run in one process, each with its own port', async () => {
    const servers = await Promise.all(Array.from({ length: 5 }, () => startServer()));
    try {
      assert.equal(new Set(servers.map((s) => s.port)).size, 5);
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
  });

  test('maxIncomingConnections closes extra connections at once and is reflected in available', async () => {
    const server = await startServer({ maxIncomingConnections: 2 });
    const raws: RawClient[] = [];
    try {
      for (let i = 0; i < 2; i++) raws.push(await RawClient.connect(server.port));
      const id = raws[0].command({ serverStatus: 1, $db: 'admin' });
      const status = await raws[0].nextReply();
      assert.equal(status?.responseTo, id);
      assert.equal(status?.doc.connections.current, 2);
      assert.equal(status?.doc.connections.available, 0);
      const extra = await RawClient.connect(server.port);
      raws.push(extra);
      await extra.waitClosed();
      assert.equal(server.core.stats.connections.rejected, 1);
    } finally {
      for (const r of raws) r.close();
      await server.stop();
    }
  });

  test('startServer rejects bad options with a message naming the option', async () => {
    await assert.rejects(startServer({ port: 70000 }), /port: must be an integer from 0 to 65535 \(got 70000\)/);
    await assert.rejects(startServer({ maxCursors: -1 }), (e: Error) => e.name === 'PoolConfigError' && /maxCursors/.test(e.message));
  });
});
