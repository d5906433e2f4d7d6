import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startServer } from '../../src/server/index.js';

// PyMongo 3.11 from Debian (python3-pymongo, installed by .ci/run): a second client, written
// independently of the Node driver, must accept the embedded server too.
const PYTHON = '/usr/bin/python3';
const available = spawnSync(PYTHON, ['-c', 'import pymongo'], { stdio: 'ignore' }).status === 0;
const script = fileURLToPath(new URL('./pymongo_client.py', import.meta.url));

test('PyMongo (OP_QUERY handshake, kind-1 write sections, cursors) works against the embedded server', {
  skip: !available && !process.env.CI ? 'python3-pymongo is not installed (apt-get install python3-pymongo)' : false,
}, async () => {
  const server = await startServer();
  try {
    const { stdout } = await promisify(execFile)(PYTHON, [script, server.uri], { timeout: 60_000 });
    const out = JSON.parse(stdout.trim().split('\n').pop()!);
    assert.equal(out.ping, 1);
    assert.equal(out.count, 250);
    assert.equal(out.batched, 250);
    assert.equal(out.int64_kept, true);
    assert.equal(out.double_kept, true);
    assert.equal(out.updated, 2);
    assert.equal(out.agg, 1 + 2 + 3 + 4); // n = _id + 1 after the $inc
    assert.equal(out.dup, 11000);
    assert.equal(out.unknown, 59);
    assert.equal(out.deleted, 50);
  } finally {
    await server.stop();
  }
});
