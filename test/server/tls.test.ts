import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MongoClient, MongoServerSelectionError } from 'mongodb';
import { startServer, type EmbeddedServer, type ServerTlsOptions } from '../../src/server/index.js';
import { createTestCertificates, type TestCertificates } from '../helpers/tls.js';
import { PoolConfigError } from '../../src/errors.js';

const run = promisify(execFile);

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

/** A client certificate (and its key, in one PEM file for `tlsCertificateKeyFile`) signed by the CA of `issuer`. */
async function issueClientCertificate(issuer: TestCertificates, name: string): Promise<string> {
  const file = (ext: string) => join(issuer.dir, `${name}.${ext}`);
  await run('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', file('key'), '-out', file('csr'), '-subj', `/CN=${name}`]);
  await writeFile(file('ext'), 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n');
  await run('openssl', ['x509', '-req', '-in', file('csr'), '-CA', join(issuer.dir, 'ca.pem'), '-CAkey', join(issuer.dir, 'ca.key'), '-CAcreateserial', '-out', file('pem'), '-days', '1', '-extfile', file('ext')]);
  await writeFile(file('bundle.pem'), (await readFile(file('pem'), 'utf8')) + (await readFile(file('key'), 'utf8')));
  return file('bundle.pem');
}

describe('tls.ca and client certificates', () => {
  let otherCa: TestCertificates;
  let trustedClient: string;
  let untrustedClient: string;
  before(async () => {
    otherCa = await createTestCertificates();
    trustedClient = await issueClientCertificate(certs, 'client');
    untrustedClient = await issueClientCertificate(otherCa, 'stranger');
  });
  after(async () => {
    await otherCa?.cleanup();
  });

  /** Whether a client (with `certificateFile`, or none) can ping a server started with `tls`. */
  async function connects(tls: Partial<ServerTlsOptions>, certificateFile?: string): Promise<boolean> {
    const s = await startServer({ tls: { key: certs.key, cert: certs.cert, ...tls } });
    const query = `tls=true&tlsCAFile=${encodeURIComponent(certs.caFile)}${certificateFile ? `&tlsCertificateKeyFile=${encodeURIComponent(certificateFile)}` : ''}`;
    const client = new MongoClient(`mongodb://localhost:${s.port}/?${query}`, { serverSelectionTimeoutMS: 1000 });
    try {
      await client.db('admin').command({ ping: 1 });
      return true;
    } catch (err) {
      if (!(err instanceof MongoServerSelectionError)) throw err;
      return false;
    } finally {
      await client.close();
      await s.stop();
    }
  }

  test('ca alone asks nothing of clients: tlsCAFile is enough', async () => {
    assert.equal(await connects({ ca: certs.ca }), true);
    assert.equal(await connects({ ca: certs.ca }, trustedClient), true, 'a client certificate is not needed, and not in the way');
  });

  test('requireClientCertificate: only clients with a certificate signed by ca get in (mutual TLS)', async () => {
    const mutual = { ca: certs.ca, requireClientCertificate: true };
    assert.equal(await connects(mutual), false, 'no certificate');
    assert.equal(await connects(mutual, untrustedClient), false, 'signed by another CA');
    assert.equal(await connects(mutual, trustedClient), true);
  });

  test('allowConnectionsWithoutCertificates: a certificate is optional, but a presented one must be signed by ca', async () => {
    const optional = { ca: certs.ca, allowConnectionsWithoutCertificates: true };
    assert.equal(await connects(optional), true);
    assert.equal(await connects(optional, trustedClient), true);
    assert.equal(await connects(optional, untrustedClient), false);
  });

  test('client-certificate options need ca and exclude each other', async () => {
    const base = { key: certs.key, cert: certs.cert };
    await assert.rejects(startServer({ tls: { ...base, requireClientCertificate: true } }), (e: unknown) => e instanceof PoolConfigError && e.option === 'tls.ca');
    await assert.rejects(startServer({ tls: { ...base, allowConnectionsWithoutCertificates: true } }), (e: unknown) => e instanceof PoolConfigError && e.option === 'tls.ca');
    await assert.rejects(
      startServer({ tls: { ...base, ca: certs.ca, requireClientCertificate: true, allowConnectionsWithoutCertificates: true } }),
      (e: unknown) => e instanceof PoolConfigError && e.option === 'tls.allowConnectionsWithoutCertificates',
    );
    await assert.rejects(startServer({ tls: { ...base, ca: 'not a certificate' } }), (e: unknown) => e instanceof PoolConfigError && e.option === 'tls.ca');
  });
});
