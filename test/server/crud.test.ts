import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bsonTag, drivers, rejection, useDataServer, type Driver } from './data-fixture.js';

function crudSuite(label: string, m: Driver): void {
  describe(`CRUD through the real driver (${label})`, () => {
    const fx = useDataServer(m);
    const typed = { promoteValues: false, promoteLongs: false } as const;

    test('every BSON type round-trips byte for byte, field order included', async () => {
      const c = fx.freshDb().collection<any>('types');
      const doc = {
        _id: new m.ObjectId(),
        z: 'last-letter first',
        int: new m.Int32(7),
        long: m.Long.fromString('9007199254740993'),
        smallLong: m.Long.fromNumber(5),
        double: new m.Double(2),
        dec: m.Decimal128.fromString('1.10'),
        date: new Date(1_700_000_000_123),
        bin: new m.Binary(Buffer.from([1, 2, 3]), 0),
        uuid: new m.UUID(),
        ts: new m.Timestamp({ t: 1_700_000_000, i: 3 }),
        re: new m.BSONRegExp('^a.c', 'i'),
        min: new m.MinKey(),
        max: new m.MaxKey(),
        nil: null,
        yes: true,
        nested: { b: new m.Int32(1), a: [new m.Double(1.5), 'x', { deep: m.Long.fromNumber(-1) }] },
      };
      await c.insertOne(doc);
      const [raw] = await c.find({ _id: doc._id }, { raw: true }).toArray();
      assert.deepEqual(Buffer.from(raw as unknown as Uint8Array), Buffer.from(m.BSON.serialize(doc)));
      // Same bytes through the general path (not the `_id` fast path) and through aggregate.
      const [scanned] = await c.find({ z: doc.z }, { raw: true }).toArray();
      assert.deepEqual(Buffer.from(scanned as unknown as Uint8Array), Buffer.from(m.BSON.serialize(doc)));
      const [aggregated] = await c.aggregate([{ $match: { yes: true } }], { raw: true }).toArray();
      assert.deepEqual(Buffer.from(aggregated as unknown as Uint8Array), Buffer.from(m.BSON.serialize(doc)));
      const back = (await c.findOne({ _id: doc._id }, typed))!;
      assert.deepEqual(Object.keys(back), Object.keys(doc));
      assert.equal(bsonTag(back.int), 'Int32');
      assert.equal(bsonTag(back.long), 'Long');
      assert.equal(back.long.toString(), '9007199254740993');
      assert.equal(bsonTag(back.double), 'Double');
      assert.equal(bsonTag(back.dec), 'Decimal128');
      assert.equal(back.dec.toString(), '1.10');
    });

    test('updates keep BSON types: int+int stays int (long on overflow), long stays long, double wins', async () => {
      const c = fx.freshDb().collection<any>('inc');
      await c.insertOne({
        _id: 1 as any,
        i: new m.Int32(1),
        big: new m.Int32(2147483647),
        l: m.Long.fromNumber(10),
        d: new m.Double(1),
        mixed: new m.Int32(1),
        keep: m.Long.fromNumber(3),
        dec: m.Decimal128.fromString('0.1'),
      });
      await c.updateOne(
        { _id: 1 as any },
        {
          $inc: { i: new m.Int32(2), big: new m.Int32(1), l: new m.Int32(1), d: new m.Int32(1), mixed: new m.Double(0.5), dec: m.Decimal128.fromString('0.2') },
          $set: { newLong: m.Long.fromNumber(1) },
        },
      );
      const doc = (await c.findOne({ _id: 1 as any }, typed))!;
      assert.deepEqual(Object.keys(doc), ['_id', 'i', 'big', 'l', 'd', 'mixed', 'keep', 'dec', 'newLong']);
      assert.equal(bsonTag(doc.i), 'Int32');
      assert.equal(doc.i.value, 3);
      assert.equal(bsonTag(doc.big), 'Long');
      assert.equal(doc.big.toString(), '2147483648');
      assert.equal(bsonTag(doc.l), 'Long');
      assert.equal(doc.l.toString(), '11');
      assert.equal(bsonTag(doc.d), 'Double');
      assert.equal(bsonTag(doc.mixed), 'Double');
      assert.equal(doc.mixed.value, 1.5);
      assert.equal(bsonTag(doc.keep), 'Long');
      assert.equal(bsonTag(doc.newLong), 'Long');
      assert.equal(doc.dec.toString(), '0.3');
      await c.updateOne({ _id: 1 as any }, { $mul: { i: new m.Int32(2), missing: m.Long.fromNumber(5) } });
      const after = (await c.findOne({ _id: 1 as any }, typed))!;
      assert.equal(bsonTag(after.i), 'Int32');
      assert.equal(after.i.value, 6);
      assert.equal(bsonTag(after.missing), 'Long');
      assert.equal(after.missing.toString(), '0');
    });

    test('common update operators', async () => {
      const c = fx.freshDb().collection<any>('ops');
      await c.insertOne({ _id: 1 as any, a: 5, b: 'x', arr: [3, 1, 2], set: ['a'], old: 1, stack: [1, 2, 3], scores: [{ s: 1 }, { s: 9 }], tags: ['a', 'b', 'a'] });
      const r = await c.updateOne(
        { _id: 1 as any },
        {
          $unset: { b: '' },
          $min: { a: 2 },
          $max: { hi: 10 },
          $rename: { old: 'renamed' },
          $currentDate: { when: true, ts: { $type: 'timestamp' } },
          $push: { arr: { $each: [5, 4], $sort: 1, $slice: 4 } },
          $addToSet: { set: { $each: ['a', 'b', 'c'] } },
          $pop: { stack: -1 },
          $pull: { scores: { s: { $gt: 5 } } },
          $pullAll: { tags: ['a'] },
        } as any,
      );
      assert.equal(r.matchedCount, 1);
      assert.equal(r.modifiedCount, 1);
      const doc = (await c.findOne({ _id: 1 as any }))!;
      assert.equal(doc.a, 2);
      assert.equal('b' in doc, false);
      assert.equal(doc.hi, 10);
      assert.equal(doc.renamed, 1);
      assert.equal('old' in doc, false);
      assert.ok(doc.when instanceof Date);
      assert.equal(bsonTag(doc.ts), 'Timestamp');
      assert.deepEqual(doc.arr, [1, 2, 3, 4]);
      assert.deepEqual(doc.set, ['a', 'b', 'c']);
      assert.deepEqual(doc.stack, [2, 3]);
      assert.deepEqual(doc.scores, [{ s: 1 }]);
      assert.deepEqual(doc.tags, ['b']);
      await c.updateOne({ _id: 1 as any }, { $push: { arr: { $each: [0], $position: 0 } } } as any);
      assert.deepEqual((await c.findOne({ _id: 1 as any }))!.arr, [0, 1, 2, 3, 4]);
      const noop = await c.updateOne({ _id: 1 as any }, { $set: { a: 2 } });
      assert.equal(noop.matchedCount, 1);
      assert.equal(noop.modifiedCount, 0, 'setting the same value is not a modification');
    });

    test('positional $, $[] and $[<id>] with arrayFilters', async () => {
      const c = fx.freshDb().collection<any>('positional');
      await c.insertOne({ _id: 1 as any, grades: [80, 85, 90], items: [{ n: 'a', q: 1 }, { n: 'b', q: 5 }, { n: 'c', q: 9 }] });
      await c.updateOne({ _id: 1 as any, grades: 85 }, { $set: { 'grades.$': 86 } });
      await c.updateOne({ _id: 1 as any, 'items.n': 'b' }, { $inc: { 'items.$.q': 100 } });
      let doc = (await c.findOne({ _id: 1 as any }))!;
      assert.deepEqual(doc.grades, [80, 86, 90]);
      assert.equal(doc.items[1].q, 105);
      await c.updateOne({ _id: 1 as any }, { $inc: { 'grades.$[]': 1 } });
      await c.updateOne({ _id: 1 as any }, { $set: { 'items.$[big].flag': true } }, { arrayFilters: [{ 'big.q': { $gt: 5 } }] });
      doc = (await c.findOne({ _id: 1 as any }))!;
      assert.deepEqual(doc.grades, [81, 87, 91]);
      assert.deepEqual(
        doc.items.map((i: any) => i.flag ?? false),
        [false, true, true],
      );
      const err = await rejection(() => c.updateOne({ _id: 1 as any }, { $set: { 'items.$[x].q': 0 } }));
      assert.equal(err.code, 2);
      assert.match(err.message, /No array filter found for identifier 'x'/);
      const notFound = await rejection(() => c.updateOne({ _id: 1 as any }, { $set: { 'grades.$': 0 } }));
      assert.equal(notFound.code, 2);
      assert.match(notFound.message, /positional operator did not find the match/);
    });

    test('pipeline updates compute from the document and keep untouched types', async () => {
      const c = fx.freshDb().collection<any>('pipeline');
      await c.insertOne({ _id: 1 as any, first: 'Ada', last: 'Lovelace', n: m.Long.fromNumber(41) });
      await c.updateOne({ _id: 1 as any }, [{ $set: { full: { $concat: ['$first', ' ', '$last'] } } }, { $unset: 'last' }]);
      const doc = (await c.findOne({ _id: 1 as any }, typed))!;
      assert.equal(doc.full, 'Ada Lovelace');
      assert.equal('last' in doc, false);
      assert.equal(bsonTag(doc.n), 'Long');
    });

    test('upserts: equality fields from the filter, $setOnInsert, upserted _id reported', async () => {
      const c = fx.freshDb().collection<any>('upsert');
      const r = await c.updateOne(
        { name: 'ann', 'address.city': 'Oslo', $and: [{ tier: { $eq: 2 } }], age: { $gt: 10 } },
        { $set: { seen: 1 }, $setOnInsert: { created: true } },
        { upsert: true },
      );
      assert.equal(r.upsertedCount, 1);
      assert.equal(r.matchedCount, 0);
      assert.ok(r.upsertedId instanceof m.ObjectId);
      const doc = (await c.findOne({ _id: r.upsertedId! }))!;
      assert.deepEqual(Object.keys(doc), ['_id', 'name', 'address', 'tier', 'created', 'seen']);
      assert.deepEqual(doc.address, { city: 'Oslo' });
      assert.equal(doc.tier, 2);
      assert.equal('age' in doc, false);
      const again = await c.updateOne({ name: 'ann' }, { $set: { seen: 2 }, $setOnInsert: { created: false } }, { upsert: true });
      assert.equal(again.upsertedCount, 0);
      assert.equal(again.modifiedCount, 1);
      assert.equal((await c.findOne({ name: 'ann' }))!.created, true, '$setOnInsert only applies on insert');
      const replaced = await c.replaceOne({ _id: 42 as any }, { v: 1 }, { upsert: true });
      assert.equal(replaced.upsertedId, 42);
      assert.deepEqual(await c.findOne({ _id: 42 as any }), { _id: 42, v: 1 });
      const bulk = await c.bulkWrite([
        { updateOne: { filter: { k: 'x' }, update: { $set: { v: 1 } }, upsert: true } },
        { updateOne: { filter: { k: 'y' }, update: { $set: { v: 2 } }, upsert: true } },
      ]);
      assert.equal(bulk.upsertedCount, 2);
      assert.deepEqual(Object.keys(bulk.upsertedIds), ['0', '1']);
    });

    test('_id is generated first, immutable and unique across numeric types', async () => {
      const c = fx.freshDb().collection<any>('ids');
      const res = await c.db.command({ insert: 'ids', documents: [{ a: 1 }] });
      assert.equal(res.n, 1);
      const [doc] = await c.find({}).toArray();
      assert.deepEqual(Object.keys(doc), ['_id', 'a']);
      assert.ok(doc._id instanceof m.ObjectId);
      await c.insertOne({ _id: m.Long.fromNumber(1) as any, v: 'long' });
      assert.equal((await c.findOne({ _id: 1 as any }))!.v, 'long', '1 finds Long(1)');
      assert.equal((await c.findOne({ _id: new m.Double(1) as any }))!.v, 'long');
      const dup = await rejection(() => c.insertOne({ _id: new m.Double(1) as any }));
      assert.equal(dup.code, 11000);
      assert.match(dup.message, /index: _id_ dup key: \{ _id: 1 \}/);
      const immutable = await rejection(() => c.updateOne({ _id: 1 as any }, { $set: { _id: 2 } }));
      assert.equal(immutable.code, 66);
      const replaced = await rejection(() => c.replaceOne({ _id: 1 as any }, { _id: 3, v: 'x' }));
      assert.equal(replaced.code, 66);
      const arrayId = await rejection(() => c.insertOne({ _id: [1, 2] as any }));
      assert.equal(arrayId.code, 2);
    });

    test('invalid updates are rejected with mongod codes', async () => {
      const c = fx.freshDb().collection<any>('bad');
      await c.insertOne({ _id: 1 as any, s: 'text', a: { b: 1 } });
      assert.equal((await rejection(() => c.updateOne({}, { $foo: { a: 1 } } as any))).code, 9);
      assert.equal((await rejection(() => c.updateOne({}, { $set: { a: 1 }, $inc: { 'a.b': 1 } }))).code, 40);
      assert.equal((await rejection(() => c.updateOne({}, { $inc: { s: 1 } }))).code, 14);
      assert.equal((await rejection(() => c.updateOne({}, { $inc: { a: 'x' } } as any))).code, 14);
      assert.equal((await rejection(() => c.updateOne({}, { $set: { 's.x': 1 } }))).code, 28);
      assert.equal((await rejection(() => c.updateOne({}, { $push: { s: 1 } } as any))).code, 2);
      assert.equal((await rejection(() => c.find({ a: { $bogus: 1 } }).toArray())).code, 2);
    });

    test('ordered bulk stops at the first error; unordered reports every error with its index', async () => {
      const db = fx.freshDb();
      const c = db.collection<any>('bulk');
      const ordered = await rejection(() => c.insertMany([{ _id: 1 }, { _id: 2 }, { _id: 1 }, { _id: 3 }] as any[]));
      assert.equal(ordered.code, 11000);
      assert.equal(ordered.result.insertedCount, 2);
      assert.deepEqual(
        ordered.writeErrors.map((e: any) => e.index),
        [2],
      );
      assert.equal(await c.countDocuments(), 2);
      const unordered = await rejection(() => c.insertMany([{ _id: 1 }, { _id: 4 }, { _id: 2 }, { _id: 5 }] as any[], { ordered: false }));
      assert.equal(unordered.result.insertedCount, 2);
      assert.deepEqual(
        unordered.writeErrors.map((e: any) => e.index),
        [0, 2],
      );
      // Raw command: writeErrors carry index, code, errmsg, keyPattern, keyValue with ok: 1.
      const raw = await db.command({ insert: 'bulk', documents: [{ _id: 9 }, { _id: 9 }], ordered: false });
      assert.equal(raw.ok, 1);
      assert.equal(raw.n, 1);
      assert.equal(raw.writeErrors.length, 1);
      assert.deepEqual(
        { index: raw.writeErrors[0].index, code: raw.writeErrors[0].code, keyPattern: raw.writeErrors[0].keyPattern, keyValue: raw.writeErrors[0].keyValue },
        { index: 1, code: 11000, keyPattern: { _id: 1 }, keyValue: { _id: 9 } },
      );
      const mixed = await c.bulkWrite(
        [
          { insertOne: { document: { _id: 10 } } },
          { updateMany: { filter: { _id: { $gte: 4 } }, update: { $set: { seen: true } } } },
          { deleteOne: { filter: { _id: 1 } } },
          { replaceOne: { filter: { _id: 2 }, replacement: { r: 1 } } },
        ] as any[],
      );
      assert.equal(mixed.insertedCount, 1);
      assert.equal(mixed.matchedCount, 5);
      assert.equal(mixed.modifiedCount, 5);
      assert.equal(mixed.deletedCount, 1);
    });

    test('find: filter, projection, sort, skip, limit', async () => {
      const c = fx.freshDb().collection<any>('find');
      await c.insertMany([
        { _id: 1, n: 3, tags: ['b', 'z'], sub: { x: 1, y: 2 }, arr: [1, 2, 3, 4, 5], items: [{ k: 1 }, { k: 7 }] },
        { _id: 2, n: 1, tags: ['a'], sub: { x: 3, y: 4 }, arr: [], items: [] },
        { _id: 3, n: 2, tags: [], sub: { x: 5, y: 6 } },
        { _id: 4, tags: ['c'] },
      ] as any[]);
      assert.deepEqual(await c.find({ n: { $gte: 2 } }).sort({ n: -1 }).map((d) => d._id).toArray(), [1, 3]);
      assert.deepEqual(await c.find().sort({ n: 1 }).map((d) => d._id).toArray(), [4, 2, 3, 1], 'missing sorts first');
      assert.deepEqual(await c.find().sort({ tags: 1 }).map((d) => d._id).toArray(), [3, 2, 1, 4], 'arrays sort by their smallest element ascending');
      assert.deepEqual(await c.find().sort({ _id: -1 }).skip(1).limit(2).map((d) => d._id).toArray(), [3, 2]);
      assert.deepEqual(await c.find({ _id: 1 }, { projection: { n: 1 } }).toArray(), [{ _id: 1, n: 3 }]);
      assert.deepEqual(await c.find({ _id: 1 }, { projection: { _id: 0, 'sub.y': 1 } }).toArray(), [{ sub: { y: 2 } }]);
      assert.deepEqual(await c.find({ _id: 2 }, { projection: { tags: 0, sub: 0, arr: 0, items: 0 } }).toArray(), [{ _id: 2, n: 1 }]);
      assert.deepEqual(await c.find({ _id: 1 }, { projection: { arr: { $slice: -2 }, n: 1 } }).toArray(), [{ _id: 1, n: 3, arr: [4, 5] }]);
      assert.deepEqual(await c.find({ _id: 1 }, { projection: { items: { $elemMatch: { k: { $gt: 5 } } } } }).toArray(), [{ _id: 1, items: [{ k: 7 }] }]);
      assert.deepEqual(await c.find({ 'items.k': 7 }, { projection: { 'items.$': 1 } }).toArray(), [{ _id: 1, items: [{ k: 7 }] }]);
      assert.deepEqual(await c.find({ _id: 3 }, { projection: { total: { $add: ['$sub.x', '$sub.y'] } } }).toArray(), [{ _id: 3, total: 11 }]);
      const mixedProjection = await rejection(() => c.find({}, { projection: { a: 1, b: 0 } }).toArray());
      assert.equal(mixedProjection.code, 31254);
      assert.deepEqual(await c.find({ tags: 'a' }).map((d) => d._id).toArray(), [2]);
      assert.deepEqual(await c.find({ $or: [{ n: 1 }, { 'sub.x': 5 }] }).map((d) => d._id).toArray(), [2, 3]);
      assert.deepEqual(await c.find({ _id: { $in: [3, 1, 99] } }).map((d) => d._id).toArray(), [1, 3]);
      assert.equal(await c.findOne({ _id: 99 as any }), null);
      assert.deepEqual(await fx.freshDb().collection<any>('nothing').find().toArray(), []);
    });

    test('deletes, count, distinct and estimatedDocumentCount', async () => {
      const c = fx.freshDb().collection<any>('del');
      await c.insertMany([{ g: 'a', v: [1, 2] }, { g: 'a', v: 2 }, { g: 'b', v: 3 }, { g: 'c' }]);
      assert.equal(await c.estimatedDocumentCount(), 4);
      assert.equal(await c.countDocuments({ g: 'a' }), 2);
      assert.equal(await c.countDocuments({}, { skip: 1, limit: 2 }), 2);
      assert.deepEqual((await c.distinct('g')).sort(), ['a', 'b', 'c']);
      assert.deepEqual((await c.distinct('v', { g: { $in: ['a', 'b'] } })).sort(), [1, 2, 3]);
      const emptyKey = await rejection(() => c.distinct(''));
      assert.equal(emptyKey.code, 40352);
      assert.match(emptyKey.message, /FieldPath cannot be constructed with empty string/);
      assert.equal((await c.deleteOne({ g: 'a' })).deletedCount, 1);
      assert.equal((await c.deleteMany({ g: { $ne: 'z' } })).deletedCount, 3);
      assert.equal(await c.estimatedDocumentCount(), 0);
      assert.equal((await c.deleteMany({})).deletedCount, 0);
    });

    test('findAndModify: before/after, sort, projection, upsert, remove, replace, duplicate key as ok:0', async () => {
      const c = fx.freshDb().collection<any>('fam');
      await c.insertMany([
        { _id: 1, q: 'x', n: 5 },
        { _id: 2, q: 'x', n: 1 },
      ] as any[]);
      const before = await c.findOneAndUpdate({ q: 'x' }, { $inc: { n: 10 } }, { sort: { n: 1 } });
      assert.deepEqual(before, { _id: 2, q: 'x', n: 1 });
      const after = await c.findOneAndUpdate({ q: 'x' }, { $inc: { n: 1 } }, { sort: { n: -1 }, returnDocument: 'after', projection: { n: 1, _id: 0 } });
      assert.deepEqual(after, { n: 12 });
      const meta = await c.findOneAndUpdate({ q: 'none' }, { $set: { n: 0 } }, { upsert: true, returnDocument: 'after', includeResultMetadata: true });
      assert.equal(meta.lastErrorObject?.updatedExisting, false);
      assert.ok(meta.lastErrorObject?.upserted instanceof m.ObjectId);
      assert.deepEqual(meta.value, { _id: meta.lastErrorObject?.upserted, q: 'none', n: 0 });
      const missing = await c.findOneAndUpdate({ q: 'nobody' }, { $set: { n: 1 } }, { includeResultMetadata: true });
      assert.equal(missing.value, null);
      assert.equal(missing.lastErrorObject?.n, 0);
      const replaced = await c.findOneAndReplace({ _id: 1 as any }, { r: true }, { returnDocument: 'after' });
      assert.deepEqual(replaced, { _id: 1, r: true });
      const removed = await c.findOneAndDelete({ _id: 1 as any });
      assert.deepEqual(removed, { _id: 1, r: true });
      assert.equal(await c.countDocuments({ _id: 1 as any }), 0);
      await c.createIndex({ q: 1 }, { unique: true });
      const dup = await rejection(() => c.findOneAndUpdate({ _id: 2 as any }, { $set: { q: 'none' } }));
      assert.equal(dup.code, 11000);
      assert.deepEqual(dup.keyValue, { q: 'none' });
      const bad = await rejection(() => c.db.command({ findAndModify: 'fam', query: {}, remove: true, update: { $set: { a: 1 } } }));
      assert.equal(bad.code, 9);
    });

    test('a document over 16 MiB is refused with BSONObjectTooLarge; a maximum-size one is stored', async () => {
      const db = fx.freshDb();
      const c = db.collection<any>('big');
      const tooBig = { _id: 1, s: 'x'.repeat(16 * 1024 * 1024) };
      const err = await rejection(() => db.command({ insert: 'big', documents: [tooBig] }).then((r) => {
        if (r.writeErrors) throw Object.assign(new Error(r.writeErrors[0].errmsg), { code: r.writeErrors[0].code });
      }));
      assert.equal(err.code, 10334);
      // 16 MiB exactly: 4 (size) + 1 (type) + 2 ('s\0') + 4 (length) + n + 1 (\0) + 1 (end) + _id element (4 + 4 = 8? int32: 1 + 4 + 4).
      const overhead = m.BSON.calculateObjectSize({ _id: 2, s: '' });
      const exact = { _id: 2, s: 'y'.repeat(16 * 1024 * 1024 - overhead) };
      assert.equal(m.BSON.calculateObjectSize(exact), 16 * 1024 * 1024);
      await c.insertOne(exact as any);
      assert.equal((await c.findOne({ _id: 2 as any }))!.s.length, exact.s.length);
      await c.deleteMany({});
    });
  });
}

for (const [label, driver] of drivers) crudSuite(label, driver);

describe('maxMemoryBytes', () => {
  const [, m] = drivers[0];
  const fx = useDataServer(m, { maxMemoryBytes: 4_000 });

  test('writes beyond the cap fail with ExceededMemoryLimit; acknowledged data stays; deletes free space', async () => {
    const c = fx.freshDb().collection<any>('capped');
    const payload = 'p'.repeat(900);
    const err = await rejection(() => c.insertMany(Array.from({ length: 10 }, (_, i) => ({ _id: i, payload }))));
    assert.equal(err.code, 146);
    assert.match(err.message, /maxMemoryBytes/);
    const stored = err.result.insertedCount as number;
    assert.ok(stored >= 3 && stored < 10, `stored ${stored}`);
    assert.equal(await c.countDocuments(), stored);
    assert.equal((await c.findOne({ _id: 0 as any }))!.payload, payload);
    const grow = await rejection(() => c.updateOne({ _id: 0 as any }, { $set: { more: payload.repeat(3) } }));
    assert.equal(grow.code, 146);
    await c.deleteMany({});
    await c.insertOne({ _id: 'again' as any, payload });
    assert.equal(await c.countDocuments(), 1);
  });
});
