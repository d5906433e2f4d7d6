import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { MongoClient, MongoServerSelectionError } from 'mongodb';
import { startServer, type EmbeddedServer } from '../../src/server/index.js';
import { createTestCertificates, type TestCertificates } from '../helpers/tls.js';
import { PoolConfigError } from '../../src/errors.js';

let certs: TestCertificates;
let server: EmbeddedServer;

before(async () => {
  certs = await createTestCertificates();
  server = await startServer({ tls: { key: certs.key, cert: certs.cert } });
});

after(async () => {
  await server?.stop();
  await certs?.cleanup();
});

test('the driver connects with tls=true&tlsCAFile=... (certificate verified against the test CA)', async () => {
  assert.match(server.uri, /\?tls=true$/);
  for (const host of ['localhost', '127.0.0.1']) {
    const uri = `mongodb://${host}:${server.port}/?tls=true&tlsCAFile=${encodeURIComponent(certs.caFile)}`;
    const client = new MongoClient(uri, { serverSelectionTimeoutMS: 3000 });
    try {
      assert.equal((await client.db('admin').command({ ping: 1 })).ok, 1, host);
    } finally {
      await client.close();
    }
  }
});

test('an untrusted certificate is refused by the driver', async () => {
  const client = new MongoClient(`mongodb://localhost:${server.port}/?tls=true`, { serverSelectionTimeoutMS: 800 });
  try {
    await assert.rejects(client.db('admin').command({ ping: 1 }), (e: unknown) => e instanceof MongoServerSelectionError && /certificate/i.test(e.message));
  } finally {
    await client.close();
  }
});

test('a plain-text client is disconnected without a reply', async () => {
  const requestsBefore = server.core.stats.network.numRequests;
  const client = new MongoClient(`mongodb://127.0.0.1:${server.port}/`, { serverSelectionTimeoutMS: 800 });
  try {
    await assert.rejects(client.db('admin').command({ ping: 1 }), MongoServerSelectionError);
  } finally {
    await client.close();
  }
  // The same at the socket level: a raw OP_QUERY-sized write gets the socket closed, no MongoDB reply.
  const socket = net.connect(server.port, '127.0.0.1');
  await once(socket, 'connect');
  const received: Buffer[] = [];
  socket.on('data', (b: Buffer) => received.push(b));
  socket.on('error', () => {});
  const header = Buffer.alloc(16);
  header.writeInt32LE(16, 0);
  header.writeInt32LE(2013, 12);
  socket.write(header);
  await once(socket, 'close');
  const bytes = Buffer.concat(received);
  // Anything the server sent is a TLS record (alert: content type 21), never a wire message.
  assert.ok(bytes.length === 0 || bytes[0] === 21, `unexpected reply bytes ${bytes.subarray(0, 8).toString('hex')}`);
  assert.equal(server.core.stats.network.numRequests, requestsBefore, 'plain-text bytes never reached the wire protocol');
});

test('bad tls options name the option', async () => {
  await assert.rejects(startServer({ tls: { key: '', cert: certs.cert } }), (e: unknown) => e instanceof PoolConfigError && e.option === 'tls.key');
  await assert.rejects(startServer({ tls: { key: certs.cert, cert: certs.cert } }), (e: unknown) => e instanceof PoolConfigError && e.option === 'tls');
});
