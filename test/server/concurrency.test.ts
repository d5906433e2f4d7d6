import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as mongodb7 from 'mongodb';
import * as mongodb6 from 'mongodb6';
import { useServer } from '../helpers/server.js';
import { startServer } from '../../src/server/index.js';

const drivers = [
  ['driver 7', mongodb7],
  ['driver 6', mongodb6 as unknown as typeof mongodb7],
] as const;

for (const [label, driver] of drivers) {
  describe(`concurrency and connection accounting (${label})`, () => {
    const server = useServer();

    test('200 concurrent operations over a pool of 10 all succeed; the pool never exceeds 10', async () => {
      const client = new driver.MongoClient(server().uri, { maxPoolSize: 10 });
      let open = 0;
      let maxOpen = 0;
      client.on('connectionCreated', () => {
        open++;
        maxOpen = Math.max(maxOpen, open);
      });
      client.on('connectionClosed', () => open--);
      try {
        const coll = client.db(`conc_${label.replace(' ', '')}`).collection<{ _id: number; n: number; w?: number }>('c');
        await coll.deleteMany({});
        const ops = Array.from({ length: 200 }, async (_, i) => {
          await coll.insertOne({ _id: i, n: 0 });
          await coll.updateOne({ _id: i }, { $inc: { n: 1 }, $set: { w: i % 7 } });
          const doc = await coll.findOne({ _id: i });
          assert.equal(doc?.n, 1);
          return doc;
        });
        const docs = await Promise.all(ops);
        assert.equal(docs.length, 200);
        assert.equal(await coll.countDocuments({}), 200);
        assert.equal(await coll.countDocuments({ n: 1 }), 200);
        const grouped = await coll.aggregate<{ _id: number; c: number }>([{ $group: { _id: '$w', c: { $sum: 1 } } }, { $sort: { _id: 1 } }]).toArray();
        assert.equal(grouped.reduce((s, g) => s + g.c, 0), 200);
        assert.ok(maxOpen <= 10, `pool opened ${maxOpen} connections at once`);
        assert.ok(maxOpen >= 2, 'operations really ran concurrently');
      } finally {
        await client.close();
      }
    });

    test('serverStatus.connections.current = the pool (CMAP created − closed) + the monitoring connection(s)', async () => {
      // A server of its own: no connection of another test may still be closing.
      const own = await startServer();
      const client = new driver.MongoClient(own.uri, { maxPoolSize: 5, minPoolSize: 0 });
      let pool = 0;
      client.on('connectionCreated', () => pool++);
      client.on('connectionClosed', () => pool--);
      try {
        await Promise.all(Array.from({ length: 20 }, () => client.db('admin').command({ ping: 1 })));
        const status = await client.db('admin').command({ serverStatus: 1 });
        const monitoring = status.connections.current - pool;
        // Only this client talks to this server; the notes: 1 (polling) or 2 (streaming + RTT) per server.
        assert.ok(monitoring >= 1 && monitoring <= 2, `current ${status.connections.current}, pool ${pool}`);
        assert.ok(status.connections.active >= 1, 'the serverStatus command itself is active');
        const coll = client.db('t').collection('c');
        await coll.insertMany(Array.from({ length: 5 }, (_, i) => ({ i })));
        const cursor = coll.find({}, { batchSize: 2 });
        await cursor.next();
        const withCursor = await client.db('admin').command({ serverStatus: 1 });
        assert.equal(Number(withCursor.metrics.cursor.open.total), 1);
        await cursor.close();
      } finally {
        await client.close();
        await own.stop();
      }
    });
  });
}
