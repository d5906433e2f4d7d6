import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { drivers, rejection, startDataServer, useDataServer, type Driver } from './data-fixture.js';

function cursorSuite(label: string, m: Driver): void {
  describe(`cursors through the real driver (${label})`, () => {
    const fx = useDataServer(m, {}, { monitorCommands: true });

    async function seeded(n: number) {
      const c = fx.freshDb().collection<any>('docs');
      await c.insertMany(Array.from({ length: n }, (_, i) => ({ _id: i, i })) as any[]);
      return c;
    }

    function recordReplies() {
      const replies: { name: string; reply: any }[] = [];
      const listener = (e: any) => replies.push({ name: e.commandName, reply: e.reply });
      fx.client().on('commandSucceeded', listener);
      return { replies, stop: () => fx.client().off('commandSucceeded', listener) };
    }

    test('small batchSize: firstBatch then getMore nextBatch, Int64 ids, 0 when exhausted', async () => {
      const c = await seeded(7);
      const rec = recordReplies();
      const docs = await c.find({}, { batchSize: 3 }).toArray();
      rec.stop();
      assert.deepEqual(
        docs.map((d) => d.i),
        [0, 1, 2, 3, 4, 5, 6],
      );
      const finds = rec.replies.filter((r) => r.name === 'find');
      const getMores = rec.replies.filter((r) => r.name === 'getMore');
      assert.equal(finds[0].reply.cursor.firstBatch.length, 3);
      assert.ok(finds[0].reply.cursor.id instanceof m.Long, 'cursor id is an Int64');
      assert.notEqual(finds[0].reply.cursor.id.toString(), '0');
      assert.equal(finds[0].reply.cursor.ns, `${c.dbName}.docs`);
      assert.deepEqual(
        getMores.map((r) => r.reply.cursor.nextBatch.length),
        [3, 1],
      );
      assert.equal(getMores[1].reply.cursor.id.toString(), '0');
      assert.equal(fx.server().core.cursors.size, 0);
      // A finished cursor's id 0 is an Int64 too (the driver rejects an int32 id).
      const done = await c.db.command({ find: 'docs', filter: { _id: 0 } }, { promoteLongs: false });
      assert.ok(done.cursor.id instanceof m.Long, 'id 0 is an Int64');
      assert.equal(done.cursor.id.toString(), '0');
    });

    test('default first batch is 101; limit caps batches; negative limit is a single batch', async () => {
      const c = await seeded(150);
      const rec = recordReplies();
      assert.equal((await c.find({}).toArray()).length, 150);
      assert.equal((await c.find({}, { limit: 5, batchSize: 2 }).toArray()).length, 5);
      const single = await c.db.command({ find: 'docs', limit: -3, batchSize: 2 });
      rec.stop();
      const first = rec.replies.find((r) => r.name === 'find')!;
      assert.equal(first.reply.cursor.firstBatch.length, 101);
      assert.equal(single.cursor.firstBatch.length, 3);
      assert.equal(single.cursor.id.toString(), '0');
      const one = await c.db.command({ find: 'docs', filter: { _id: 7 }, limit: 1, singleBatch: true });
      assert.deepEqual(one.cursor.firstBatch, [{ _id: 7, i: 7 }]);
      assert.equal(fx.server().core.cursors.size, 0);
    });

    test('close() kills the cursor; getMore on it is CursorNotFound (43); unknown ids are reported', async () => {
      const c = await seeded(10);
      const rec = recordReplies();
      const cursor = c.find({}, { batchSize: 2 });
      await cursor.next();
      const id = rec.replies.find((r) => r.name === 'find')!.reply.cursor.id;
      assert.equal(fx.server().core.cursors.size, 1);
      await cursor.close();
      rec.stop();
      const killed = rec.replies.find((r) => r.name === 'killCursors')!.reply;
      assert.deepEqual(
        killed.cursorsKilled.map(String),
        [String(id)],
      );
      assert.equal(fx.server().core.cursors.size, 0);
      const err = await rejection(() => c.db.command({ getMore: id, collection: 'docs' }));
      assert.equal(err.code, 43);
      const unknown = await c.db.command({ killCursors: 'docs', cursors: [m.Long.fromNumber(12345)] });
      assert.deepEqual(unknown.cursorsNotFound.map(String), ['12345']);
      assert.deepEqual(unknown.cursorsKilled, []);
    });

    test('getMore for another namespace is refused', async () => {
      const c = await seeded(5);
      const first = await c.db.command({ find: 'docs', batchSize: 1 });
      const err = await rejection(() => c.db.command({ getMore: first.cursor.id, collection: 'other' }));
      assert.equal(err.code, 13);
      const next = await c.db.command({ getMore: first.cursor.id, collection: 'docs', batchSize: 2 });
      assert.equal(next.cursor.nextBatch.length, 2);
      await c.db.command({ killCursors: 'docs', cursors: [first.cursor.id] });
    });

    test('cursors die when their session ends', async () => {
      const c = await seeded(10);
      const session = fx.client().startSession();
      try {
        const rec = recordReplies();
        const cursor = c.find({}, { batchSize: 2, session });
        await cursor.next();
        rec.stop();
        assert.equal(fx.server().core.cursors.size, 1);
        await fx.client().db('admin').command({ endSessions: [session.id] });
        assert.equal(fx.server().core.cursors.size, 0);
        const err = await rejection(() => cursor.toArray());
        assert.equal(err.code, 43);
      } finally {
        await session.endSession();
      }
    });

    test('batches stay under 16 MiB', async () => {
      const c = fx.freshDb().collection<any>('big');
      const payload = 'x'.repeat(6 * 1024 * 1024);
      await c.insertMany([{ _id: 1, payload }, { _id: 2, payload }, { _id: 3, payload }] as any[]);
      const rec = recordReplies();
      const docs = await c.find({}).toArray();
      rec.stop();
      assert.equal(docs.length, 3);
      assert.equal(rec.replies.find((r) => r.name === 'find')!.reply.cursor.firstBatch.length, 2);
      assert.equal(rec.replies.find((r) => r.name === 'getMore')!.reply.cursor.nextBatch.length, 1);
      await c.drop();
    });

    test('command cursors (listCollections, listIndexes, aggregate) page with getMore', async () => {
      const db = fx.freshDb();
      for (const name of ['a', 'b', 'c']) await db.createCollection(name);
      await db.collection<any>('a').createIndexes([{ key: { x: 1 } }, { key: { y: 1 } }]);
      await db.collection<any>('a').insertMany(Array.from({ length: 5 }, (_, i) => ({ i })));
      const rec = recordReplies();
      const names = (await db.listCollections({}, { batchSize: 1 }).toArray()).map((c) => c.name);
      const indexes = await db.collection<any>('a').listIndexes({ batchSize: 1 }).toArray();
      const agg = await db.collection<any>('a').aggregate([{ $sort: { i: -1 } }], { batchSize: 2 }).toArray();
      rec.stop();
      assert.deepEqual(names, ['a', 'b', 'c']);
      assert.deepEqual(
        indexes.map((i) => i.name),
        ['_id_', 'x_1', 'y_1'],
      );
      assert.deepEqual(
        agg.map((d) => d.i),
        [4, 3, 2, 1, 0],
      );
      const getMoreNs = rec.replies.filter((r) => r.name === 'getMore').map((r) => r.reply.cursor.ns);
      assert.ok(getMoreNs.includes(`${db.databaseName}.$cmd.listCollections`));
      assert.ok(getMoreNs.includes(`${db.databaseName}.$cmd.listIndexes.a`));
      assert.ok(getMoreNs.includes(`${db.databaseName}.a`));
    });

    describe('idle timeout', () => {
      const idle = useDataServer(m, { cursorTimeoutMS: 60_000 });

      test('a cursor idle for cursorTimeoutMS is reaped; noCursorTimeout cursors are not', async () => {
        const c = idle.freshDb().collection<any>('docs');
        await c.insertMany(Array.from({ length: 10 }, (_, i) => ({ i })));
        const cursors = idle.server().core.cursors;
        const expiring = c.find({}, { batchSize: 2 });
        const pinned = c.find({}, { batchSize: 2, noCursorTimeout: true });
        await expiring.next();
        await pinned.next();
        assert.equal(cursors.size, 2);
        const timedOutBefore = cursors.totalTimedOut;
        // The reaper's clock, moved past the timeout (the timer calls the same reap with Date.now()).
        assert.equal(cursors.reap(Date.now() + 59_000), 0, 'not idle long enough yet');
        assert.equal(cursors.reap(Date.now() + 60_000), 1);
        assert.equal(cursors.totalTimedOut, timedOutBefore + 1);
        const err = await rejection(() => expiring.toArray());
        assert.equal(err.code, 43);
        assert.equal((await pinned.toArray()).length, 9, 'the noCursorTimeout cursor still works');
        const status = await idle.client().db('admin').command({ serverStatus: 1 });
        assert.equal(Number(status.metrics.cursor.timedOut), cursors.totalTimedOut);
      });
    });
  });
}

for (const [label, driver] of drivers) cursorSuite(label, driver);

describe('maxCursors', () => {
  test('opening more cursors than maxCursors fails clearly; closing one frees a slot', async () => {
    const [, m] = drivers[0];
    const server = await startDataServer({ maxCursors: 2 });
    const client = new m.MongoClient(server.uri);
    try {
      const c = client.db('t').collection<any>('c');
      await c.insertMany(Array.from({ length: 5 }, (_, i) => ({ i })));
      const first = c.find({}, { batchSize: 1 });
      const second = c.find({}, { batchSize: 1 });
      await first.next();
      await second.next();
      const err = await rejection(() => c.find({}, { batchSize: 1 }).next());
      assert.equal(err.code, 96);
      assert.match(err.message, /maxCursors/);
      assert.equal((await c.find({}).toArray()).length, 5, 'a query that fits in one batch needs no cursor');
      await first.close();
      const third = c.find({}, { batchSize: 1 });
      assert.ok(await third.next());
      await third.close();
      await second.close();
    } finally {
      await client.close();
      await server.stop();
    }
  });
});
