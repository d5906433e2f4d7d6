import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { BSON } from 'bson';
import * as mongodb7 from 'mongodb';
import * as mongodb6 from 'mongodb6';
import { useServer } from '../helpers/server.js';
import { RawClient } from '../helpers/raw.js';
import { encodeOpQueryRequest, encodeOpMsgRequest } from '../../src/server/wire/codec.js';
import { MsgFlags, OpCode } from '../../src/server/wire/constants.js';
import { startServer } from '../../src/server/index.js';

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
        // Two concurrent commands force two pool connections with distinct ids.
        const ids = await Promise.all([
          client.db('admin').command({ hello: 1 }),
          client.db('admin').command({ hello: 1 }),
          client.db('admin').command({ hello: 1 }),
        ]);
        assert.ok(new Set(ids.map((r) => r.connectionId)).size >= 1);
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

    test('unknown command is CommandNotFound (59)', async () => {
      const client = new driver.MongoClient(server().uri);
      try {
        await assert.rejects(client.db('test').command({ frobnicate: 1 }), (err: any) => err.code === 59 && /no such command: 'frobnicate'/.test(err.message));
      } finally {
        await client.close();
      }
    });

    test('zlib compression is negotiated and used both ways', async () => {
      const client = new driver.MongoClient(server().uri, { compressors: ['zlib'] });
      try {
        const hello = await client.db('admin').command({ hello: 1 });
        assert.equal(hello.ok, 1);
        const status = await client.db('admin').command({ serverStatus: 1 });
        assert.equal(status.ok, 1);
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
      }
    });

    test('a transaction on a standalone is refused with IllegalOperation (20)', async () => {
      const client = new driver.MongoClient(server().uri);
      const session = client.startSession();
      try {
        session.startTransaction();
        await assert.rejects(
          client.db('test').collection('t').findOne({}, { session }),
          (err: any) => err.code === 20 || /Transaction/.test(err.message),
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

  test('a slow reader is paused (backpressure) instead of buffering without bound', async () => {
    const small = await startServer({ maxPendingWriteBytes: 4096 });
    const raw = await RawClient.connect(small.port);
    try {
      raw.socket.pause(); // never read replies
      const request = encodeOpMsgRequest(1, BSON.serialize({ buildInfo: 1, $db: 'admin' }));
      const sent = 20_000;
      for (let i = 0; i < sent; i++) raw.write(request);
      // Wait until the server stops making progress: its socket is paused.
      let last = -1;
      while (small.core.stats.network.numRequests !== last) {
        last = small.core.stats.network.numRequests;
        await new Promise((r) => setImmediate(r));
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(last < sent, `server handled only ${last} of ${sent} requests while the client was not reading`);
      raw.socket.resume();
      let received = 0;
      while (received < sent) {
        const frame = await raw.nextFrame();
        assert.ok(frame, 'connection stayed open');
        received++;
      }
      assert.equal(small.core.stats.network.numRequests, sent);
    } finally {
      raw.close();
      await small.stop();
    }
  });
});

describe('failCommand fail point', () => {
  const server = useServer({ seed: 7 });

  async function withClient<T>(fn: (c: mongodb7.MongoClient) => Promise<T>, options: mongodb7.MongoClientOptions = {}): Promise<T> {
    const client = new mongodb7.MongoClient(server().uri, { retryReads: false, retryWrites: false, ...options });
    try {
      return await fn(client);
    } finally {
      await client.db('admin').command({ configureFailPoint: 'failCommand', mode: 'off' }).catch(() => {});
      await client.close();
    }
  }

  test('{times: 2} fails exactly twice with the given code and labels, then turns off', async () => {
    await withClient(async (client) => {
      await client.db('admin').command({ configureFailPoint: 'failCommand', mode: { times: 2 }, data: { failCommands: ['ping'], errorCode: 6, errorLabels: ['MyLabel'] } });
      for (let i = 0; i < 2; i++) {
        await assert.rejects(client.db('x').command({ ping: 1 }), (err: any) => err.code === 6 && err.hasErrorLabel('MyLabel') && /failCommand/.test(err.message));
      }
      assert.deepEqual(await client.db('x').command({ ping: 1 }), { ok: 1 });
    });
  });

  test('{skip: 1} lets the first match through; a non-matching command does not consume it', async () => {
    await withClient(async (client) => {
      await client.db('admin').command({ configureFailPoint: 'failCommand', mode: { skip: 1 }, data: { failCommands: ['ping'], errorCode: 2 } });
      await client.db('admin').command({ buildInfo: 1 }); // not listed: no effect on skip
      assert.deepEqual(await client.db('x').command({ ping: 1 }), { ok: 1 });
      await assert.rejects(client.db('x').command({ ping: 1 }), (err: any) => err.code === 2);
      await assert.rejects(client.db('x').command({ ping: 1 }), (err: any) => err.code === 2);
    });
  });

  test('appName filter only fails the matching client', async () => {
    await withClient(async (client) => {
      const other = new mongodb7.MongoClient(server().uri, { appName: 'victim', retryReads: false });
      try {
        server().failCommand({ mode: 'alwaysOn', data: { failCommands: ['ping'], errorCode: 9, appName: 'victim' } });
        assert.deepEqual(await client.db('x').command({ ping: 1 }), { ok: 1 });
        await assert.rejects(other.db('x').command({ ping: 1 }), (err: any) => err.code === 9);
      } finally {
        await other.close();
      }
    });
  });

  test('closeConnection drops the socket without a reply (driver sees a network error)', async () => {
    await withClient(async (client) => {
      await client.db('x').command({ ping: 1 });
      server().failCommand({ mode: { times: 1 }, data: { failCommands: ['ping'], closeConnection: true } });
      await assert.rejects(client.db('x').command({ ping: 1 }), (err: any) => err instanceof mongodb7.MongoNetworkError);
      assert.deepEqual(await client.db('x').command({ ping: 1 }), { ok: 1 });
    });
  });

  test('blockConnection delays the command, which then succeeds', async () => {
    await withClient(async (client) => {
      await client.db('x').command({ ping: 1 });
      server().failCommand({ mode: { times: 1 }, data: { failCommands: ['ping'], blockConnection: true, blockTimeMS: 150 } });
      const start = performance.now();
      assert.deepEqual(await client.db('x').command({ ping: 1 }), { ok: 1 });
      assert.ok(performance.now() - start >= 140);
    });
  });

  test('writeConcernError is appended to a command that runs', async () => {
    await withClient(async (client) => {
      server().failCommand({ mode: { times: 1 }, data: { failCommands: ['ping'], writeConcernError: { code: 64, errmsg: 'waiting for replication timed out' } } });
      const raw = await client.db('x').command({ ping: 1 }).catch((e) => e);
      // The driver surfaces a writeConcernError on a generic command as an error or passes it through.
      const wce = raw.writeConcernError ?? raw.errorResponse?.writeConcernError ?? raw.result?.writeConcernError;
      assert.equal(wce?.code, 64);
    });
  });

  test('activationProbability is seedable and roughly honoured', async () => {
    await withClient(async (client) => {
      server().failCommand({ mode: { activationProbability: 0.5 }, data: { failCommands: ['ping'], errorCode: 2 } });
      let failed = 0;
      for (let i = 0; i < 200; i++) await client.db('x').command({ ping: 1 }).catch(() => failed++);
      assert.ok(failed > 60 && failed < 140, `failed ${failed} of 200`);
    });
  });

  test('bad configureFailPoint arguments are refused clearly', async () => {
    await withClient(async (client) => {
      await assert.rejects(client.db('admin').command({ configureFailPoint: 'failCommand', mode: 'sometimes', data: { failCommands: ['ping'] } }), /mode must be/);
      await assert.rejects(client.db('admin').command({ configureFailPoint: 'failCommand', mode: 'alwaysOn', data: { errorCode: 2 } }), /failCommands/);
      await assert.rejects(client.db('admin').command({ configureFailPoint: 'noSuchPoint', mode: 'alwaysOn' }), /Cannot find fail point/);
    });
  });

  test('with testCommands: false, configureFailPoint is CommandNotFound (59)', async () => {
    const plain = await startServer({ testCommands: false });
    const client = new mongodb7.MongoClient(plain.uri);
    try {
      await assert.rejects(client.db('admin').command({ configureFailPoint: 'failCommand', mode: 'alwaysOn', data: { failCommands: ['ping'], errorCode: 1 } }), (err: any) => err.code === 59);
    } finally {
      await client.close();
      await plain.stop();
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
