import { describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { BSON, Decimal128, Double, Int32, Long, ObjectId, type Document } from 'bson';
import {
  applyUpdate,
  compareValues,
  compileArrayFilters,
  compileFilter,
  compileUpdate,
  CursorManager,
  encodeSingleBatchReply,
  keyOf,
  positionalIndex,
  recordBytes,
  selectRecords,
  Store,
  typedEquals,
  upsertDocument,
} from '../../src/server/store/index.js';
import { arithmetic } from '../../src/server/store/numeric.js';
import { CommandError } from '../../src/server/errors.js';

function update(doc: Document, u: unknown, arrayFilters?: Document[], positional?: (path: string) => number | undefined): Document {
  const compiled = compileUpdate(u);
  return applyUpdate(compiled, doc, { isUpsertInsert: false, positional }, compileArrayFilters(arrayFilters, compiled));
}

function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CommandError, String(err));
    return err.code;
  }
  return undefined;
}

describe('store values', () => {
  test('equality keys: numbers are equal across types, documents by field order', () => {
    assert.equal(keyOf(new Int32(1)), keyOf(new Double(1)));
    assert.equal(keyOf(Long.fromNumber(1)), keyOf(1));
    assert.equal(keyOf(Decimal128.fromString('1.0')), keyOf(1));
    assert.notEqual(keyOf(1), keyOf('1'));
    assert.equal(keyOf(Long.fromString('9007199254740993')), keyOf(Long.fromString('9007199254740993')));
    assert.notEqual(keyOf(Long.fromString('9007199254740993')), keyOf(Long.fromString('9007199254740992')));
    assert.equal(keyOf({ a: new Int32(1), b: 'x' }), keyOf({ a: 1, b: 'x' }));
    assert.notEqual(keyOf({ a: 1, b: 2 }), keyOf({ b: 2, a: 1 }));
    assert.equal(keyOf(null), keyOf(undefined), 'missing and null are the same index key');
    const id = new ObjectId();
    assert.equal(keyOf(id), keyOf(new ObjectId(id.toHexString())));
  });

  test('BSON comparison order across types', () => {
    const ordered = [null, new Int32(-1), 0.5, Long.fromNumber(2), 'a', 'b', { a: 1 }, [1], new ObjectId(), false, true, new Date(0)];
    for (let i = 0; i + 1 < ordered.length; i++) assert.ok(compareValues(ordered[i], ordered[i + 1]) < 0, `${i}`);
    assert.equal(compareValues(new Int32(3), new Double(3)), 0);
  });

  test('typed equality distinguishes types and field order', () => {
    assert.ok(typedEquals({ a: new Int32(1) }, { a: new Int32(1) }));
    assert.ok(!typedEquals({ a: new Int32(1) }, { a: new Double(1) }));
    assert.ok(!typedEquals({ a: 1, b: 2 }, { b: 2, a: 1 }));
  });

  test('arithmetic keeps BSON types', () => {
    assert.ok(arithmetic('add', new Int32(1), new Int32(2)) instanceof Int32);
    const overflow = arithmetic('add', new Int32(2147483647), new Int32(1));
    assert.ok(overflow instanceof Long && overflow.toString() === '2147483648');
    assert.ok(arithmetic('mul', new Int32(65536), new Int32(65536)) instanceof Long);
    assert.ok(arithmetic('add', Long.fromNumber(1), new Int32(1)) instanceof Long);
    assert.ok(arithmetic('add', new Int32(1), new Double(1)) instanceof Double);
    assert.equal(arithmetic('add', Decimal128.fromString('0.1'), Decimal128.fromString('0.2')).toString(), '0.3');
    assert.equal(arithmetic('mul', Decimal128.fromString('1.5'), new Int32(3)).toString(), '4.5');
    assert.throws(() => arithmetic('add', Long.MAX_VALUE, new Int32(1)));
  });
});

describe('update engine', () => {
  test('new fields are appended in lexicographic path order; existing fields keep their place', () => {
    const out = update({ _id: 1, m: 1, a: 1 }, { $set: { z: 1, b: 1, m: 2 } });
    assert.deepEqual(Object.keys(out), ['_id', 'm', 'a', 'b', 'z']);
  });

  test('the input document is never modified', () => {
    const doc = { _id: 1, sub: { a: 1 }, list: [1] };
    update(doc, { $set: { 'sub.b': 2 }, $push: { list: 2 } });
    assert.deepEqual(doc, { _id: 1, sub: { a: 1 }, list: [1] });
  });

  test('paths create embedded documents, pad arrays with null, refuse scalars', () => {
    assert.deepEqual(update({ _id: 1 }, { $set: { 'a.b.c': 1 } }), { _id: 1, a: { b: { c: 1 } } });
    assert.deepEqual(update({ _id: 1, arr: [0] }, { $set: { 'arr.2': 5 } }), { _id: 1, arr: [0, null, 5] });
    assert.equal(codeOf(() => update({ _id: 1, a: 5 }, { $set: { 'a.b': 1 } })), 28);
    assert.equal(codeOf(() => update({ _id: 1, a: null }, { $set: { 'a.b': 1 } })), 28);
    assert.deepEqual(update({ _id: 1, arr: [1, 2] }, { $unset: { 'arr.0': '' } }), { _id: 1, arr: [null, 2] });
  });

  test('$rename, $bit, $min/$max across types, $addToSet of documents', () => {
    assert.deepEqual(update({ _id: 1, a: { b: 1 } }, { $rename: { 'a.b': 'c' } }), { _id: 1, a: {}, c: 1 });
    const bits = update({ _id: 1, f: new Int32(5) }, { $bit: { f: { and: new Int32(4), or: new Int32(2) } } });
    assert.ok(bits.f instanceof Int32 && bits.f.value === 6);
    assert.deepEqual(update({ _id: 1, v: 'str' }, { $min: { v: 5 } }), { _id: 1, v: 5 }, 'numbers sort before strings');
    const set = update({ _id: 1, s: [{ a: 1, b: 2 }] }, { $addToSet: { s: { $each: [{ a: 1, b: 2 }, { b: 2, a: 1 }] } } });
    assert.equal(set.s.length, 2, 'field order makes documents different');
  });

  test('conflicts, bad operators and immutable _id', () => {
    assert.equal(codeOf(() => compileUpdate({ $set: { 'a.b': 1 }, $unset: { a: '' } })), 40);
    assert.equal(codeOf(() => compileUpdate({ $set: { a: 1 }, $rename: { b: 'a' } })), 40);
    assert.equal(codeOf(() => compileUpdate({ $set: { '': 1 } })), 56);
    assert.equal(codeOf(() => compileUpdate({ $set: 1 })), 9);
    assert.equal(codeOf(() => compileUpdate({ a: 1, $set: { b: 1 } })), 52);
    assert.equal(codeOf(() => compileUpdate([{ $match: {} }])), 72);
    assert.equal(codeOf(() => update({ _id: 1 }, { $unset: { _id: '' } })), 66);
    assert.equal(codeOf(() => update({ _id: 1 }, { $set: { x: 1 } }, [{ 'y.a': 1 }])), 9, 'unused array filter');
  });

  test('positional $ uses the index the query matched', () => {
    const doc = { _id: 1, a: [{ k: 1, v: 0 }, { k: 2, v: 0 }] };
    const matcher = compileFilter({ 'a.k': 2 });
    assert.equal(positionalIndex(doc, matcher.plainFilter, 'a'), 1);
    assert.equal(positionalIndex(doc, compileFilter({ a: { $elemMatch: { k: 1 } } }).plainFilter, 'a'), 0);
    assert.equal(positionalIndex(doc, compileFilter({ b: 1 }).plainFilter, 'a'), undefined);
    const out = update(doc, { $set: { 'a.$.v': 9 } }, undefined, (path) => positionalIndex(doc, matcher.plainFilter, path));
    assert.deepEqual(out.a, [{ k: 1, v: 0 }, { k: 2, v: 9 }]);
  });

  test('upsert documents: _id first, filter equalities, generated ObjectId', () => {
    const doc = upsertDocument(compileUpdate({ $inc: { n: 1 } }), { b: 1, _id: 7, 'c.d': 'x', e: { $gt: 1 } }, {});
    assert.deepEqual(doc, { _id: 7, b: 1, c: { d: 'x' }, n: 1 });
    const generated = upsertDocument(compileUpdate({ v: 1 }), { k: 1 }, {});
    assert.ok(generated._id instanceof ObjectId);
    assert.deepEqual(Object.keys(generated), ['_id', 'v']);
  });
});

describe('update growth bound', () => {
  test('no update grows a document by more than its growth bound; array-wide and index paths have none', () => {
    const before: Document = { _id: 1, i: new Int32(2147483647), d: new Double(1), s: 'x', arr: [1, 2], sub: { a: 1 }, list: ['a'] };
    const updates: Document[] = [
      { $set: { 'new.deep.path': 'value', s: 'a much longer string than before' } },
      { $inc: { i: new Int32(1), missing: Decimal128.fromString('1.5') }, $mul: { other: Long.fromNumber(3) } },
      { $push: { arr: { $each: [{ k: 'v' }, 'str', Long.fromNumber(9)] }, fresh: 1 } },
      { $addToSet: { list: { $each: ['b', 'c', 'a'] } }, $currentDate: { when: true, ts: { $type: 'timestamp' } } },
      { $rename: { s: 'renamed.into.somewhere' }, $min: { newMin: 'abc' }, $max: { d: new Double(5) } },
      { $bit: { flags: { or: new Int32(5) } }, $unset: { sub: '' }, $setOnInsert: { ignored: 'x'.repeat(100) } },
      { $set: { 'sub.$': 5 } },
    ];
    for (const u of updates) {
      const compiled = compileUpdate(u);
      assert.ok(compiled.kind === 'operators');
      assert.ok(Number.isFinite(compiled.growthBound), JSON.stringify(u));
      const positional = u.$set?.['sub.$'] !== undefined ? () => 0 : undefined;
      let after: Document;
      try {
        after = applyUpdate(compiled, before, { isUpsertInsert: false, positional }, compileArrayFilters(undefined, compiled));
      } catch {
        continue; // not applicable to this document
      }
      const growth = BSON.calculateObjectSize(after) - BSON.calculateObjectSize(before);
      assert.ok(growth <= compiled.growthBound, `${JSON.stringify(u)} grew ${growth} > ${compiled.growthBound}`);
    }
    for (const u of [{ $set: { 'arr.$[]': 1 } }, { $set: { 'arr.$[e]': 1 } }, { $set: { 'arr.100': 1 } }, { $inc: { 'arr.5': 1 } }]) {
      const compiled = compileUpdate(u);
      assert.equal(compiled.kind === 'operators' && compiled.growthBound, Infinity, JSON.stringify(u));
    }
  });
});

describe('store and cursors', () => {
  test('_id lookups do not scan; other filters do', () => {
    const store = new Store();
    const { collection } = store.ensureCollection('db', 'c');
    for (let i = 0; i < 100; i++) collection.insert({ _id: new Int32(i), v: i % 10 });
    assert.deepEqual(
      selectRecords(collection, compileFilter({ _id: Long.fromNumber(42) })).map((r) => r.plain._id),
      [42],
    );
    assert.equal(compileFilter({ _id: 5 }).idKeys?.length, 1);
    assert.equal(compileFilter({ _id: { $gt: 5 } }).idKeys, undefined);
    assert.equal(selectRecords(collection, compileFilter({ v: 3 })).length, 10);
  });

  test('memory budget counts stored bytes and releases them on delete and drop', () => {
    const store = new Store({ maxMemoryBytes: 1000 });
    const { collection } = store.ensureCollection('db', 'c');
    const record = collection.insert({ _id: 1, s: 'x'.repeat(500) });
    assert.ok(store.usedBytes > 500);
    assert.equal(codeOf(() => collection.insert({ _id: 2, s: 'x'.repeat(500) })), 146);
    assert.equal(collection.count, 1, 'the refused document is not stored');
    const smaller = collection.replace(record, { _id: 1, s: 'x'.repeat(100) });
    assert.equal(store.usedBytes, BSON.calculateObjectSize(smaller.doc), 'a shrinking update gives bytes back once');
    collection.remove(smaller);
    assert.equal(store.usedBytes, 0);
    collection.insert({ _id: 3, s: 'x'.repeat(500) });
    store.dropDatabase('db');
    assert.equal(store.usedBytes, 0);
    assert.throws(() => new Store({ maxMemoryBytes: -1 }), /maxMemoryBytes/);
  });

  test('cursor manager: batches, session kill, reaping and a timer that does not outlive close()', () => {
    const cursors = new CursorManager({ maxCursors: 10, idleTimeoutMS: 50 });
    const docs = Array.from({ length: 5 }, (_, i) => ({ i }));
    const first = cursors.firstBatch({ ns: 'db.c', docs, batchSize: 2, lsidKey: 's1' });
    assert.equal(first.cursor.firstBatch.length, 2);
    assert.ok(first.cursor.id instanceof Long && !first.cursor.id.isZero());
    const key = first.cursor.id.toBigInt();
    assert.equal(cursors.getMore(key, 'db.c', 2).cursor.nextBatch.length, 2);
    assert.equal(cursors.killSessionCursors('s1'), 1);
    assert.equal(codeOf(() => cursors.getMore(key, 'db.c', 2)), 43);
    const second = cursors.firstBatch({ ns: 'db.c', docs, batchSize: 1 });
    assert.equal(cursors.reap(Date.now() + 60), 1);
    assert.equal(cursors.size, 0);
    assert.ok(second.cursor.id instanceof Long);
    cursors.firstBatch({ ns: 'db.c', docs, batchSize: 1 });
    cursors.close();
    assert.equal(cursors.size, 0);
    assert.throws(() => new CursorManager({ maxCursors: -1, idleTimeoutMS: 1 }), /maxCursors/);
  });
});

describe('cursor idle timeout', () => {
  test('the reaper timer closes cursors idle for idleTimeoutMS by the injected clock; use keeps one alive', () => {
    mock.timers.enable({ apis: ['setInterval'] });
    let now = 1_000_000;
    const cursors = new CursorManager({ maxCursors: 10, idleTimeoutMS: 1000, now: () => now });
    try {
      const docs = Array.from({ length: 6 }, (_, i) => ({ i }));
      const idle = cursors.firstBatch({ ns: 'db.c', docs, batchSize: 1 }).cursor.id.toBigInt();
      const used = cursors.firstBatch({ ns: 'db.c', docs, batchSize: 1 }).cursor.id.toBigInt();
      const pinned = cursors.firstBatch({ ns: 'db.c', docs, batchSize: 1, noCursorTimeout: true }).cursor.id.toBigInt();
      now += 600;
      mock.timers.tick(250); // the reaper runs every idleTimeoutMS / 4
      assert.equal(cursors.size, 3);
      cursors.getMore(used, 'db.c', 1); // last used at +600
      now += 500; // +1100: `idle` has been idle 1100 ms, `used` 500 ms
      mock.timers.tick(250);
      assert.equal(cursors.size, 2);
      assert.equal(codeOf(() => cursors.getMore(idle, 'db.c', 1)), 43);
      now += 600;
      mock.timers.tick(250);
      assert.equal(codeOf(() => cursors.getMore(used, 'db.c', 1)), 43);
      assert.equal(cursors.getMore(pinned, 'db.c', 1).cursor.nextBatch.length, 1, 'noCursorTimeout cursors never time out');
      assert.equal(cursors.totalTimedOut, 2);
    } finally {
      cursors.close();
      mock.timers.reset();
    }
  });
});

describe('pre-encoded find reply', () => {
  test('matches what BSON.serialize produces for the same reply', () => {
    const store = new Store();
    const { collection } = store.ensureCollection('db', 'c');
    const record = collection.insert({ _id: new ObjectId(), n: new Int32(1), l: Long.fromNumber(2), s: 'é', sub: { d: new Double(1.5) } });
    const ns = Buffer.from(collection.ns);
    for (const doc of [record.doc, undefined]) {
      const bytes = encodeSingleBatchReply(ns, doc === undefined ? undefined : recordBytes(record));
      const expected = BSON.serialize({ cursor: { firstBatch: doc ? [doc] : [], id: Long.fromInt(0), ns: collection.ns }, ok: new Double(1) });
      assert.deepEqual(Buffer.from(bytes), Buffer.from(expected));
    }
    assert.equal(record.size, recordBytes(record).length);
  });
});

describe('field names', () => {
  test('a field named __proto__ is stored as data, never as a prototype', () => {
    const store = new Store();
    const { collection } = store.ensureCollection('db', 'c');
    const doc = BSON.deserialize(BSON.serialize({ _id: 1, ['__proto__' as string]: { x: 1 } }), { promoteValues: false });
    const record = collection.insert(doc);
    assert.equal(Object.getPrototypeOf(record.plain), Object.prototype);
    assert.deepEqual(Object.keys(record.plain), ['_id', '__proto__']);
    const updated = update(record.doc, { $set: { '__proto__.y': new Int32(2), z: 1 } });
    assert.equal(Object.getPrototypeOf(updated), Object.prototype);
    assert.deepEqual(Object.keys(updated), ['_id', '__proto__', 'z']);
    assert.ok(!('y' in {}), 'Object.prototype untouched');
  });
});
