import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { Long, UUID } from 'bson';
import { MongoClient, MongoServerError, type CommandFailedEvent, type CommandSucceededEvent } from 'mongodb';
import { startReplicaSet, startServer, type ReplicaSet } from '../../src/server/index.js';
import { replicaMemberOf } from '../../src/server/topology/state.js';
import { RetryableWrites } from '../../src/server/topology/retryable.js';
import { RawClient } from '../helpers/raw.js';

// The embedded replica set through the real driver: discovery, replication, stepdown, retryable
// writes, write concern and replication lag.

async function withSet(options: Parameters<typeof startReplicaSet>[0], fn: (rs: ReplicaSet) => Promise<void>): Promise<void> {
  const rs = await startReplicaSet(options);
  try {
    await fn(rs);
  } finally {
    await rs.stop();
  }
}

async function withClient(uri: string, options: ConstructorParameters<typeof MongoClient>[1], fn: (client: MongoClient) => Promise<void>): Promise<void> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 5000, ...options });
  try {
    await fn(client);
  } finally {
    await client.close();
  }
}

const direct = (rs: ReplicaSet, i: number) => `mongodb://${rs.members[i].core.address}/?directConnection=true`;

/** Polls a server-side condition that has no event (an operation being inside the server). */
async function until(condition: () => boolean, what: string, timeoutMS = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

test('members answer hello as one replica set; the driver discovers the primary and secondaries', async () => {
  await withSet({ nodes: 3 }, async (rs) => {
    assert.match(rs.uri, /^mongodb:\/\/(127\.0\.0\.1:\d+,){2}127\.0\.0\.1:\d+\/\?replicaSet=rs0$/);
    const hosts = rs.members.map((m) => m.core.address);
    for (const [i, member] of rs.members.entries()) {
      await withClient(direct(rs, i), {}, async (client) => {
        const hello = await client.db('admin').command({ hello: 1 });
        assert.equal(hello.setName, 'rs0');
        assert.deepEqual(hello.hosts, hosts);
        assert.equal(hello.me, member.core.address);
        assert.equal(hello.primary, hosts[0]);
        assert.equal(hello.isWritablePrimary, i === 0);
        assert.equal(hello.secondary, i !== 0);
        assert.equal(hello.electionId !== undefined, i === 0, 'electionId only on the primary');
        assert.ok(hello.lastWrite.lastWriteDate instanceof Date);
        assert.equal('topologyVersion' in hello, false);
      });
    }
    await withClient(rs.uri, {}, async (client) => {
      const types = new Map<string, string>();
      client.on('serverDescriptionChanged', (e) => types.set(e.address, e.newDescription.type));
      const status = await client.db('admin').command({ replSetGetStatus: 1 });
      assert.deepEqual(status.members.map((m: { stateStr: string }) => m.stateStr), ['PRIMARY', 'SECONDARY', 'SECONDARY']);
      assert.deepEqual([...types.entries()].sort(), hosts.map((h, i) => [h, i === 0 ? 'RSPrimary' : 'RSSecondary']).sort());
    });
  });
});

test('writes reach every member before the primary replies; secondaries refuse writes (10107) and un-flagged reads (13435)', async () => {
  await withSet({ nodes: 3 }, async (rs) => {
    await withClient(rs.uri, {}, async (client) => {
      await client.db('app').collection('users').insertOne({ name: 'ada' });
      // Upserts generate their _id on the primary; every member must store the same document.
      await client.db('app').collection('users').updateOne({ name: 'bob' }, { $set: { n: 1 } }, { upsert: true });
      const onPrimary = await client.db('app').collection('users').find().sort({ name: 1 }).toArray();
      await withClient(`${rs.uri}&readPreference=secondary`, {}, async (secondaryClient) => {
        const onSecondary = await secondaryClient.db('app').collection('users').find().sort({ name: 1 }).toArray();
        assert.deepEqual(onSecondary, onPrimary);
      });
    });
    await withClient(direct(rs, 1), {}, async (client) => {
      await assert.rejects(client.db('app').collection('users').insertOne({ name: 'eve' }), (e: unknown) => e instanceof MongoServerError && e.code === 10107);
      assert.equal(await client.db('app').collection('users').countDocuments(), 2, 'direct connection reads carry secondaryOk');
    });
    const raw = await RawClient.connect(rs.members[2].port);
    try {
      raw.command({ find: 'users', $db: 'app' });
      const refused = (await raw.nextReply())!.doc;
      assert.equal(refused.code, 13435);
      assert.equal(refused.codeName, 'NotPrimaryNoSecondaryOk');
      raw.command({ find: 'users', $db: 'app', $readPreference: { mode: 'secondaryPreferred' } });
      assert.equal((await raw.nextReply())!.doc.cursor.firstBatch.length, 2);
    } finally {
      raw.close();
    }
  });
});

test('stepdown while 20 writers are busy: retryable writes lose and duplicate nothing', async () => {
  await withSet({ nodes: 3, latencyMS: 2 }, async (rs) => {
    await withClient(rs.uri, { maxPoolSize: 30, monitorCommands: true }, async (client) => {
      const stateChangeErrors: number[] = [];
      client.on('commandFailed', (e: CommandFailedEvent) => {
        const code = (e.failure as { code?: number }).code;
        if (code === 11602 || code === 10107) stateChangeErrors.push(code);
      });
      const coll = client.db('app').collection<{ writer: number; seq: number }>('events');
      const oldPrimary = rs.primary()!;
      const oldElectionId = (await client.db('admin').command({ hello: 1 })).electionId;
      let acknowledged = 0;
      let stepDown: Promise<unknown> | undefined;
      await Promise.all(
        Array.from({ length: 20 }, async (_, writer) => {
          for (let seq = 0; seq < 10; seq++) {
            await coll.insertOne({ writer, seq });
            if (++acknowledged === 60) stepDown = rs.stepDown();
          }
        }),
      );
      await stepDown;
      assert.notEqual(rs.primary(), oldPrimary);
      assert.ok(stateChangeErrors.length > 0, 'the stepdown interrupted writes, which the driver retried');
      assert.equal(await coll.countDocuments(), 200);
      const distinct = await coll.aggregate([{ $group: { _id: { w: '$writer', s: '$seq' } } }, { $count: 'n' }]).toArray();
      assert.equal(distinct[0].n, 200, 'no duplicates');
      const newHello = await client.db('admin').command({ hello: 1 });
      assert.ok(Buffer.from(newHello.electionId.id).compare(Buffer.from(oldElectionId.id)) > 0, 'higher electionId');
      for (let i = 0; i < 3; i++) {
        await withClient(direct(rs, i), {}, async (member) => assert.equal(await member.db('app').collection('events').countDocuments(), 200, `member ${i}`));
      }
    });
  });
});

test('an in-flight write on the old primary fails with 11602; later writes there get 10107', async () => {
  await withSet({ nodes: 3, latencyMS: { default: 0, insert: 5000 } }, async (rs) => {
    const old = rs.primary()!;
    await withClient(rs.uri, { retryWrites: false }, async (client) => {
      const write = client.db('app').collection('c').insertOne({ x: 1 });
      await until(() => old.loadModel.running === 1, 'the insert to be executing');
      const t0 = Date.now();
      await rs.stepDown();
      await assert.rejects(write, (e: unknown) => e instanceof MongoServerError && e.code === 11602 && e.codeName === 'InterruptedDueToReplStateChange');
      assert.ok(Date.now() - t0 < 2000, 'interrupted at once, not after its service time');
    });
    await withClient(direct(rs, rs.members.indexOf(old)), { retryWrites: false }, async (client) => {
      await assert.rejects(client.db('app').collection('c').insertOne({ x: 2 }), (e: unknown) => e instanceof MongoServerError && e.code === 10107);
    });
    for (const member of rs.members) assert.equal(member.loadModel.running, 0);
  });
});

test('a write whose acknowledgement failed is retried by the driver and applied once (txnNumber dedupe)', async () => {
  await withSet({ nodes: 3 }, async (rs) => {
    await withClient(rs.uri, { monitorCommands: true }, async (client) => {
      const inserts: CommandSucceededEvent[] = [];
      client.on('commandSucceeded', (e) => e.commandName === 'insert' && inserts.push(e));
      rs.primary()!.failCommand({ mode: { times: 1 }, data: { failCommands: ['insert'], writeConcernError: { code: 91, errmsg: 'Replication is being shut down' } } });
      await client.db('app').collection('c').insertOne({ once: true });
      assert.equal(inserts.length, 2, 'first reply carried the writeConcernError, the retry succeeded');
      assert.deepEqual((inserts[0].reply as { errorLabels?: string[] }).errorLabels, ['RetryableWriteError']);
      assert.equal(await client.db('app').collection('c').countDocuments({ once: true }), 1);
    });
  });
});

test('replSetStepDown elects another member with a higher electionId', async () => {
  await withSet({ nodes: 3 }, async (rs) => {
    await withClient(direct(rs, 0), {}, async (client) => {
      const before = await client.db('admin').command({ hello: 1 });
      assert.equal((await client.db('admin').command({ replSetStepDown: 60 })).ok, 1);
      const after = await client.db('admin').command({ hello: 1 });
      assert.equal(after.isWritablePrimary, false);
      await assert.rejects(client.db('admin').command({ replSetStepDown: 60 }), (e: unknown) => e instanceof MongoServerError && e.code === 10107);
      await until(() => rs.primary() !== undefined, 'the election');
      assert.notEqual(rs.primary(), rs.members[0]);
      const newPrimary = rs.members.indexOf(rs.primary()!);
      await withClient(direct(rs, newPrimary), {}, async (other) => {
        const hello = await other.db('admin').command({ hello: 1 });
        assert.equal(hello.isWritablePrimary, true);
        assert.ok(Buffer.from(hello.electionId.id).compare(Buffer.from(before.electionId.id)) > 0);
      });
    });
  });
});

test('stepDown({ electionDelayMS, newPrimary }): no primary while electing, then the chosen member', async () => {
  await withSet({ nodes: 3 }, async (rs) => {
    await withClient(direct(rs, 1), {}, async (client) => {
      const election = rs.stepDown({ electionDelayMS: 150, newPrimary: 2 });
      assert.equal(rs.primary(), undefined);
      const during = await client.db('admin').command({ hello: 1 });
      assert.equal('primary' in during, false, 'no member claims to be primary during the election');
      assert.equal(await election, rs.members[2]);
      const after = await client.db('admin').command({ hello: 1 });
      assert.equal(after.primary, rs.members[2].core.address);
    });
  });
});

test('replicationLagMS: w:1 returns before the secondaries have the write; w:majority waits for it', async () => {
  await withSet({ nodes: 3, replicationLagMS: 150 }, async (rs) => {
    await withClient(rs.uri, {}, async (client) => {
      const coll = client.db('app').collection('lag');
      await coll.insertOne({ k: 1 }, { writeConcern: { w: 1 } });
      await withClient(direct(rs, 1), {}, async (secondary) => {
        assert.equal(await secondary.db('app').collection('lag').countDocuments(), 0, 'not replicated yet');
        const t0 = Date.now();
        await coll.insertOne({ k: 2 }, { writeConcern: { w: 'majority' } });
        assert.ok(Date.now() - t0 >= 140, `w:majority waited ${Date.now() - t0} ms`);
        assert.equal(await secondary.db('app').collection('lag').countDocuments(), 2);
      });
      const err = await coll.insertOne({ k: 3 }, { writeConcern: { w: 'majority', wtimeoutMS: 20 } }).catch((e: unknown) => e);
      assert.ok(err instanceof Error && (err as { code?: number }).code === 64, `wtimeout gives a write concern error, got ${String(err)}`);
    });
  });
});

test('multi-document transactions are refused clearly (never silently ignored)', async () => {
  await withSet({ nodes: 1 }, async (rs) => {
    await withClient(rs.uri, {}, async (client) => {
      const session = client.startSession();
      try {
        const err = await session
          .withTransaction(async () => {
            await client.db('app').collection('t').insertOne({ inTxn: true }, { session });
          })
          .catch((e: unknown) => e);
        assert.ok(err instanceof MongoServerError, String(err));
        assert.equal(err.code, 238);
        assert.match(err.message, /transactions are not supported/);
      } finally {
        await session.endSession();
      }
      assert.equal(await client.db('app').collection('t').countDocuments(), 0);
    });
  });
});

test('a retryable write applied on the old primary whose reply was lost is not applied again on the new primary', async () => {
  // mongod's onPrimaryTransactionalWrite fail point: the write is applied (and replicated), then
  // the connection drops before the reply. The driver retries (same lsid and txnNumber) once a
  // primary is known again; here the primary steps down in between, so the retry reaches another
  // member, which must answer from the set-wide retryable-write table instead of applying it again.
  await withSet({ nodes: 3 }, async (rs) => {
    await withClient(rs.uri, { monitorCommands: true, heartbeatFrequencyMS: 500 }, async (client) => {
      const db = client.db('app');
      await db.collection('counters').insertOne({ _id: 'c', n: 0 } as never);
      const attempts: string[] = [];
      let election: Promise<unknown> | undefined;
      client.on('commandStarted', (e) => (e.commandName === 'insert' || e.commandName === 'update') && attempts.push(e.address));
      client.on('commandFailed', (e) => {
        if ((e.commandName === 'insert' || e.commandName === 'update') && election === undefined) election = rs.stepDown();
      });
      const failNextWrite = () => client.db('admin').command({ configureFailPoint: 'onPrimaryTransactionalWrite', mode: { times: 1 } });

      const first = rs.primary()!;
      await failNextWrite();
      // forceServerObjectId: the server picks the _id, so applying the insert twice would store two documents.
      await db.collection('events').insertOne({ v: 'once' }, { forceServerObjectId: true });
      await election;
      assert.deepEqual(attempts, [first.core.address, rs.primary()!.core.address], 'sent to the old primary, retried on the new one');
      assert.notEqual(rs.primary(), first);
      assert.equal(await db.collection('events').countDocuments({ v: 'once' }), 1, 'applied exactly once');

      attempts.length = 0;
      election = undefined;
      const second = rs.primary()!;
      await failNextWrite();
      await db.collection('counters').updateOne({ _id: 'c' } as never, { $inc: { n: 1 } });
      await election;
      assert.deepEqual(attempts, [second.core.address, rs.primary()!.core.address]);
      assert.equal((await db.collection('counters').findOne({ _id: 'c' } as never))?.n, 1, '$inc applied exactly once');
    });
  });
});

test('raw retryable write: applied on the old primary, the same (lsid, txnNumber) on the new primary answers n: 1 without applying', async () => {
  await withSet({ nodes: 3 }, async (rs) => {
    const lsid = { id: new UUID().toBinary() };
    const cmd = { insert: 'c', documents: [{ v: 'a' }], lsid, txnNumber: Long.fromNumber(1), $db: 'app' };
    const oldPrimary = await RawClient.connect(rs.primary()!.port);
    let newPrimary: RawClient | undefined;
    try {
      oldPrimary.command(cmd);
      assert.equal((await oldPrimary.nextReply())!.doc.n, 1);
      newPrimary = await RawClient.connect((await rs.stepDown()).port);
      newPrimary.command(cmd);
      const retry = (await newPrimary.nextReply())!.doc;
      assert.deepEqual([retry.ok, retry.n], [1, 1]);
      newPrimary.command({ count: 'c', $db: 'app' });
      assert.equal((await newPrimary.nextReply())!.doc.n, 1, 'the document the server gave an _id to exists once');
      newPrimary.command({ ...cmd, txnNumber: Long.fromNumber(0) });
      assert.equal((await newPrimary.nextReply())!.doc.code, 225, 'an older txnNumber: TransactionTooOld');
    } finally {
      oldPrimary.close();
      newPrimary?.close();
    }
  });
});

test('txnNumber needs an lsid (InvalidOptions, 72, before anything runs); on a standalone it is IllegalOperation (20)', async () => {
  await withSet({ nodes: 1 }, async (rs) => {
    const raw = await RawClient.connect(rs.members[0].port);
    try {
      raw.command({ insert: 'c', documents: [{ _id: 9 }], txnNumber: Long.fromNumber(5), $db: 'app' });
      const refused = (await raw.nextReply())!.doc;
      assert.deepEqual([refused.code, refused.codeName, refused.errmsg], [72, 'InvalidOptions', 'Transaction number requires a session ID to also be specified']);
      raw.command({ count: 'c', $db: 'app' });
      assert.equal((await raw.nextReply())!.doc.n, 0, 'not executed');
      raw.command({ insert: 'c', documents: [{ _id: 9 }], lsid: { id: new UUID().toBinary() }, txnNumber: Long.fromNumber(-1), $db: 'app' });
      assert.equal((await raw.nextReply())!.doc.code, 72, 'negative txnNumber');
    } finally {
      raw.close();
    }
  });
  const standalone = await startServer();
  const raw = await RawClient.connect(standalone.port);
  try {
    raw.command({ insert: 'c', documents: [{ _id: 1 }], txnNumber: Long.fromNumber(1), $db: 'app' });
    assert.equal((await raw.nextReply())!.doc.code, 72, 'the missing lsid is reported first, as on mongod');
    raw.command({ insert: 'c', documents: [{ _id: 1 }], lsid: { id: new UUID().toBinary() }, txnNumber: Long.fromNumber(1), $db: 'app' });
    assert.equal((await raw.nextReply())!.doc.code, 20);
  } finally {
    raw.close();
    await standalone.stop();
  }
});

test('endSessions forgets the sessions in the set-wide retryable-write table (the driver sends it on close)', async () => {
  await withSet({ nodes: 3 }, async (rs) => {
    const table = replicaMemberOf(rs.members[0].core)!.set.retryableWrites;
    const client = new MongoClient(rs.uri, { serverSelectionTimeoutMS: 5000 });
    try {
      const coll = client.db('app').collection('c');
      await Promise.all([coll.insertOne({ a: 1 }), coll.insertOne({ a: 2 })]);
      assert.ok(table.size >= 1, `sessions recorded: ${table.size}`);
    } finally {
      await client.close();
    }
    await until(() => table.size === 0, 'endSessions to reach the server'); // driver 7 sends it unacknowledged
  });
});

test('the retryable-write table is bounded: least recently used and idle sessions are forgotten, running ones kept', async () => {
  let now = 0;
  const table = new RetryableWrites({ maxSessions: 2, idleTimeoutMS: 1000, now: () => now });
  let applied = 0;
  const write = async () => ({ n: ++applied, ok: 1 });
  await table.run('s1', 1, write);
  await table.run('s2', 1, write);
  await table.run('s1', 1, write); // a replay: s1 becomes the most recently used
  await table.run('s3', 1, write);
  assert.equal(table.size, 2);
  assert.equal(applied, 3);
  await table.run('s1', 1, write);
  assert.equal(applied, 3, 's1 kept (recently used): replayed');
  await table.run('s2', 1, write);
  assert.equal(applied, 4, 's2 was evicted: its retry executes');
  now += 5000; // every session idle past idleTimeoutMS
  let release!: () => void;
  const running = table.run('s4', 1, () => new Promise<{ ok: number }>((resolve) => (release = () => resolve({ ok: 1 }))));
  await table.run('s5', 1, write);
  assert.equal(table.size, 2, 'idle sessions dropped; s4 (running) and s5 kept');
  release();
  await running;
  await table.run('s4', 1, async () => assert.fail('s4 must be replayed'));
});

test('startReplicaSet on 0.0.0.0 advertises a host clients can dial and warns once, after binding', async () => {
  const warnings: Error[] = [];
  const onWarning = (w: Error & { code?: string }) => w.code === 'POOLKIT_INSECURE_BIND' && warnings.push(w);
  process.on('warning', onWarning);
  try {
    await withSet({ nodes: 3, host: '0.0.0.0' }, async (rs) => {
      for (const member of rs.members) assert.equal(member.core.address, `${os.hostname()}:${member.port}`);
      assert.ok(rs.uri.startsWith(`mongodb://${os.hostname()}:`), rs.uri);
      await withClient(rs.uri, {}, async (client) => {
        const hello = await client.db('admin').command({ hello: 1 });
        assert.deepEqual(hello.hosts, rs.members.map((m) => `${os.hostname()}:${m.port}`));
        await client.db('app').collection('c').insertOne({ reachable: true });
      });
      await withClient(direct(rs, 1), {}, async (client) => {
        const log = await client.db('admin').command({ getLog: 'startupWarnings' });
        assert.ok(log.log.some((line: string) => line.includes('without authentication or TLS')), 'each member logs it');
      });
    });
    await withSet({ nodes: 2, host: '0.0.0.0', advertiseHost: '127.0.0.1' }, async (rs) => {
      assert.match(rs.uri, /^mongodb:\/\/127\.0\.0\.1:\d+,127\.0\.0\.1:\d+\/\?replicaSet=rs0$/);
    });
    await new Promise((resolve) => setImmediate(resolve)); // process warnings are emitted on the next tick
    assert.equal(warnings.length, 2, 'one process warning per replica set, not per member');

    // A bind that fails warns about nothing.
    const taken = await startServer({ host: '0.0.0.0' });
    await new Promise((resolve) => setImmediate(resolve));
    warnings.length = 0;
    try {
      await assert.rejects(startReplicaSet({ nodes: 1, host: '0.0.0.0', port: taken.port }), /EADDRINUSE/);
      await assert.rejects(startServer({ host: '0.0.0.0', port: taken.port }), /EADDRINUSE/);
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(warnings.length, 0);
    } finally {
      await taken.stop();
    }
  } finally {
    process.off('warning', onWarning);
  }
});
