import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { drivers, rejection, useDataServer, type Driver } from './data-fixture.js';

function indexSuite(label: string, m: Driver): void {
  describe(`indexes through the real driver (${label})`, () => {
    const fx = useDataServer(m);

    test('unique index: E11000 with mongod message, keyPattern and keyValue, on insert and update', async () => {
      const db = fx.freshDb();
      const c = db.collection<any>('users');
      assert.equal(await c.createIndex({ email: 1 }, { unique: true }), 'email_1');
      await c.insertOne({ email: 'x' });
      const err = await rejection(() => c.insertOne({ email: 'x' }));
      assert.equal(err.code, 11000);
      assert.equal(err.message, `E11000 duplicate key error collection: ${db.databaseName}.users index: email_1 dup key: { email: "x" }`);
      assert.deepEqual(err.keyPattern, { email: 1 });
      assert.deepEqual(err.keyValue, { email: 'x' });
      await c.insertOne({ _id: 2 as any, email: 'y' });
      const upd = await rejection(() => c.updateOne({ _id: 2 as any }, { $set: { email: 'x' } }));
      assert.equal(upd.code, 11000);
      assert.equal((await c.findOne({ _id: 2 as any }))!.email, 'y', 'the failed update changed nothing');
      await c.updateOne({ _id: 2 as any }, { $set: { email: 'z' } });
      await c.insertOne({ email: 'y' });
      assert.equal(await c.countDocuments(), 3);
      await c.deleteOne({ email: 'x' });
      await c.insertOne({ email: 'x' });
    });

    test('a missing field counts as null; sparse indexes skip it', async () => {
      const c = fx.freshDb().collection<any>('nulls');
      await c.createIndex({ code: 1 }, { unique: true });
      await c.insertOne({ a: 1 });
      const err = await rejection(() => c.insertOne({ a: 2 }));
      assert.equal(err.code, 11000);
      assert.match(err.message, /dup key: \{ code: null \}/);
      assert.deepEqual(err.keyValue, { code: null });
      const explicitNull = await rejection(() => c.insertOne({ code: null }));
      assert.equal(explicitNull.code, 11000);
      const s = c.db.collection<any>('sparse');
      await s.createIndex({ code: 1 }, { unique: true, sparse: true });
      await s.insertMany([{ a: 1 }, { a: 2 }, { code: 5 }]);
      assert.equal((await rejection(() => s.insertOne({ code: 5 }))).code, 11000);
    });

    test('compound and multikey unique keys', async () => {
      const c = fx.freshDb().collection<any>('compound');
      await c.createIndex({ a: 1, b: -1 }, { unique: true });
      await c.insertMany([
        { a: 1, b: 1 },
        { a: 1, b: 2 },
        { a: 2, b: 1 },
      ]);
      const err = await rejection(() => c.insertOne({ a: 1, b: 2 }));
      assert.match(err.message, /index: a_1_b_-1 dup key: \{ a: 1, b: 2 \}/);
      assert.deepEqual(err.keyPattern, { a: 1, b: -1 });
      assert.deepEqual(err.keyValue, { a: 1, b: 2 });
      const tags = c.db.collection<any>('tags');
      await tags.createIndex({ tags: 1 }, { unique: true });
      await tags.insertOne({ tags: ['a', 'b', 'b'] });
      const multi = await rejection(() => tags.insertOne({ tags: ['c', 'b'] }));
      assert.deepEqual(multi.keyValue, { tags: 'b' });
      await tags.insertOne({ tags: ['c'] });
    });

    test('partial unique index only covers matching documents', async () => {
      const c = fx.freshDb().collection<any>('partial');
      await c.createIndex({ email: 1 }, { unique: true, partialFilterExpression: { email: { $type: 'string' } } });
      await c.insertMany([{ name: 'no email' }, { name: 'no email either' }, { email: 5 }, { email: 5 }, { email: 'a@x' }]);
      const err = await rejection(() => c.insertOne({ email: 'a@x' }));
      assert.equal(err.code, 11000);
      const [spec] = (await c.indexes()).filter((i) => i.name === 'email_1');
      assert.deepEqual(spec.partialFilterExpression, { email: { $type: 'string' } });
    });

    test('creating a unique index over duplicates fails with 11000 and leaves no index', async () => {
      const c = fx.freshDb().collection<any>('dups');
      await c.insertMany([{ k: 1 }, { k: 1 }]);
      const err = await rejection(() => c.createIndex({ k: 1 }, { unique: true }));
      assert.equal(err.code, 11000);
      assert.deepEqual(
        (await c.indexes()).map((i) => i.name),
        ['_id_'],
      );
      await c.insertOne({ k: 1 });
    });

    test('createIndexes reply, idempotence and conflicts', async () => {
      const db = fx.freshDb();
      const first = await db.command({ createIndexes: 'ix', indexes: [{ key: { a: 1 }, name: 'a_1' }] });
      assert.deepEqual(first, { numIndexesBefore: 1, numIndexesAfter: 2, createdCollectionAutomatically: true, ok: 1 });
      const again = await db.command({ createIndexes: 'ix', indexes: [{ key: { a: 1 }, name: 'a_1' }] });
      assert.equal(again.note, 'all indexes already exist');
      assert.equal(again.numIndexesAfter, 2);
      assert.equal((await rejection(() => db.command({ createIndexes: 'ix', indexes: [{ key: { b: 1 }, name: 'a_1' }] }))).code, 86);
      assert.equal((await rejection(() => db.command({ createIndexes: 'ix', indexes: [{ key: { a: 1 }, name: 'other' }] }))).code, 85);
      assert.equal((await rejection(() => db.command({ createIndexes: 'ix', indexes: [{ key: { a: 1 } }] }))).code, 9);
      assert.equal((await rejection(() => db.command({ createIndexes: 'ix', indexes: [{ key: { a: 'bogus' }, name: 'x' }] }))).code, 67);
      const two = await db.collection<any>('ix').createIndexes([{ key: { b: 1 } }, { key: { c: -1 }, name: 'c_desc' }]);
      assert.deepEqual(two, ['b_1', 'c_desc']);
      assert.deepEqual(
        (await db.collection<any>('ix').listIndexes().toArray()).map((i) => [i.name, i.v, i.key]),
        [
          ['_id_', 2, { _id: 1 }],
          ['a_1', 2, { a: 1 }],
          ['b_1', 2, { b: 1 }],
          ['c_desc', 2, { c: -1 }],
        ],
      );
    });

    test('dropIndexes by name, key pattern and *; _id_ and unknown names are refused', async () => {
      const db = fx.freshDb();
      const c = db.collection<any>('drop');
      await c.createIndexes([{ key: { a: 1 } }, { key: { b: 1 } }, { key: { c: 1 } }]);
      await c.dropIndex('a_1');
      await c.dropIndex({ b: 1 } as any);
      assert.deepEqual(
        (await c.indexes()).map((i) => i.name),
        ['_id_', 'c_1'],
      );
      assert.equal((await rejection(() => c.dropIndex('_id_'))).code, 72);
      assert.equal((await rejection(() => c.dropIndex('nope'))).code, 27);
      const all = await db.command({ dropIndexes: 'drop', index: '*' });
      assert.equal(all.nIndexesWas, 2);
      assert.deepEqual(
        (await c.indexes()).map((i) => i.name),
        ['_id_'],
      );
      assert.equal((await rejection(() => db.collection<any>('missing').indexes())).code, 26);
      assert.equal((await rejection(() => db.command({ dropIndexes: 'missing', index: '*' }))).code, 26);
      // A dropped unique index no longer constrains writes.
      await c.createIndex({ u: 1 }, { unique: true });
      await c.dropIndex('u_1');
      await c.insertMany([{ u: 1 }, { u: 1 }]);
    });
  });
}

for (const [label, driver] of drivers) indexSuite(label, driver);
