import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { MongoClient, type Document } from 'mongodb';
import { startServer, type EmbeddedServer } from '../../src/server/index.js';
import { createWorkload, WORKLOAD_NAMES } from '../../src/bench/index.js';
import { PoolConfigError } from '../../src/errors.js';

let server: EmbeddedServer;
let client: MongoClient;
before(async () => {
  server = await startServer({ port: 0 });
  client = new MongoClient(server.uri, { monitorCommands: true });
});
after(async () => {
  await client?.close();
  await server?.stop();
});

/** Runs `count` operations of a workload and returns the command names the server received. */
async function commandsOf(name: (typeof WORKLOAD_NAMES)[number], count: number, seed = 42): Promise<{ commands: string[]; results: unknown[] }> {
  const collection = client.db('bench_workloads').collection(name);
  const workload = createWorkload(name, { documents: 200, seed });
  await workload.setup(collection);
  const commands: string[] = [];
  const listener = (event: { commandName: string }) => commands.push(event.commandName);
  client.on('commandStarted', listener);
  const operation = workload.bind(collection);
  const results: unknown[] = [];
  try {
    for (let i = 0; i < count; i++) results.push(await operation(i));
  } finally {
    client.off('commandStarted', listener);
  }
  return { commands, results };
}

test('setup seeds documents with _id 0..n−1', async () => {
  const collection = client.db('bench_workloads').collection('seeded');
  const workload = createWorkload('findOne', { documents: 2500 });
  await workload.setup(collection);
  await workload.setup(collection); // idempotent: empties first
  assert.equal(await collection.countDocuments(), 2500);
  assert.deepEqual(await collection.findOne({ _id: 2499 } as Document, { projection: { payload: 0 } }), { _id: 2499, group: 9, value: 2499 });
});

test('findOne reads existing documents by _id', async () => {
  const { commands, results } = await commandsOf('findOne', 20);
  assert.deepEqual(new Set(commands), new Set(['find']));
  assert.equal(commands.length, 20);
  for (const doc of results) assert.ok(doc && typeof (doc as Document)._id === 'number', 'every read finds a document');
});

test('insert writes one document per operation', async () => {
  const { commands } = await commandsOf('insert', 15);
  assert.deepEqual(commands, Array(15).fill('insert'));
  assert.equal(await client.db('bench_workloads').collection('insert').countDocuments(), 215);
});

test('mix is 80/20 find/update and repeatable with the same seed', async () => {
  const first = await commandsOf('mix', 300, 9);
  const reads = first.commands.filter((c) => c === 'find').length;
  const writes = first.commands.filter((c) => c === 'update').length;
  assert.equal(reads + writes, 300);
  assert.ok(reads > 215 && reads < 265, `${reads} reads of 300`);
  const second = await commandsOf('mix', 300, 9);
  assert.deepEqual(second.commands, first.commands, 'same seed, same sequence');
});

test('aggregate groups one group of the seeded documents', async () => {
  const { commands, results } = await commandsOf('aggregate', 5);
  assert.deepEqual(commands, Array(5).fill('aggregate'));
  for (const result of results as Document[][]) {
    assert.equal(result.length, 1);
    assert.equal(result[0].count, 20); // 200 documents in 10 groups
  }
});

test('unknown workload names are rejected by name', () => {
  assert.throws(() => createWorkload('scan' as never), (e: unknown) => e instanceof PoolConfigError && e.option === 'workload');
  assert.throws(() => createWorkload('findOne', { documents: 0 }), (e: unknown) => e instanceof PoolConfigError && e.option === 'documents');
});
