import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { MongoClient } from 'mongodb';

// `poolkit server` with the load-model, auth and replica-set flags, as a user runs it.

const CLI = new URL('../../src/cli/index.ts', import.meta.url).pathname;

async function runServer(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'server', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const lines = createInterface({ input: child.stdout });
  const [first] = (await Promise.race([once(lines, 'line'), once(child, 'exit').then(() => [undefined])])) as [string | undefined];
  return {
    first,
    stderr: () => stderr,
    exitCode: () => child.exitCode,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
    },
  };
}

test('poolkit server --replset 3 --auth via POOLKIT_AUTH: first line names every member, never the password', async () => {
  const server = await runServer(['--port', '0', '--replset', '3', '--latency-ms', '2', '--max-concurrent-ops', '4'], { POOLKIT_AUTH: 'ops:Sup3r:secret' });
  try {
    assert.ok(server.first, `no URI printed; stderr: ${server.stderr()}`);
    const uri = server.first!;
    assert.match(uri, /^mongodb:\/\/ops:\*\*\*\*@(127\.0\.0\.1:\d+,){2}127\.0\.0\.1:\d+\/\?replicaSet=rs0$/);
    const client = new MongoClient(uri.replace('****', encodeURIComponent('Sup3r:secret')), { serverSelectionTimeoutMS: 5000 });
    try {
      const hello = await client.db('admin').command({ hello: 1 });
      assert.equal(hello.setName, 'rs0');
      assert.equal(hello.hosts.length, 3);
      const status = await client.db('admin').command({ connectionStatus: 1 });
      assert.deepEqual(status.authInfo.authenticatedUsers, [{ user: 'ops', db: 'admin' }]);
    } finally {
      await client.close();
    }
  } finally {
    await server.stop();
  }
  assert.ok(!server.stderr().includes('Sup3r'), 'password never printed');
});

test('poolkit server rejects a malformed --latency-ms and --auth with a usage error', async () => {
  for (const args of [['--latency-ms', 'lognormal:50:4'], ['--auth', 'nopassword']]) {
    const server = await runServer(['--port', '0', ...args]);
    await server.stop();
    assert.equal(server.first, undefined, `${args.join(' ')} must not start a server`);
    assert.match(server.stderr(), /latency|user:password/);
    assert.equal(server.exitCode(), 2, 'usage errors exit 2');
  }
});
