import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// Runs every ```ts block of docs/fault-injection.md (blocks tagged `ts no-run` are skipped), so the
// documented examples keep working. `mongo-poolkit/server` is mapped to the source entry point.

const root = fileURLToPath(new URL('../..', import.meta.url));
const doc = readFileSync(join(root, 'docs/fault-injection.md'), 'utf8');
const blocks = [...doc.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
const scratch = mkdtempSync(join(root, 'test/server/.docs-examples-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const serverEntry = pathToFileURL(join(root, 'src/server/index.ts')).href;

test('docs/fault-injection.md has runnable examples', () => {
  assert.ok(blocks.length >= 4, `found ${blocks.length} ts blocks`);
});

for (const [i, code] of blocks.entries()) {
  const title = code.split('\n').find((l) => l.startsWith('//'))?.slice(3) ?? code.match(/import \{ (\w+)[ ,].*mongo-poolkit\/server/)?.[1] ?? '';
  test(`example ${i + 1}: ${title}`, async () => {
    const file = join(scratch, `example-${i + 1}.ts`);
    writeFileSync(file, code.replaceAll("'mongo-poolkit/server'", `'${serverEntry}'`));
    await import(pathToFileURL(file).href);
  });
}
