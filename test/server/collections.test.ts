import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { drivers, rejection, useDataServer, type Driver } from './data-fixture.js';

function collectionsSuite(label: string, m: Driver): void {
  describe(`databases and collections through the real driver (${label})`, () => {
    const fx = useDataServer(m);

    test('collections appear on first write; listCollections filters by name and supports nameOnly', async () => {
      const db = fx.freshDb();
      assert.deepEqual(await db.listCollections().toArray(), []);
      await db.collection<any>('b').insertOne({ x: 1 });
      await db.createCollection('a');
      const all = (await db.listCollections().toArray()) as any[];
      assert.deepEqual(
        all.map((c) => [c.name, c.type]),
        [
          ['a', 'collection'],
          ['b', 'collection'],
        ],
      );
      assert.equal(all[0].info?.readOnly, false);
      assert.ok(all[0].info?.uuid);
      assert.deepEqual(all[0].idIndex, { v: 2, key: { _id: 1 }, name: '_id_' });
      assert.deepEqual(await db.listCollections({ name: 'b' }, { nameOnly: true }).toArray(), [{ name: 'b', type: 'collection' }]);
      assert.deepEqual(
        (await db.collections()).map((c) => c.collectionName).sort(),
        ['a', 'b'],
      );
    });

    test('create refuses an existing name (48); capped collections keep their newest documents', async () => {
      const db = fx.freshDb();
      await db.createCollection('log', { capped: true, size: 100_000, max: 3 });
      const err = await rejection(() => db.createCollection('log'));
      assert.equal(err.code, 48);
      const [info] = (await db.listCollections({ name: 'log' }).toArray()) as any[];
      assert.deepEqual(info.options, { capped: true, size: 100_096, max: 3 }, 'size rounded up to a multiple of 256, as mongod does');
      const log = db.collection<any>('log');
      for (let i = 0; i < 5; i++) await log.insertOne({ i });
      assert.deepEqual(
        await log.find().map((d) => d.i).toArray(),
        [2, 3, 4],
      );
      assert.equal((await rejection(() => db.command({ create: 'v', viewOn: 'log', pipeline: [] }))).code, 115);
    });

    test('validators reject invalid documents (121) unless bypassed', async () => {
      const db = fx.freshDb();
      await db.createCollection('valid', { validator: { qty: { $type: 'number', $gte: 0 } } });
      const c = db.collection<any>('valid');
      await c.insertOne({ qty: 1 });
      const err = await rejection(() => c.insertOne({ qty: -1 }));
      assert.equal(err.code, 121);
      assert.equal((await rejection(() => c.updateOne({}, { $set: { qty: 'x' } }))).code, 121);
      await c.insertOne({ qty: -5 }, { bypassDocumentValidation: true });
      assert.equal(await c.countDocuments(), 2);
    });

    test('drop, dropDatabase and listDatabases', async () => {
      const db = fx.freshDb();
      await db.collection<any>('gone').insertOne({ x: 1 });
      await db.collection<any>('kept').insertOne({ x: 1 });
      const names = async () => (await fx.client().db('admin').admin().listDatabases()).databases.map((d) => d.name);
      assert.ok((await names()).includes(db.databaseName));
      for (const name of ['admin', 'config', 'local']) assert.ok((await names()).includes(name), name);
      assert.equal(await db.collection<any>('gone').drop(), true);
      await db.collection<any>('never-existed').drop();
      assert.deepEqual(
        (await db.listCollections().toArray()).map((c) => c.name),
        ['kept'],
      );
      const listed = await fx.client().db('admin').command({ listDatabases: 1, filter: { name: db.databaseName } });
      assert.equal(listed.databases.length, 1);
      assert.equal(listed.databases[0].empty, false);
      assert.ok(listed.databases[0].sizeOnDisk > 0);
      assert.ok(listed.totalSize >= listed.databases[0].sizeOnDisk);
      assert.equal(await db.dropDatabase(), true);
      assert.equal((await names()).includes(db.databaseName), false);
      assert.equal((await rejection(() => db.command({ listDatabases: 1 }))).code, 13);
    });

    test('renameCollection keeps documents and indexes; target rules; across databases', async () => {
      const db = fx.freshDb();
      const src = db.collection<any>('src');
      await src.insertMany([{ _id: 1, u: 'a' }, { _id: 2, u: 'b' }] as any[]);
      await src.createIndex({ u: 1 }, { unique: true });
      const renamed = await src.rename('dst');
      assert.equal(renamed.collectionName, 'dst');
      assert.equal(await db.collection<any>('dst').countDocuments(), 2);
      assert.equal((await rejection(() => db.collection<any>('dst').insertOne({ u: 'a' }))).code, 11000, 'unique index moved along');
      assert.deepEqual(
        (await db.listCollections().toArray()).map((c) => c.name),
        ['dst'],
      );
      await db.collection<any>('other').insertOne({ x: 1 });
      assert.equal((await rejection(() => db.collection<any>('dst').rename('other'))).code, 48);
      await db.collection<any>('dst').rename('other', { dropTarget: true });
      assert.equal(await db.collection<any>('other').countDocuments(), 2);
      assert.equal((await rejection(() => db.collection<any>('nope').rename('x'))).code, 26);
      const elsewhere = `${db.databaseName}_moved`;
      await fx.client().db('admin').command({ renameCollection: `${db.databaseName}.other`, to: `${elsewhere}.other` });
      assert.equal(await fx.client().db(elsewhere).collection<any>('other').countDocuments(), 2);
      assert.equal((await rejection(() => db.command({ renameCollection: `${elsewhere}.other`, to: `${db.databaseName}.x` }))).code, 13);
    });

    test('dbStats and collStats report counts and sizes', async () => {
      const db = fx.freshDb();
      const c = db.collection<any>('stats');
      await c.insertMany(Array.from({ length: 10 }, (_, i) => ({ i, pad: 'x'.repeat(100) })));
      await c.createIndex({ i: 1 });
      const coll = await db.command({ collStats: 'stats' });
      assert.equal(coll.ns, `${db.databaseName}.stats`);
      assert.equal(coll.count, 10);
      assert.equal(coll.size, 10 * m.BSON.calculateObjectSize((await c.findOne({ i: 0 }))!));
      assert.equal(coll.avgObjSize, coll.size / 10);
      assert.ok(coll.storageSize >= coll.size);
      assert.equal(coll.nindexes, 2);
      assert.deepEqual(Object.keys(coll.indexSizes), ['_id_', 'i_1']);
      assert.ok(coll.totalIndexSize > 0);
      const kb = await db.command({ collStats: 'stats', scale: 1024 });
      assert.equal(kb.size, Math.floor(coll.size / 1024));
      const dbs = await db.stats();
      assert.equal(dbs.db, db.databaseName);
      assert.equal(dbs.collections, 1);
      assert.equal(dbs.objects, 10);
      assert.equal(dbs.dataSize, coll.size);
      assert.equal(dbs.indexes, 2);
      assert.equal((await rejection(() => db.command({ collStats: 'missing' }))).code, 26);
    });

    test('invalid namespaces are refused with InvalidNamespace (73)', async () => {
      const db = fx.freshDb();
      assert.equal((await rejection(() => db.command({ insert: 'a$b', documents: [{}] }))).code, 73);
      assert.equal((await rejection(() => db.command({ insert: 'system.mine', documents: [{}] }))).code, 73);
      assert.equal((await rejection(() => db.command({ insert: '', documents: [{}] }))).code, 73);
      assert.equal((await rejection(() => db.command({ create: 'x'.repeat(300) }))).code, 73);
    });
  });
}

for (const [label, driver] of drivers) collectionsSuite(label, driver);
