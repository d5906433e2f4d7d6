import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MongoClient, MongoServerError, type Document } from 'mongodb';
import { startServer, type CommandTable } from '../../src/server/index.js';

// The load model through the real driver: capacity, queueing, maxTimeMS, the handshake delay,
// interruption (disconnect, stop) and the server limits announced in hello.

/** Polls a server-side condition that has no event (an operation being inside the server). */
async function until(condition: () => boolean, what: string, timeoutMS = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(2);
  }
}

/**
 * A `work` command whose handler counts, independently of the load model's own counters, how many
 * handlers run at once and in total. It holds its slot for `holdMS` more (async work of its own).
 */
function workCommand(holdMS = 0) {
  const seen = { ran: 0, inside: 0, peak: 0 };
  const commands: CommandTable = {
    work: {
      handler: async () => {
        seen.ran++;
        seen.inside++;
        seen.peak = Math.max(seen.peak, seen.inside);
        if (holdMS > 0) await delay(holdMS);
        seen.inside--;
        return { ok: 1 };
      },
    },
  };
  return { seen, commands };
}

const work = (client: MongoClient, extra: Document = {}) => client.db('admin').command({ work: 1, ...extra });

test('at most maxConcurrentOps operations execute at once (counted by the handlers themselves); the rest queue', async () => {
  const { seen, commands } = workCommand(15);
  const server = await startServer({ latencyMS: 10, maxConcurrentOps: 3, commands });
  const client = new MongoClient(server.uri, { maxPoolSize: 20 });
  try {
    await work(client);
    server.loadModel.resetStats();
    seen.peak = 0;
    await Promise.all(Array.from({ length: 12 }, () => work(client)));
    assert.equal(seen.peak, 3, 'never more than 3 handlers at once, and the capacity was used');
    assert.equal(seen.ran, 13);
    const stats = server.loadModel.stats;
    assert.ok(stats.maxObservedQueued >= 1, `operations queued (max ${stats.maxObservedQueued})`);
    assert.equal(stats.completed, 12);
  } finally {
    await client.close();
    await server.stop();
  }
});

test('maxTimeMS expires while queued (MaxTimeMSExpired, 50); hello and runtime changes are not held up', async () => {
  const server = await startServer();
  const client = new MongoClient(server.uri, { maxPoolSize: 5 });
  try {
    // Two pooled connections first, so that nothing below waits for a handshake.
    await Promise.all([client.db('admin').command({ ping: 1 }), client.db('admin').command({ ping: 1 })]);
    server.loadModel.set({ latencyMS: 1500, maxConcurrentOps: 1 });
    let blockerDone = false;
    const blocker = client.db('admin').command({ ping: 1 }).then(() => (blockerDone = true));
    await until(() => server.loadModel.running === 1, 'the blocker to hold the only slot');
    const err = await client
      .db('admin')
      .command({ ping: 1, maxTimeMS: 40 })
      .then(
        () => null,
        (e: unknown) => e,
      );
    assert.ok(err instanceof MongoServerError, String(err));
    assert.equal(err.code, 50);
    assert.equal(err.codeName, 'MaxTimeMSExpired');
    assert.equal(blockerDone, false, 'expired at its deadline, while the only slot was still taken');
    assert.equal(server.loadModel.stats.timedOut, 1);
    // Handshake/monitoring commands are exempt: hello is answered while the slot is taken.
    const hello = await client.db('admin').command({ hello: 1 });
    assert.equal(hello.isWritablePrimary, true);
    assert.equal(blockerDone, false, 'hello did not wait for the slot');
    await blocker;
    // Runtime changes through the JS handle apply to the next operation.
    server.loadModel.set({ latencyMS: 5000 });
    server.loadModel.set({ latencyMS: 0, maxConcurrentOps: 0 });
    const t2 = Date.now();
    await client.db('admin').command({ ping: 1 });
    // Generous bound (the machine may be busy): well under the 5000 ms the replaced setting would take.
    assert.ok(Date.now() - t2 < 2500, 'the new settings apply at once');
  } finally {
    await client.close();
    await server.stop();
  }
});

test('maxTimeMS must be a non-negative integer (BadValue, 2, as mongod)', async () => {
  const server = await startServer({ latencyMS: 1 });
  const client = new MongoClient(server.uri);
  try {
    for (const maxTimeMS of [-5, 1.5, 2 ** 31]) {
      await assert.rejects(client.db('admin').command({ ping: 1, maxTimeMS }), (e: unknown) => e instanceof MongoServerError && e.code === 2 && e.codeName === 'BadValue', String(maxTimeMS));
    }
    await assert.rejects(client.db('app').collection('c').findOne({}, { maxTimeMS: -1 }), (e: unknown) => e instanceof MongoServerError && e.code === 2);
    assert.deepEqual(await client.db('admin').command({ ping: 1, maxTimeMS: 0 }), { ok: 1 }, '0 means no limit');
  } finally {
    await client.close();
    await server.stop();
  }
});

test('handshakeDelayMS slows connection establishment, not later commands', async () => {
  const server = await startServer({ handshakeDelayMS: 600 });
  const client = new MongoClient(server.uri, { maxPoolSize: 1 });
  const durations: number[] = [];
  client.on('connectionReady', (e) => durations.push(e.durationMS));
  try {
    await client.db('admin').command({ ping: 1 });
    const t0 = Date.now();
    await client.db('admin').command({ ping: 1 });
    // Relative bound: half the delay a second handshake would cost, so a busy machine does not fail it.
    assert.ok(Date.now() - t0 < 300, 'second command on the same connection is not delayed');
    assert.equal(durations.length, 1);
    assert.ok(durations[0] >= 590, `connectionReady.durationMS = ${durations[0]}`);
  } finally {
    await client.close();
    await server.stop();
  }
});

test('a client that disconnects gives up its queue place and its slot; its operations never run', async () => {
  const { seen, commands } = workCommand();
  const server = await startServer({ latencyMS: 5000, maxConcurrentOps: 1, commands });
  const holder = new MongoClient(server.uri, { maxPoolSize: 1 });
  const waiter = new MongoClient(server.uri, { maxPoolSize: 1 });
  const next = new MongoClient(server.uri, { maxPoolSize: 1 });
  try {
    await Promise.all([holder.connect(), waiter.connect(), next.connect()]);
    const held = work(holder).catch((e: unknown) => e);
    await until(() => server.loadModel.running === 1, 'the first operation to hold the slot');
    const queued = work(waiter).catch((e: unknown) => e);
    await until(() => server.loadModel.queued === 1, 'the second operation to queue');

    await waiter.close(true); // its socket closes: the queued operation leaves the queue
    await until(() => server.loadModel.queued === 0, 'the queued operation to be dropped');
    assert.equal(server.loadModel.stats.aborted, 1);
    assert.equal(server.loadModel.running, 1, 'the holder is unaffected');

    await holder.close(true); // in its service time: the rest of it is abandoned, the slot freed at once
    await until(() => server.loadModel.running === 0, 'the in-service operation to give up its slot', 2500);
    assert.equal(server.loadModel.stats.aborted, 2);
    assert.equal(server.loadModel.stats.completed, 0);
    server.loadModel.set({ latencyMS: 0 });
    assert.deepEqual(await work(next), { ok: 1 }, 'the slot went to the next client at once');
    assert.equal(seen.ran, 1, 'only the last operation ran: the abandoned ones never will');
    await Promise.all([held, queued]);
  } finally {
    await Promise.all([holder.close(), waiter.close(), next.close()]);
    await server.stop();
  }
});

test('stop() interrupts queued and in-service operations (11600): they never run, and nothing keeps the process alive', async () => {
  const { seen, commands } = workCommand();
  const server = await startServer({ latencyMS: 5000, maxConcurrentOps: 1, commands });
  const client = new MongoClient(server.uri, { maxPoolSize: 3, serverSelectionTimeoutMS: 1000 });
  try {
    await client.connect();
    const ops = Array.from({ length: 3 }, () => work(client).then(() => 'ok', (e: unknown) => e));
    await until(() => server.loadModel.running === 1 && server.loadModel.queued === 2, 'one running, two queued');
    await server.stop();
    assert.deepEqual({ ...server.loadModel.stats, maxObservedRunning: 0, maxObservedQueued: 0 }, {
      running: 0, queued: 0, maxObservedRunning: 0, maxObservedQueued: 0, completed: 0, timedOut: 0, aborted: 3,
    });
    for (const outcome of await Promise.all(ops)) assert.ok(outcome instanceof Error, `an interrupted operation fails: ${String(outcome)}`);
    assert.equal(seen.ran, 0);
  } finally {
    await client.close();
    await server.stop();
  }

  // The same in a process of its own: once stopped, no timer of the model is left to run a handler.
  const dir = mkdtempSync(join(fileURLToPath(new URL('.', import.meta.url)), '.stop-'));
  try {
    const script = join(dir, 'stop.ts');
    const entry = pathToFileURL(fileURLToPath(new URL('../../src/server/index.ts', import.meta.url))).href;
    writeFileSync(
      script,
      `import { MongoClient } from 'mongodb';
import { startServer } from '${entry}';
let ran = 0;
const server = await startServer({ latencyMS: 20000, maxConcurrentOps: 1, commands: { work: { handler: () => { ran++; return { ok: 1 }; } } } });
const client = new MongoClient(server.uri, { maxPoolSize: 3 });
await client.connect();
const ops = Promise.allSettled([1, 2, 3].map(() => client.db('admin').command({ work: 1 })));
while (server.loadModel.queued < 2) await new Promise((r) => setTimeout(r, 5));
const t0 = Date.now();
await client.close(true);
await server.stop();
await ops;
process.on('exit', () => console.log(JSON.stringify({ exitAfterMS: Date.now() - t0, ran })));
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
    const result = JSON.parse(out.trim()) as { exitAfterMS: number; ran: number };
    assert.equal(result.ran, 0);
    // Far below the 20 s service time the pending operations had left (a busy machine adds little here).
    assert.ok(result.exitAfterMS < 5000, `the process exited ${result.exitAfterMS} ms after stop()`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hello announces the configured maxMessageSizeBytes, the limit the server enforces', async () => {
  const server = await startServer({ maxMessageSizeBytes: 1_000_000 });
  const client = new MongoClient(server.uri, { retryWrites: false });
  try {
    const hello = await client.db('admin').command({ hello: 1 });
    assert.equal(hello.maxMessageSizeBytes, 1_000_000);
    const items = client.db('app').collection('big');
    await items.insertOne({ pad: 'x'.repeat(900_000) });
    // A larger message is refused without being read: the connection is closed (a network error).
    await assert.rejects(items.insertOne({ pad: 'x'.repeat(1_100_000) }), (e: unknown) => e instanceof Error && e.name === 'MongoNetworkError');
    assert.equal(await items.countDocuments(), 1);
  } finally {
    await client.close();
    await server.stop();
  }
});

test('serverStatus.opLatencies: time from arrival to reply per class, queueing for the capacity included', async () => {
  const server = await startServer({ latencyMS: 20, maxConcurrentOps: 1 });
  // Four connections open before the finds: one made on demand would send its find a handshake
  // later, after the first had left the queue (CI once measured 155 ms for that reason).
  const client = new MongoClient(server.uri, { maxPoolSize: 4, minPoolSize: 4 });
  let opened = 0;
  const fourOpen = new Promise<void>((resolve) => client.on('connectionReady', () => ++opened === 4 && resolve()));
  const status = async () => (await client.db('admin').command({ serverStatus: 1 })).opLatencies;
  try {
    const items = client.db('app').collection('items');
    await items.insertOne({ _id: 1 } as Document);
    await fourOpen;
    const before = await status();
    // Four finds at once on a one-slot server: they run one after another, so together they
    // spend about 20 + 40 + 60 + 80 = 200 ms in the server (queueing included); a timer may fire
    // up to a millisecond early, hence 180. Without the queueing it would be about 80.
    await Promise.all(Array.from({ length: 4 }, () => items.findOne({ _id: 1 } as Document)));
    await items.insertOne({ _id: 2 } as Document);
    const after = await status();
    const delta = (section: 'reads' | 'writes' | 'commands', field: 'ops' | 'latency') => Number(after[section][field]) - Number(before[section][field]);
    assert.equal(delta('reads', 'ops'), 4);
    assert.ok(delta('reads', 'latency') >= 180_000, `reads spent ${delta('reads', 'latency')} µs`);
    assert.equal(delta('writes', 'ops'), 1);
    assert.ok(delta('writes', 'latency') >= 17_000, `the insert spent ${delta('writes', 'latency')} µs`);
    // The first serverStatus at least (the driver's monitoring hellos may add more).
    assert.ok(delta('commands', 'ops') >= 1);
    assert.deepEqual(Object.keys(after).sort(), ['commands', 'reads', 'transactions', 'writes']);
  } finally {
    await client.close();
    await server.stop();
  }
});
