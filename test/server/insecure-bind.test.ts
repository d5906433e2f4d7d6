import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { MongoClient } from 'mongodb';
import { startServer } from '../../src/server/index.js';
import { insecureBindWarning } from '../../src/server/features.js';

test('binding a non-loopback address without auth or TLS warns (process warning and startupWarnings)', async () => {
  const warning = once(process, 'warning') as Promise<[Error & { code?: string }]>;
  const server = await startServer({ host: '0.0.0.0' });
  try {
    const [w] = await warning;
    assert.equal(w.code, 'POOLKIT_INSECURE_BIND');
    assert.match(w.message, /0\.0\.0\.0.*without authentication or TLS/);
    const client = new MongoClient(`mongodb://127.0.0.1:${server.port}/`);
    try {
      const log = await client.db('admin').command({ getLog: 'startupWarnings' });
      assert.ok(log.log.some((line: string) => line.includes('POOLKIT') || line.includes('without authentication or TLS')));
    } finally {
      await client.close();
    }
  } finally {
    await server.stop();
  }
});

test('no warning on loopback, or with both auth and TLS; the message names what is missing', () => {
  for (const host of ['127.0.0.1', 'localhost', '::1', '[::1]', '127.1.2.3']) assert.equal(insecureBindWarning(host, false, false), undefined, host);
  assert.equal(insecureBindWarning('0.0.0.0', true, true), undefined);
  assert.match(insecureBindWarning('10.0.0.5', true, false)!, /without TLS/);
  assert.match(insecureBindWarning('10.0.0.5', false, true)!, /without authentication:/);
});
