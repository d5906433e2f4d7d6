import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { MongoClient, MongoServerError } from 'mongodb';
import { MongoClient as MongoClient6 } from 'mongodb6';
import { startServer, type EmbeddedServer } from '../../src/server/index.js';
import { commands as authCommands } from '../../src/server/commands/auth.js';

// SCRAM authentication through the real driver (URI credentials, as users write them).

let server: EmbeddedServer;
const calls = { saslStart: 0, saslContinue: 0 };

before(async () => {
  // Count the SASL commands that reach the server (to see speculative authentication at work).
  const counting = Object.fromEntries(
    (['saslStart', 'saslContinue'] as const).map((name) => [
      name,
      { ...authCommands[name], handler: (ctx: Parameters<(typeof authCommands)[string]['handler']>[0]) => (calls[name]++, authCommands[name].handler(ctx)) },
    ]),
  );
  server = await startServer({ auth: { users: [{ user: 'app', password: 'p@ss:w/rd' }] }, commands: counting });
});

after(() => server.stop());

const uriWith = (credentials: string, params = '') => server.uri.replace('mongodb://', `mongodb://${credentials}@`) + (params ? `?${params}` : '');
const password = encodeURIComponent('p@ss:w/rd');

async function withClient<T>(uri: string, fn: (client: MongoClient) => Promise<T>, Client: typeof MongoClient = MongoClient): Promise<T> {
  const client = new Client(uri, { serverSelectionTimeoutMS: 3000, maxPoolSize: 2 });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

for (const mechanism of ['SCRAM-SHA-256', 'SCRAM-SHA-1'] as const) {
  test(`${mechanism}: the right password authenticates (speculatively, in the handshake)`, async () => {
    calls.saslStart = 0;
    calls.saslContinue = 0;
    const status = await withClient(uriWith(`app:${password}`, `authMechanism=${mechanism}`), async (client) => {
      await client.db('admin').command({ serverStatus: 1 });
      return client.db('admin').command({ connectionStatus: 1 });
    });
    assert.deepEqual(status.authInfo.authenticatedUsers, [{ user: 'app', db: 'admin' }]);
    assert.equal(calls.saslStart, 0, 'step 1 rode on hello (speculativeAuthenticate)');
    assert.ok(calls.saslContinue >= 1);
  });

  test(`${mechanism}: a wrong password and an unknown user both fail with AuthenticationFailed (18)`, async () => {
    for (const credentials of [`app:wrong`, `ghost:${password}`]) {
      const err = await withClient(uriWith(credentials, `authMechanism=${mechanism}`), (client) => client.db('admin').command({ ping: 1 })).then(
        () => null,
        (e: unknown) => e,
      );
      assert.ok(err instanceof MongoServerError, `${credentials}: ${String(err)}`);
      assert.equal(err.code, 18);
      assert.equal(err.message, 'Authentication failed.');
    }
  });
}

test('without authMechanism the driver negotiates through saslSupportedMechs, answered for known users only', async () => {
  await withClient(uriWith(`app:${password}`), async (client) => {
    const hello = await client.db('admin').command({ hello: 1, saslSupportedMechs: 'admin.app' });
    assert.deepEqual(hello.saslSupportedMechs, ['SCRAM-SHA-1', 'SCRAM-SHA-256']);
    const unknown = await client.db('admin').command({ hello: 1, saslSupportedMechs: 'admin.ghost' });
    assert.equal('saslSupportedMechs' in unknown, false, 'omitted for an unknown user');
  });
});

test('without authentication: hello, ping and buildInfo work, other commands get Unauthorized (13)', async () => {
  await withClient(server.uri, async (client) => {
    assert.equal((await client.db('admin').command({ ping: 1 })).ok, 1);
    assert.equal(typeof (await client.db('admin').command({ buildInfo: 1 })).version, 'string');
    await assert.rejects(client.db('admin').command({ serverStatus: 1 }), (e: unknown) => e instanceof MongoServerError && e.code === 13 && e.codeName === 'Unauthorized');
    await assert.rejects(client.db('admin').command({ getLog: 'global' }), (e: unknown) => e instanceof MongoServerError && e.code === 13);
  });
});

test('driver 6.x authenticates too', async () => {
  const client = new MongoClient6(uriWith(`app:${password}`), { serverSelectionTimeoutMS: 3000 });
  try {
    const status = await client.db('admin').command({ connectionStatus: 1 });
    assert.deepEqual(status.authInfo.authenticatedUsers, [{ user: 'app', db: 'admin' }]);
  } finally {
    await client.close();
  }
});
