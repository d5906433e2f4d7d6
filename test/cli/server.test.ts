import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { MongoClient, MongoServerError, MongoServerSelectionError } from 'mongodb';
import { createTestCertificates, type TestCertificates } from '../helpers/tls.js';
import { RawClient } from '../helpers/raw.js';

// `poolkit server` as a user runs it: a child process (the CLI's TypeScript sources through tsx,
// as test/helpers/cli.ts runs them), its first stdout line, its stderr and its exit.

const CLI = new URL('../../src/cli/index.ts', import.meta.url).pathname;

interface RunningServer {
  /** First stdout line (undefined if the process exited first). */
  first: string | undefined;
  stdout(): string;
  stderr(): string;
  /** Sends `signal` and resolves with the exit code and signal. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function runServer(args: string[], env: Record<string, string> = {}): Promise<RunningServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'server', ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const lines = createInterface({ input: child.stdout });
  const [first] = (await Promise.race([once(lines, 'line'), exited.then(() => [undefined])])) as [string | undefined];
  return {
    first,
    stdout: () => stdout,
    stderr: () => stderr,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const [code, sig] = await exited;
      return { code, signal: sig };
    },
  };
}

/** Runs `fn` with a started server and always stops it; returns what `stop` reported. */
async function withServer(args: string[], fn: (server: RunningServer) => Promise<void>, env: Record<string, string> = {}) {
  const server = await runServer(args, env);
  try {
    assert.ok(server.first, `no URI printed; stderr: ${server.stderr()}`);
    await fn(server);
  } finally {
    await server.stop();
  }
  return server;
}

async function withClient<T>(uri: string, fn: (client: MongoClient) => Promise<T>, options: ConstructorParameters<typeof MongoClient>[1] = {}): Promise<T> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 5000, ...options });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

/** A port P such that P, P+1 and P+2 are free right now. */
async function freePortRun(count: number): Promise<number> {
  const tryListen = (port: number) =>
    new Promise<net.Server | null>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(null));
      s.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve(s));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const held: net.Server[] = [];
    for (let i = 0; i < count; i++) {
      const s = await tryListen(base + i);
      if (!s) break;
      held.push(s);
    }
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
    if (held.length === count) return base;
  }
  throw new Error('no run of free ports found');
}

test('prints the URI as the first stdout line and exits 0 on SIGINT and on SIGTERM', async () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const server = await runServer(['--port', '0']);
    try {
      assert.match(server.first ?? '', /^mongodb:\/\/127\.0\.0\.1:\d+\/$/, `stderr: ${server.stderr()}`);
      assert.deepEqual(await withClient(server.first!, (c) => c.db('admin').command({ ping: 1 })), { ok: 1 });
    } finally {
      const exit = await server.stop(signal);
      assert.deepEqual(exit, { code: 0, signal: null }, `${signal}: clean exit`);
    }
    assert.equal(server.stdout().trim().split('\n').length, 1, 'stdout holds only the URI');
    assert.match(server.stderr(), new RegExp(`received ${signal}, stopping`));
  }
});

test('--no-test-commands: configureFailPoint is CommandNotFound (59); without it, it works', async () => {
  const configure = (c: MongoClient) => c.db('admin').command({ configureFailPoint: 'failCommand', mode: 'off' });
  await withServer(['--port', '0', '--no-test-commands'], async (server) => {
    await withClient(server.first!, async (c) => {
      await assert.rejects(configure(c), (e: unknown) => e instanceof MongoServerError && e.code === 59);
    });
  });
  await withServer(['--port', '0'], async (server) => {
    await withClient(server.first!, async (c) => assert.equal((await configure(c)).ok, 1));
  });
});

test('--auth user:pass: the URI names the user, masks the password, which never appears on stdout or stderr', async () => {
  const password = 'Pw0rd-never-printed';
  const server = await withServer(['--port', '0', '--auth', `app:${password}`], async (s) => {
    assert.match(s.first!, /^mongodb:\/\/app:\*\*\*\*@127\.0\.0\.1:\d+\/$/);
    await withClient(s.first!.replace('****', password), async (c) => {
      const status = await c.db('admin').command({ connectionStatus: 1 });
      assert.deepEqual(status.authInfo.authenticatedUsers, [{ user: 'app', db: 'admin' }]);
    });
    await withClient(s.first!.replace('****', 'wrong'), async (c) => {
      await assert.rejects(c.db('admin').command({ ping: 1 }), (e: unknown) => (e as { code?: number }).code === 18);
    });
    await withClient(s.first!.replace('app:****@', ''), async (c) => {
      await assert.rejects(c.db('admin').command({ serverStatus: 1 }), (e: unknown) => e instanceof MongoServerError && e.code === 13);
    });
  });
  assert.ok(!server.stdout().includes(password) && !server.stderr().includes(password), 'password never printed');
});

test('--replset 3 --port 0: three free ports; --port P: P, P+1, P+2', async () => {
  await withServer(['--port', '0', '--replset', '3'], async (server) => {
    const m = /^mongodb:\/\/127\.0\.0\.1:(\d+),127\.0\.0\.1:(\d+),127\.0\.0\.1:(\d+)\/\?replicaSet=rs0$/.exec(server.first!);
    assert.ok(m, server.first);
    assert.equal(new Set(m.slice(1)).size, 3);
    await withClient(server.first!, async (c) => {
      await c.db('app').collection('c').insertOne({ x: 1 });
      assert.equal((await c.db('admin').command({ replSetGetStatus: 1 })).members.length, 3);
    });
  });
  const p = await freePortRun(3);
  await withServer(['--port', String(p), '--replset', '3'], async (server) => {
    assert.equal(server.first, `mongodb://127.0.0.1:${p},127.0.0.1:${p + 1},127.0.0.1:${p + 2}/?replicaSet=rs0`);
    await withClient(server.first!, async (c) => {
      const hello = await c.db('admin').command({ hello: 1 });
      assert.deepEqual(hello.hosts, [`127.0.0.1:${p}`, `127.0.0.1:${p + 1}`, `127.0.0.1:${p + 2}`]);
    });
  });
});

test('--host 0.0.0.0 --replset 3: one insecure-bind warning, and a URI of dialable hosts (--advertise-host overrides)', async () => {
  const server = await withServer(['--port', '0', '--host', '0.0.0.0', '--replset', '3'], async (s) => {
    assert.match(s.first!, new RegExp(`^mongodb://(${os.hostname()}:\\d+,){2}${os.hostname()}:\\d+/\\?replicaSet=rs0$`));
    await withClient(s.first!, async (c) => assert.equal((await c.db('admin').command({ hello: 1 })).hosts.length, 3));
  });
  assert.equal(server.stderr().split('POOLKIT_INSECURE_BIND').length - 1, 1, `warned once:\n${server.stderr()}`);
  assert.ok(!server.first!.includes('0.0.0.0'));
  await withServer(['--port', '0', '--host', '0.0.0.0', '--advertise-host', '127.0.0.1'], async (s) => {
    assert.match(s.first!, /^mongodb:\/\/127\.0\.0\.1:\d+\/$/);
  });
});

test('--max-incoming-connections: connections beyond it are closed at once; available reflects it', async () => {
  await withServer(['--port', '0', '--max-incoming-connections', '2'], async (server) => {
    const port = Number(/:(\d+)\/$/.exec(server.first!)![1]);
    const raws = [await RawClient.connect(port), await RawClient.connect(port)];
    try {
      raws[0].command({ serverStatus: 1, $db: 'admin' });
      const status = (await raws[0].nextReply())!.doc;
      assert.deepEqual([status.connections.current, status.connections.available], [2, 0]);
      const extra = await RawClient.connect(port);
      raws.push(extra);
      await extra.waitClosed();
    } finally {
      for (const r of raws) r.close();
    }
  });
});

test('--handshake-delay-ms delays each connection\'s first hello', async () => {
  await withServer(['--port', '0', '--handshake-delay-ms', '300'], async (server) => {
    const durations: number[] = [];
    await withClient(
      server.first!,
      async (c) => {
        c.on('connectionReady', (e) => durations.push(e.durationMS));
        await c.db('admin').command({ ping: 1 });
      },
      { maxPoolSize: 1 },
    );
    assert.equal(durations.length, 1);
    assert.ok(durations[0] >= 290, `connectionReady.durationMS = ${durations[0]}`);
  });
});

describe('TLS flags', () => {
  let certs: TestCertificates;
  let clientCertificate: string;
  before(async () => {
    certs = await createTestCertificates();
    // A client certificate signed by the test CA, with its key, for tlsCertificateKeyFile.
    const run = promisify(execFile);
    const file = (ext: string) => join(certs.dir, `client.${ext}`);
    await run('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', file('key'), '-out', file('csr'), '-subj', '/CN=client']);
    await writeFile(file('ext'), 'extendedKeyUsage=clientAuth\n');
    await run('openssl', ['x509', '-req', '-in', file('csr'), '-CA', certs.caFile, '-CAkey', join(certs.dir, 'ca.key'), '-CAcreateserial', '-out', file('pem'), '-days', '1', '-extfile', file('ext')]);
    clientCertificate = file('bundle.pem');
    await writeFile(clientCertificate, (await readFile(file('pem'), 'utf8')) + (await readFile(file('key'), 'utf8')));
  });
  after(async () => {
    await certs?.cleanup();
  });

  const canPing = (uri: string) =>
    withClient(uri, (c) => c.db('admin').command({ ping: 1 }), { serverSelectionTimeoutMS: 1000 }).then(
      () => true,
      (e: unknown) => {
        if (e instanceof MongoServerSelectionError) return false;
        throw e;
      },
    );

  test('--tls-cert/--tls-key: tls=true in the URI, tlsCAFile clients connect, plain-text clients are refused', async () => {
    await withServer(['--port', '0', '--tls-cert', certs.certFile, '--tls-key', certs.keyFile], async (server) => {
      assert.match(server.first!, /^mongodb:\/\/127\.0\.0\.1:\d+\/\?tls=true$/);
      assert.equal(await canPing(`${server.first}&tlsCAFile=${encodeURIComponent(certs.caFile)}`), true);
      assert.equal(await canPing(server.first!.replace('?tls=true', '')), false, 'plain text');
    });
  });

  test('--tls-ca alone asks nothing of clients; with --tls-require-client-cert they need a certificate signed by it', async () => {
    const tlsArgs = ['--port', '0', '--tls-cert', certs.certFile, '--tls-key', certs.keyFile, '--tls-ca', certs.caFile];
    const ca = `&tlsCAFile=${encodeURIComponent(certs.caFile)}`;
    await withServer(tlsArgs, async (server) => {
      assert.equal(await canPing(`${server.first}${ca}`), true);
    });
    await withServer([...tlsArgs, '--tls-require-client-cert'], async (server) => {
      assert.equal(await canPing(`${server.first}${ca}`), false, 'no client certificate');
      assert.equal(await canPing(`${server.first}${ca}&tlsCertificateKeyFile=${encodeURIComponent(clientCertificate)}`), true);
    });
    const usage = await runServer(['--port', '0', '--tls-cert', certs.certFile, '--tls-key', certs.keyFile, '--tls-require-client-cert']);
    assert.equal(usage.first, undefined);
    assert.deepEqual(await usage.stop(), { code: 2, signal: null }, 'a usage error');
    assert.match(usage.stderr(), /--tls-require-client-cert needs --tls-ca/);
  });
});
