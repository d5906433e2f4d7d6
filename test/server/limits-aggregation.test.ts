import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { drivers, rejection, useDataServer, type Driver } from './data-fixture.js';

/**
 * Pipelines and $expr filters are client-supplied code that runs on the server's event loop. Each
 * bad one must get an error reply with mongod's code (or the embedded server's documented limit)
 * while the server goes on serving everyone: none may crash the process, hang it or exhaust memory.
 */
function limitsSuite(label: string, m: Driver): void {
  describe(`bad pipelines and $expr filters are refused, the server keeps serving (${label})`, () => {
    const fx = useDataServer(m);
    let bystander: InstanceType<Driver['MongoClient']>;
    const db = () => fx.client().db('limits');
    const docs = () => db().collection<any>('docs');

    before(async () => {
      await docs().insertMany(Array.from({ length: 200 }, (_, i) => ({ _id: i, a: i % 7, s: 'x'.repeat(10 * 1024) })));
      await db().collection<any>('big').insertOne({ _id: 1, s: 'y'.repeat(1024 * 1024) });
      bystander = new m.MongoClient(fx.server().uri);
      await bystander.connect();
    });
    after(async () => {
      await bystander?.close();
    });

    /** The refused operation's error, after checking that another client and this one are still served. */
    async function refused(fn: () => Promise<unknown>, code: number, message?: RegExp): Promise<any> {
      const err = await rejection(fn);
      assert.equal(err.code, code, `code ${err.code}: ${err.message}`);
      if (message) assert.match(err.message, message);
      assert.equal((await bystander.db('limits').collection<any>('docs').findOne({ _id: 5 }))?.a, 5, 'another client is served');
      assert.equal(await docs().countDocuments({ a: 3 }), 29, 'and so is this one');
      return err;
    }

    test('$range: a huge span is ExceededMemoryLimit (146) in a find $expr and in $project; a zero step is 34449', async () => {
      const huge = { $range: [0, 1e9] };
      await refused(() => docs().find({ $expr: { $gt: [{ $size: huge }, 0] } }).toArray(), 146, /\$range would use too much memory/);
      await refused(() => docs().aggregate([{ $project: { r: huge } }]).toArray(), 146, /\$range would use too much memory/);
      await refused(() => docs().aggregate([{ $project: { r: { $range: [0, 10, 0] } } }]).toArray(), 34449, /non-zero step/);
      await refused(() => docs().aggregate([{ $project: { r: { $range: [0, 3e9] } } }]).toArray(), 34446, /32-bit integer/);
      assert.deepEqual(await docs().aggregate([{ $match: { _id: 1 } }, { $project: { _id: 0, r: { $range: [0, 10, 3] } } }]).toArray(), [{ r: [0, 3, 6, 9] }]);
    });

    test('$sample: a negative size is 28747, a non-number 28746; 0 returns nothing; more than there is returns each document once', async () => {
      await refused(() => docs().aggregate([{ $sample: { size: -1 } }]).toArray(), 28747);
      await refused(() => docs().aggregate([{ $sample: { size: 'all' } }]).toArray(), 28746);
      await refused(() => docs().aggregate([{ $sample: { n: 1 } }]).toArray(), 28748);
      assert.deepEqual(await docs().aggregate([{ $sample: { size: 0 } }]).toArray(), []);
      const all = await docs().aggregate([{ $sample: { size: 1e12 } }, { $project: { _id: 1 } }]).toArray();
      assert.equal(all.length, 200);
      assert.equal(new Set(all.map((d) => d._id)).size, 200, 'no document twice');
    });

    test('$densify: a zero step is 5733401, unordered bounds 5733402; generating more than 500,000 documents is 5897900', async () => {
      await refused(() => docs().aggregate([{ $densify: { field: 'a', range: { step: 0, bounds: 'full' } } }]).toArray(), 5733401);
      await refused(() => docs().aggregate([{ $densify: { field: 'a', range: { step: 1, bounds: [5, 1] } } }]).toArray(), 5733402);
      await refused(() => docs().aggregate([{ $densify: { field: 'a', range: { step: 1e-9, bounds: 'full' } } }]).toArray(), 5897900, /over the limit of 500000/);
      const dense = await docs()
        .aggregate([{ $match: { _id: { $in: [0, 5] } } }, { $project: { _id: 0, a: 1 } }, { $densify: { field: 'a', range: { step: 2, bounds: 'full' } } }])
        .toArray();
      assert.deepEqual(dense.map((d) => d.a), [0, 2, 4, 5]);
    });

    test('$bucketAuto with 0 buckets is 40243', async () => {
      await refused(() => docs().aggregate([{ $bucketAuto: { groupBy: '$a', buckets: 0 } }]).toArray(), 40243);
    });

    test('expressions that grow without bound are ExceededMemoryLimit (146): doubling arrays and strings, many huge arrays in one document, quadratic $reduce', async () => {
      let arrays: object = { $literal: [1] };
      let strings: object = { $literal: 'ab' };
      for (let i = 0; i < 31; i++) {
        arrays = { $let: { vars: { x: arrays }, in: { $concatArrays: ['$$x', '$$x'] } } };
        strings = { $let: { vars: { x: strings }, in: { $concat: ['$$x', '$$x'] } } };
      }
      const one = (stage: object) => docs().aggregate([{ $limit: 1 }, stage]).toArray();
      await refused(() => one({ $project: { r: arrays } }), 146, /\$concatArrays would produce/);
      await refused(() => one({ $project: { r: strings } }), 146, /\$concat would produce/);
      const fields = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`f${i}`, { $range: [0, 6_000_000] }]));
      await refused(() => one({ $project: fields }), 146, /evaluating the expressions of one document/);
      const quadratic = { $reduce: { input: { $range: [0, 6_000_000] }, initialValue: [], in: { $concatArrays: ['$$value', ['$$this']] } } };
      await refused(() => one({ $project: { r: quadratic } }), 146);
    });

    test('a blocking stage holding more than 100 MiB is 292 (146 with allowDiskUse); a result document over 16 MiB is 10334', async () => {
      // Each projected document holds a 1 MiB string: 200 of them are more than $sort may hold.
      const wide = { $project: { a: 1, s: { $concat: Array.from({ length: 100 }, () => '$s') } } };
      await refused(() => docs().aggregate([wide, { $sort: { a: 1 } }]).toArray(), 292, /Exceeded memory limit for \$sort/);
      await refused(() => docs().aggregate([wide, { $group: { _id: null, all: { $push: '$$ROOT' } } }], { allowDiskUse: true }).toArray(), 146);
      const big = db().collection<any>('big');
      await refused(() => big.aggregate([{ $project: { s: { $concat: Array.from({ length: 17 }, () => '$s') } } }]).toArray(), 10334, /BSONObj size: \d+ .* is invalid/);
      // Within the limits the same shapes work.
      assert.equal((await docs().aggregate([{ $project: { a: 1 } }, { $sort: { a: -1, _id: 1 } }, { $limit: 1 }]).toArray())[0]._id, 6);
    });

    test('sub-pipelines may not write: $out in $facet is 40600, $merge in $lookup 51047', async () => {
      await refused(() => docs().aggregate([{ $facet: { x: [{ $out: 'facetOut' }] } }]).toArray(), 40600);
      await refused(() => docs().aggregate([{ $lookup: { from: 'big', pipeline: [{ $merge: { into: 'x' } }], as: 'j' } }]).toArray(), 51047);
    });
  });
}

for (const [label, driver] of drivers) limitsSuite(label, driver);
