import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createTestCertificates } from '../helpers/tls.js';

// Runs every ```ts block of docs/fault-injection.md, so the documented examples keep working.
// `mongo-poolkit/server` is mapped to the source entry point. An example that reads certificate
// files (the TLS one) runs in a directory holding throwaway ones with the names the doc's openssl
// commands produce (ca.pem, server.pem, server.key), made by createTestCertificates.

const root = fileURLToPath(new URL('../..', import.meta.url));
const doc = readFileSync(join(root, 'docs/fault-injection.md'), 'utf8');
const blocks = [...doc.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
const notRun = [...doc.matchAll(/^\s*```ts[^\n]+\n/gm)].map((m) => m[0].trim());
const scratch = mkdtempSync(join(root, 'test/server/.docs-examples-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const serverEntry = pathToFileURL(join(root, 'src/server/index.ts')).href;

test('docs/fault-injection.md has runnable examples, and the doc keeps its promise that every one runs', () => {
  assert.ok(blocks.length >= 7, `found ${blocks.length} ts blocks`);
  assert.deepEqual(notRun, [], 'a ts block this test would not run (tagged, or indented)');
  assert.equal(doc.split(/^\s*```ts/m).length - 1, blocks.length, 'every ts block starts at the beginning of a line');
});

for (const [i, code] of blocks.entries()) {
  const title = code.split('\n').find((l) => l.startsWith('//'))?.slice(3) ?? code.match(/import \{ (\w+)[ ,].*mongo-poolkit\/server/)?.[1] ?? '';
  test(`example ${i + 1}: ${title}`, async () => {
    const file = join(scratch, `example-${i + 1}.ts`);
    writeFileSync(file, code.replaceAll("'mongo-poolkit/server'", `'${serverEntry}'`));
    if (!code.includes('readFileSync(')) {
      await import(pathToFileURL(file).href);
      return;
    }
    const certs = await createTestCertificates();
    const cwd = process.cwd();
    process.chdir(certs.dir);
    try {
      await import(pathToFileURL(file).href);
    } finally {
      process.chdir(cwd);
      await certs.cleanup();
    }
  });
}
