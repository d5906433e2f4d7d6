import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bsonTag, drivers, rejection, useDataServer, type Driver } from './data-fixture.js';

function aggregateSuite(label: string, m: Driver): void {
  describe(`aggregate through the real driver (${label})`, () => {
    const fx = useDataServer(m);

    async function orders() {
      const db = fx.freshDb();
      await db.collection<any>('orders').insertMany([
        { _id: 1, cust: 'a', qty: 2, price: 10, items: ['x', 'y'] },
        { _id: 2, cust: 'b', qty: 1, price: 5, items: ['x'] },
        { _id: 3, cust: 'a', qty: 4, price: 1, items: [] },
        { _id: 4, cust: 'c', qty: 3, price: 7, items: ['z'] },
      ] as any[]);
      await db.collection<any>('customers').insertMany([
        { _id: 'a', name: 'Ann' },
        { _id: 'b', name: 'Bob' },
      ] as any[]);
      return db;
    }

    test('$match, $group, $sort, $project, $skip, $limit, $count, $unwind', async () => {
      const db = await orders();
      const c = db.collection<any>('orders');
      const totals = await c
        .aggregate([
          { $match: { qty: { $gte: 1 } } },
          { $group: { _id: '$cust', total: { $sum: { $multiply: ['$qty', '$price'] } }, n: { $sum: 1 } } },
          { $sort: { total: -1 } },
          { $project: { _id: 0, cust: '$_id', total: 1, n: 1 } },
        ])
        .toArray();
      assert.deepEqual(totals, [
        { total: 24, n: 2, cust: 'a' },
        { total: 21, n: 1, cust: 'c' },
        { total: 5, n: 1, cust: 'b' },
      ]);
      assert.deepEqual(await c.aggregate([{ $sort: { _id: 1 } }, { $skip: 1 }, { $limit: 2 }, { $project: { _id: 1 } }]).toArray(), [{ _id: 2 }, { _id: 3 }]);
      assert.deepEqual(await c.aggregate([{ $match: { cust: 'a' } }, { $count: 'n' }]).toArray(), [{ n: 2 }]);
      assert.deepEqual(await c.aggregate([{ $unwind: '$items' }, { $project: { _id: 1, items: 1 } }]).toArray(), [
        { _id: 1, items: 'x' },
        { _id: 1, items: 'y' },
        { _id: 2, items: 'x' },
        { _id: 4, items: 'z' },
      ]);
      assert.equal(await c.countDocuments({ cust: 'a' }), 2);
    });

    test('results keep BSON types where documents pass through', async () => {
      const c = fx.freshDb().collection<any>('typed');
      await c.insertMany([
        { _id: 1, l: m.Long.fromNumber(7), d: new m.Double(1), i: new m.Int32(3) },
        { _id: 2, l: m.Long.fromNumber(8), d: new m.Double(2), i: new m.Int32(4) },
      ] as any[]);
      const opts = { promoteValues: false, promoteLongs: false };
      const [first] = await c.aggregate([{ $match: { i: { $gt: 3 } } }, { $sort: { l: -1 } }], opts).toArray();
      assert.equal(bsonTag(first.l), 'Long');
      assert.equal(bsonTag(first.d), 'Double');
      const [added] = await c.aggregate([{ $match: { _id: 1 } }, { $addFields: { extra: 'x' } }], opts).toArray();
      assert.deepEqual(Object.keys(added), ['_id', 'l', 'd', 'i', 'extra']);
      assert.equal(bsonTag(added.l), 'Long', 'unchanged values of a document with the same _id keep their types');
      assert.equal(bsonTag(added.d), 'Double');
    });

    test('$lookup and $facet', async () => {
      const db = await orders();
      const joined = await db
        .collection<any>('orders')
        .aggregate([
          { $match: { _id: { $in: [1, 2, 4] } } },
          { $lookup: { from: 'customers', localField: 'cust', foreignField: '_id', as: 'customer' } },
          { $project: { _id: 1, name: { $first: '$customer.name' } } },
        ])
        .toArray();
      assert.deepEqual(joined, [{ _id: 1, name: 'Ann' }, { _id: 2, name: 'Bob' }, { _id: 4 }]);
      const [facets] = await db
        .collection<any>('orders')
        .aggregate([{ $facet: { count: [{ $count: 'n' }], top: [{ $sort: { qty: -1 } }, { $limit: 1 }, { $project: { _id: 1 } }] } }])
        .toArray();
      assert.deepEqual(facets, { count: [{ n: 4 }], top: [{ _id: 3 }] });
    });

    test('$out replaces the target (keeping its indexes); a failing $out leaves the old contents', async () => {
      const db = await orders();
      const target = db.collection<any>('summary');
      await target.insertOne({ _id: 'stale' as any });
      const batch = await db
        .collection<any>('orders')
        .aggregate([{ $group: { _id: '$cust', qty: { $sum: '$qty' } } }, { $out: 'summary' }])
        .toArray();
      assert.deepEqual(batch, []);
      assert.deepEqual(await target.find().sort({ _id: 1 }).toArray(), [
        { _id: 'a', qty: 6 },
        { _id: 'b', qty: 1 },
        { _id: 'c', qty: 3 },
      ]);
      await target.createIndex({ qty: 1 }, { unique: true });
      const err = await rejection(() => db.collection<any>('orders').aggregate([{ $project: { _id: 1, qty: { $literal: 1 } } }, { $out: 'summary' }]).toArray());
      assert.equal(err.code, 11000);
      assert.equal(await target.countDocuments(), 3, 'old contents kept');
      assert.ok((await target.indexes()).some((i) => i.name === 'qty_1'));
      const other = await db.collection<any>('orders').aggregate([{ $match: { cust: 'b' } }, { $out: { db: `${db.databaseName}_copy`, coll: 'b' } }]).toArray();
      assert.deepEqual(other, []);
      assert.equal(await fx.client().db(`${db.databaseName}_copy`).collection<any>('b').countDocuments(), 1);
    });

    test('$merge: merge, replace, keepExisting, fail, pipeline, insert/discard', async () => {
      const db = await orders();
      const stock = db.collection<any>('stock');
      await stock.insertMany([
        { _id: 1, qty: 100, note: 'keep' },
        { _id: 9, qty: 9 },
      ] as any[]);
      const run = (merge: object) => db.collection<any>('orders').aggregate([{ $match: { _id: { $in: [1, 2] } } }, { $project: { qty: 1 } }, { $merge: merge }]).toArray();
      await run({ into: 'stock' });
      assert.deepEqual(await stock.find().sort({ _id: 1 }).toArray(), [
        { _id: 1, qty: 2, note: 'keep' },
        { _id: 2, qty: 1 },
        { _id: 9, qty: 9 },
      ]);
      await run({ into: 'stock', whenMatched: 'replace', whenNotMatched: 'discard' });
      assert.deepEqual(await stock.findOne({ _id: 1 as any }), { _id: 1, qty: 2 });
      await stock.updateOne({ _id: 1 as any }, { $set: { qty: 50 } });
      await run({ into: 'stock', whenMatched: 'keepExisting' });
      assert.equal((await stock.findOne({ _id: 1 as any }))!.qty, 50);
      await run({ into: 'stock', whenMatched: [{ $set: { qty: { $add: ['$qty', '$$new.qty'] } } }] });
      assert.equal((await stock.findOne({ _id: 1 as any }))!.qty, 52);
      assert.equal((await rejection(() => run({ into: 'stock', whenMatched: 'fail' }))).code, 11000);
      await stock.deleteMany({ _id: { $in: [1, 2] } as any });
      assert.equal((await rejection(() => run({ into: 'stock', whenNotMatched: 'fail' }))).code, 13113);
    });

    test('$collStats, database-level $documents, and stage errors', async () => {
      const db = await orders();
      const [stats] = await db.collection<any>('orders').aggregate([{ $collStats: { count: {}, storageStats: {} } }]).toArray();
      assert.equal(stats.count, 4);
      assert.equal(stats.storageStats.count, 4);
      assert.equal(stats.storageStats.nindexes, 1);
      assert.ok(stats.storageStats.size > 0);
      const docs = await db.aggregate([{ $documents: [{ a: 1 }, { a: 2 }] }, { $match: { a: 2 } }]).toArray();
      assert.deepEqual(docs, [{ a: 2 }]);
      assert.equal((await rejection(() => db.collection<any>('orders').aggregate([{ $bogus: {} }]).toArray())).code, 40324);
      assert.equal((await rejection(() => db.collection<any>('orders').aggregate([{ $out: 'x' }, { $match: {} }]).toArray())).code, 40601);
      assert.equal((await rejection(() => db.command({ aggregate: 'orders', pipeline: [] }))).code, 9);
      assert.equal((await rejection(() => db.collection<any>('orders').aggregate([{ $project: { x: { $bogusOp: 1 } } }]).toArray())).code, 168);
    });

    test('aggregation never alters stored documents', async () => {
      const c = fx.freshDb().collection<any>('pure');
      await c.insertOne({ _id: 1 as any, sub: { a: 1 }, list: [1, 2] });
      await c.aggregate([{ $unwind: { path: '$list', includeArrayIndex: 'ix' } }, { $set: { 'sub.b': 2 } }, { $unset: 'sub.a' }]).toArray();
      await c.aggregate([{ $addFields: { 'sub.c': 3 } }]).toArray();
      assert.deepEqual(await c.findOne({ _id: 1 as any }), { _id: 1, sub: { a: 1 }, list: [1, 2] });
    });
  });
}

for (const [label, driver] of drivers) aggregateSuite(label, driver);
