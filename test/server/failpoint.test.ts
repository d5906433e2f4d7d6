import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as mongodb7 from 'mongodb';
import * as mongodb6 from 'mongodb6';
import { useServer } from '../helpers/server.js';
import { startReplicaSet, startServer, type EmbeddedServer } from '../../src/server/index.js';

// The failCommand fail point through the real driver, 7.x and 6.x: every mode, every action and
// every filter, with mongod's precedence and semantics (see docs/fault-injection.md).

type Driver = typeof mongodb7;
const drivers: ReadonlyArray<readonly [string, Driver]> = [
  ['driver 7', mongodb7],
  ['driver 6', mongodb6 as unknown as Driver],
];

const codeOf = (err: unknown) => (err as { code?: unknown }).code;

for (const [label, driver] of drivers) {
  describe(`failCommand fail point (${label})`, () => {
    const server = useServer({ seed: 7 });

    async function withClient<T>(fn: (c: mongodb7.MongoClient) => Promise<T>, options: mongodb7.MongoClientOptions = {}, uri = server().uri): Promise<T> {
      const client = new driver.MongoClient(uri, { retryReads: false, retryWrites: false, serverSelectionTimeoutMS: 5000, ...options });
      try {
        return await fn(client);
      } finally {
        await client.db('admin').command({ configureFailPoint: 'failCommand', mode: 'off' }).catch(() => {});
        await client.close();
      }
    }

    const configure = (client: mongodb7.MongoClient, mode: unknown, data?: unknown) =>
      client.db('admin').command({ configureFailPoint: 'failCommand', mode, ...(data === undefined ? {} : { data }) });

    test("alwaysOn fails every match until 'off', which answers how often it fired", async () => {
      await withClient(async (client) => {
        assert.deepEqual(await configure(client, 'alwaysOn', { failCommands: ['ping'], errorCode: 2 }), { count: 0, ok: 1 });
        for (let i = 0; i < 3; i++) await assert.rejects(client.db('x').command({ ping: 1 }), (err) => codeOf(err) === 2);
        assert.equal((await client.db('x').command({ buildInfo: 1 })).ok, 1, 'commands not listed are untouched');
        assert.deepEqual(await configure(client, 'off'), { count: 3, ok: 1 });
        assert.deepEqual(await client.db('x').command({ ping: 1 }), { ok: 1 });
        assert.equal((await configure(client, 'off')).count, 3, "'off' again: the last configuration's count");
      });
    });

    test('{times: 2} fails exactly twice with the given code, codeName and labels, then turns off', async () => {
      await withClient(async (client) => {
        await configure(client, { times: 2 }, { failCommands: ['ping'], errorCode: 7, errorLabels: ['MyLabel'] });
        for (let i = 0; i < 2; i++) {
          await assert.rejects(client.db('x').command({ ping: 1 }), (err: any) => {
            assert.ok(err instanceof driver.MongoServerError);
            assert.equal(err.code, 7);
            assert.equal(err.codeName, 'HostNotFound', "mongod's codeName for 7");
            assert.ok(err.hasErrorLabel('MyLabel'));
            assert.equal(err.message, "Failing command via 'failCommand' failpoint");
            return true;
          });
        }
        assert.deepEqual(await client.db('x').command({ ping: 1 }), { ok: 1 });
        assert.equal((await configure(client, 'off')).count, 2);
      });
    });

    test('codeName is mongod\'s for the codes drivers classify (6, 91, 134, 189, 262, 9001, 10058, 11600, 11602, 13435, 13436, 462)', async () => {
      const expected: Record<number, string> = {
        6: 'HostUnreachable',
        89: 'NetworkTimeout',
        91: 'ShutdownInProgress',
        134: 'ReadConcernMajorityNotAvailableYet',
        189: 'PrimarySteppedDown',
        262: 'ExceededTimeLimit',
        462: 'IngressRequestRateLimitExceeded',
        9001: 'SocketException',
        10058: 'LegacyNotPrimary',
        10107: 'NotWritablePrimary',
        11600: 'InterruptedAtShutdown',
        11602: 'InterruptedDueToReplStateChange',
        13435: 'NotPrimaryNoSecondaryOk',
        13436: 'NotPrimaryOrSecondary',
        123456: 'Location123456',
      };
      await withClient(async (client) => {
        for (const [code, codeName] of Object.entries(expected)) {
          await configure(client, { times: 1 }, { failCommands: ['ping'], errorCode: Number(code) });
          await assert.rejects(client.db('x').command({ ping: 1 }), (err: any) => err.code === Number(code) && err.codeName === codeName);
        }
      });
    });

    test('{skip: 1} lets the first match through; a non-matching command consumes neither skip nor times', async () => {
      await withClient(async (client) => {
        await configure(client, { skip: 1 }, { failCommands: ['ping'], errorCode: 2 });
        await client.db('admin').command({ buildInfo: 1 }); // not listed: no effect on skip
        assert.deepEqual(await client.db('x').command({ ping: 1 }), { ok: 1 });
        await assert.rejects(client.db('x').command({ ping: 1 }), (err) => codeOf(err) === 2);
        await assert.rejects(client.db('x').command({ ping: 1 }), (err) => codeOf(err) === 2, 'then always on');
        assert.equal((await configure(client, { times: 1 }, { failCommands: ['ping'], errorCode: 2 })).count, 2);
        await client.db('admin').command({ buildInfo: 1 });
        await assert.rejects(client.db('x').command({ ping: 1 }), (err) => codeOf(err) === 2, 'buildInfo did not use up times: 1');
        assert.deepEqual(await client.db('x').command({ ping: 1 }), { ok: 1 });
      });
    });

    test('activationProbability: 0 never, 1 always, 0.5 about half, and the same seed gives the same choices', async () => {
      const pattern = async (s: EmbeddedServer, p: number, n: number) =>
        withClient(async (client) => {
          await configure(client, { activationProbability: p }, { failCommands: ['ping'], errorCode: 2 });
          let out = '';
          for (let i = 0; i < n; i++) out += await client.db('x').command({ ping: 1 }).then(() => '.', () => 'x');
          return out;
        }, {}, s.uri);
      assert.equal(await pattern(server(), 0, 20), '.'.repeat(20));
      assert.equal(await pattern(server(), 1, 20), 'x'.repeat(20));
      const [a, b] = await Promise.all([startServer({ seed: 42 }), startServer({ seed: 42 })]);
      try {
        const first = await pattern(a, 0.5, 100);
        assert.equal(await pattern(b, 0.5, 100), first, 'seeded: repeatable');
        const failed = first.split('x').length - 1;
        assert.ok(failed > 25 && failed < 75, `failed ${failed} of 100`);
      } finally {
        await Promise.all([a.stop(), b.stop()]);
      }
    });

    test('closeConnection drops the socket without a reply (the driver sees a network error)', async () => {
      await withClient(async (client) => {
        await client.db('x').command({ ping: 1 });
        server().failCommand({ mode: { times: 1 }, data: { failCommands: ['ping'], closeConnection: true } });
        await assert.rejects(client.db('x').command({ ping: 1 }), (err) => err instanceof driver.MongoNetworkError);
        assert.deepEqual(await client.db('x').command({ ping: 1 }), { ok: 1 });
      });
    });

    test('blockConnection alone delays the command, which then runs; with errorCode it fails after the delay', async () => {
      await withClient(async (client) => {
        const items = client.db('block').collection('items');
        await client.db('x').command({ ping: 1 });
        server().failCommand({ mode: { times: 1 }, data: { failCommands: ['insert'], blockConnection: true, blockTimeMS: 150 } });
        let start = performance.now();
        await items.insertOne({ n: 1 });
        assert.ok(performance.now() - start >= 140, 'blocked');
        assert.equal(await items.countDocuments({ n: 1 }), 1, 'then the insert ran');

        server().failCommand({ mode: { times: 1 }, data: { failCommands: ['insert'], blockConnection: true, blockTimeMS: 150, errorCode: 2 } });
        start = performance.now();
        await assert.rejects(items.insertOne({ n: 2 }), (err) => codeOf(err) === 2);
        assert.ok(performance.now() - start >= 140, 'the error came after the block');
        assert.equal(await items.countDocuments({ n: 2 }), 0, 'and the insert did not run');
      });
    });

    test('writeConcernError: the write runs and the document is added to its reply; commands without a write concern are not matched', async () => {
      await withClient(async (client) => {
        const items = client.db('wce').collection('items');
        server().failCommand({ mode: { times: 1 }, data: { failCommands: ['ping', 'insert'], writeConcernError: { code: 64, errmsg: 'waiting for replication timed out' } } });
        assert.deepEqual(await client.db('x').command({ ping: 1 }), { ok: 1 }, 'ping takes no write concern: untouched, times not used');
        await assert.rejects(items.insertOne({ k: 1 }), (err: any) => err instanceof driver.MongoWriteConcernError && err.code === 64);
        assert.equal(await items.countDocuments({ k: 1 }), 1, 'the insert was applied');
        assert.equal(server().failCommand({ mode: 'off' }), 1);
      });
    });

    test('appName filter only fails the matching client', async () => {
      await withClient(async (client) => {
        const other = new driver.MongoClient(server().uri, { appName: 'victim', retryReads: false });
        try {
          server().failCommand({ mode: 'alwaysOn', data: { failCommands: ['ping'], errorCode: 9, appName: 'victim' } });
          assert.deepEqual(await client.db('x').command({ ping: 1 }), { ok: 1 });
          await assert.rejects(other.db('x').command({ ping: 1 }), (err) => codeOf(err) === 9);
        } finally {
          await other.close();
        }
      });
    });

    test('appName on hello/isMaster fails the handshake and heartbeats of that client only', async () => {
      server().failCommand({ mode: { times: 2 }, data: { failCommands: ['hello', 'isMaster'], appName: 'app2', errorCode: 91 } });
      const heartbeats = (client: mongodb7.MongoClient) => {
        const seen: string[] = [];
        client.on('serverHeartbeatSucceeded', () => seen.push('ok'));
        client.on('serverHeartbeatFailed', () => seen.push('failed'));
        return seen;
      };
      const connect = (appName: string) => new driver.MongoClient(server().uri, { appName, heartbeatFrequencyMS: 500, serverSelectionTimeoutMS: 5000 });
      const unaffected = connect('app1');
      const victim = connect('app2');
      try {
        const seenByUnaffected = heartbeats(unaffected);
        assert.deepEqual(await unaffected.db('admin').command({ ping: 1 }), { ok: 1 });
        assert.deepEqual(seenByUnaffected.filter((h) => h === 'failed'), []);
        const seen = heartbeats(victim);
        assert.deepEqual(await victim.db('admin').command({ ping: 1 }), { ok: 1 }, 'connects once the fail point is used up');
        assert.equal(seen[0], 'failed', `the very first check (the monitor's handshake) failed: ${seen.join(',')}`);
      } finally {
        await Promise.all([unaffected.close(), victim.close()]);
        assert.equal(server().failCommand({ mode: 'off' }), 2, "both firings were app2's; app1's handshakes consumed nothing");
      }
    });

    test("failCommands match aliases: 'isMaster' also fails hello", async () => {
      await withClient(async (client) => {
        await client.db('admin').command({ ping: 1 });
        server().failCommand({ mode: { times: 1 }, data: { failCommands: ['isMaster'], errorCode: 2, appName: 'alias' } });
        await assert.rejects(client.db('admin').command({ hello: 1 }), (err) => codeOf(err) === 2);
      }, { appName: 'alias' });
    });

    test('namespace: find, getMore (the cursor\'s namespace), database-level aggregate and commands without a collection', async () => {
      await withClient(async (client) => {
        const db = client.db('nsdb');
        await db.collection<{ _id: number }>('c').insertMany(Array.from({ length: 6 }, (_, i) => ({ _id: i })));
        await db.collection<{ _id: number }>('other').insertOne({ _id: 1 });

        server().failCommand({ mode: 'alwaysOn', data: { failCommands: ['find'], namespace: 'nsdb.c', errorCode: 2 } });
        await assert.rejects(db.collection('c').findOne({}), (err) => codeOf(err) === 2);
        assert.deepEqual(await db.collection('other').findOne({}), { _id: 1 }, 'other namespace untouched');

        server().failCommand({ mode: 'alwaysOn', data: { failCommands: ['getMore'], namespace: 'nsdb.c', errorCode: 2 } });
        const cursor = db.collection('c').find({}, { batchSize: 2 });
        assert.deepEqual(await cursor.next(), { _id: 0 }, 'find itself is not matched');
        await cursor.next();
        await assert.rejects(cursor.next(), (err) => codeOf(err) === 2, 'getMore of a cursor on nsdb.c');
        await cursor.close().catch(() => {});
        assert.equal((await db.collection('other').find({}, { batchSize: 1 }).toArray()).length, 1, 'a getMore elsewhere is untouched');

        server().failCommand({ mode: 'alwaysOn', data: { failCommands: ['aggregate'], namespace: 'nsdb.$cmd.aggregate', errorCode: 2 } });
        await assert.rejects(db.command({ aggregate: 1, pipeline: [], cursor: {} }), (err) => codeOf(err) === 2);
        assert.equal((await db.collection('c').aggregate([{ $count: 'n' }]).toArray())[0].n, 6, 'aggregate on a collection is another namespace');

        server().failCommand({ mode: 'alwaysOn', data: { failCommands: ['ping'], namespace: 'nsdb', errorCode: 2 } });
        await assert.rejects(db.command({ ping: 1 }), (err) => codeOf(err) === 2, 'ping: 1 on nsdb has the namespace "nsdb"');
        assert.deepEqual(await client.db('admin').command({ ping: 1 }), { ok: 1 });
      });
    });

    test('failAllCommands fails every command but configureFailPoint itself', async () => {
      await withClient(async (client) => {
        await client.db('admin').command({ ping: 1 });
        await configure(client, 'alwaysOn', { failAllCommands: true, errorCode: 2 });
        for (const command of [{ ping: 1 }, { buildInfo: 1 }, { find: 'c' }]) {
          await assert.rejects(client.db('x').command(command), (err) => codeOf(err) === 2, JSON.stringify(command));
        }
        assert.equal((await configure(client, 'off')).count, 3, 'configureFailPoint is never failed');
      });
    });

    test('bad configureFailPoint arguments are refused clearly', async () => {
      await withClient(async (client) => {
        await assert.rejects(configure(client, 'sometimes', { failCommands: ['ping'] }), /mode must be/);
        await assert.rejects(configure(client, 'alwaysOn', { errorCode: 2 }), /failCommands/);
        await assert.rejects(configure(client, 'alwaysOn', { failCommands: ['ping'], blockConnection: true }), /blockTimeMS/);
        await assert.rejects(configure(client, { activationProbability: 2 }, { failCommands: ['ping'] }), /between 0 and 1/);
        await assert.rejects(client.db('admin').command({ configureFailPoint: 'noSuchPoint', mode: 'alwaysOn' }), /Cannot find fail point/);
        await assert.rejects(client.db('x').command({ configureFailPoint: 'failCommand', mode: 'off' }), (err) => codeOf(err) === 13, 'admin only');
      });
    });

    test('with testCommands: false, configureFailPoint is CommandNotFound (59)', async () => {
      const plain = await startServer({ testCommands: false });
      const client = new driver.MongoClient(plain.uri);
      try {
        await assert.rejects(configure(client, 'alwaysOn', { failCommands: ['ping'], errorCode: 1 }), (err: any) => err.code === 59 && err.codeName === 'CommandNotFound');
        assert.deepEqual(await client.db('admin').command({ ping: 1 }), { ok: 1 });
      } finally {
        await client.close();
        await plain.stop();
      }
    });
  });

  describe(`failCommand errorLabels on a replica set (${label})`, () => {
    // The driver retries a write only when the reply carries RetryableWriteError, which the server
    // adds to retryable codes of commands with a txnNumber, unless the fail point chose the labels.
    async function attempt(data: mongodb7.Document): Promise<{ inserts: number; error: unknown; count: number }> {
      const rs = await startReplicaSet({ nodes: 1 });
      const client = new driver.MongoClient(rs.uri, { monitorCommands: true, serverSelectionTimeoutMS: 5000 });
      try {
        let inserts = 0;
        client.on('commandStarted', (e) => e.commandName === 'insert' && inserts++);
        const coll = client.db('app').collection('c');
        await coll.findOne({});
        rs.primary()!.failCommand({ mode: { times: 1 }, data: { failCommands: ['insert'], ...data } });
        const error = await coll.insertOne({ x: 1 }).then(() => undefined, (e: unknown) => e);
        return { inserts, error, count: await coll.countDocuments() };
      } finally {
        await client.close();
        await rs.stop();
      }
    }

    test('errorCode 91: labelled and retried by default; errorLabels [] suppresses the label, so no retry', async () => {
      const labelled = await attempt({ errorCode: 91 });
      assert.deepEqual([labelled.inserts, labelled.error, labelled.count], [2, undefined, 1]);
      const bare = await attempt({ errorCode: 91, errorLabels: [] });
      assert.equal(bare.inserts, 1, 'not retried');
      assert.equal(codeOf(bare.error), 91);
      assert.equal((bare.error as mongodb7.MongoError).hasErrorLabel('RetryableWriteError'), false);
      assert.equal(bare.count, 0);
    });

    test('writeConcernError 91: labelled and retried by default; errorLabels [] suppresses the label there too', async () => {
      const labelled = await attempt({ writeConcernError: { code: 91, errmsg: 'Replication is being shut down' } });
      assert.deepEqual([labelled.inserts, labelled.error, labelled.count], [2, undefined, 1], 'retried, answered from the retryable-write table');
      const bare = await attempt({ writeConcernError: { code: 91, errmsg: 'Replication is being shut down' }, errorLabels: [] });
      assert.equal(bare.inserts, 1, 'not retried');
      assert.ok(bare.error instanceof driver.MongoWriteConcernError, String(bare.error));
      assert.equal((bare.error as mongodb7.MongoError).hasErrorLabel('RetryableWriteError'), false);
      assert.equal(bare.count, 1, 'the write itself was applied');
    });
  });
}
