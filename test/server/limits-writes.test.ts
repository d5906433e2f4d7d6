import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { drivers, rejection, useDataServer, type Driver } from './data-fixture.js';

const MiB = 1024 * 1024;
const MAX = 16 * MiB;

/** No write path may store a document over 16 MiB; a refused write leaves the stored document as it was. */
function writeLimitsSuite(label: string, m: Driver): void {
  describe(`writes never store a document over 16 MiB (${label})`, () => {
    const fx = useDataServer(m);

    async function refused(fn: () => Promise<unknown>, code: number, message: RegExp): Promise<void> {
      const err = await rejection(fn);
      assert.equal(err.code, code, `code ${err.code}: ${err.message}`);
      assert.match(err.message, message);
    }

    test('$set, $push, pipeline updates and findOneAndUpdate past 16 MiB: 17419, the document unchanged', async () => {
      const c = fx.freshDb().collection<any>('grow');
      const tooLarge = /Resulting document after update is larger than 16777216/;
      await c.insertMany([
        { _id: 'set', s: 'x'.repeat(15 * MiB) },
        { _id: 'push', a: ['q'.repeat(15 * MiB)] },
        { _id: 'pipeline', s: 'z'.repeat(9 * MiB) },
      ]);
      const twoMiB = 'y'.repeat(2 * MiB);
      await refused(() => c.updateOne({ _id: 'set' }, { $set: { t: twoMiB } }), 17419, tooLarge);
      await refused(() => c.updateOne({ _id: 'push' }, { $push: { a: twoMiB } } as any), 17419, tooLarge);
      await refused(() => c.updateOne({ _id: 'pipeline' }, [{ $set: { copy: '$s' } }]), 17419, tooLarge);
      await refused(() => c.findOneAndUpdate({ _id: 'set' }, { $set: { t: twoMiB } }), 17419, tooLarge);
      assert.deepEqual(await c.findOne({ _id: 'set' }, { projection: { s: 0 } }), { _id: 'set' });
      assert.equal((await c.findOne({ _id: 'push' }))!.a.length, 1);
      assert.deepEqual(Object.keys((await c.findOne({ _id: 'pipeline' }))!), ['_id', 's']);
      const stats = await c.db.command({ collStats: 'grow' });
      assert.ok(stats.size < 40 * MiB, `stored ${stats.size} bytes`);
      // Growth that fits is still applied, also right after a refused one.
      await c.updateOne({ _id: 'set' }, { $set: { t: 'small' } });
      assert.equal((await c.findOne({ _id: 'set' }, { projection: { t: 1 } }))!.t, 'small');
    });

    test('an update that keeps a near-limit document under 16 MiB succeeds', async () => {
      const c = fx.freshDb().collection<any>('edge');
      const overhead = m.BSON.calculateObjectSize({ _id: 1, s: '' });
      await c.insertOne({ _id: 1, s: 'e'.repeat(MAX - overhead - 64) });
      await c.updateOne({ _id: 1 }, { $set: { n: 1 }, $inc: { k: 1 } });
      const doc = (await c.findOne({ _id: 1 }))!;
      assert.equal(doc.n, 1);
      assert.ok(m.BSON.calculateObjectSize(doc) <= MAX);
      await refused(() => c.updateOne({ _id: 1 }, { $set: { pad: 'p'.repeat(100) } }), 17419, /larger than 16777216/);
    });

    test('an upsert that would create a document over 16 MiB: 17420, nothing inserted', async () => {
      const c = fx.freshDb().collection<any>('upsert');
      const nineMiB = 'u'.repeat(9 * MiB);
      await refused(() => c.updateOne({ _id: 'up' }, [{ $set: { a: nineMiB } }, { $set: { b: '$a' } }], { upsert: true }), 17420, /Document to upsert is larger than 16777216/);
      await refused(
        () => c.findOneAndUpdate({ _id: 'up' }, [{ $set: { a: nineMiB } }, { $set: { b: '$a' } }], { upsert: true }),
        17420,
        /Document to upsert is larger than 16777216/,
      );
      assert.equal(await c.countDocuments(), 0);
    });

    test('padding an array beyond 1,500,000 elements is CannotBackfillArray (34)', async () => {
      const c = fx.freshDb().collection<any>('pad');
      await c.insertOne({ _id: 1, arr: [] });
      await refused(() => c.updateOne({ _id: 1 }, { $set: { 'arr.3000000': 1 } }), 34, /can't backfill more than 1500000 elements/);
      assert.deepEqual(await c.findOne({ _id: 1 }), { _id: 1, arr: [] });
      await c.updateOne({ _id: 1 }, { $set: { 'arr.3': 1 } });
      assert.deepEqual((await c.findOne({ _id: 1 }))!.arr, [null, null, null, 1]);
    });

    test('$merge growing a target document past 16 MiB is 17419 and leaves it; $out/$merge of an oversized result is 10334', async () => {
      const db = fx.freshDb();
      await db.collection<any>('target').insertOne({ _id: 1, s: 'x'.repeat(15 * MiB) });
      const source = db.collection<any>('source');
      await source.insertOne({ _id: 1, t: 't'.repeat(2 * MiB) });
      await refused(() => source.aggregate([{ $merge: { into: 'target', whenMatched: 'merge' } }]).toArray(), 17419, /larger than 16777216/);
      assert.deepEqual(Object.keys((await db.collection<any>('target').findOne({ _id: 1 }))!), ['_id', 's']);
      const huge = { $project: { big: { $concat: Array.from({ length: 9 }, () => '$t') } } };
      await refused(() => source.aggregate([huge, { $out: 'out' }]).toArray(), 10334, /BSONObj size/);
      await refused(() => source.aggregate([huge, { $merge: { into: 'target' } }]).toArray(), 10334, /BSONObj size/);
      assert.equal(await db.collection<any>('out').countDocuments(), 0);
      assert.deepEqual(Object.keys((await db.collection<any>('target').findOne({ _id: 1 }))!), ['_id', 's']);
    });
  });
}

for (const [label, driver] of drivers) writeLimitsSuite(label, driver);
