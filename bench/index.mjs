#!/usr/bin/env node
// npm run bench -- <name> [flags]: runs bench/<name>.ts (TypeScript through tsx) in a fresh process.
// Results: bench/results/<name>.json (machine-readable) and a table on stdout.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)).sort();
const [name, ...rest] = process.argv.slice(2);
if (!name || name === '--help' || name === '-h') {
  console.log(`usage: npm run bench -- <name> [flags]\n\nbenchmarks: ${available.join(', ')}\n(each accepts --help)`);
  process.exit(name ? 0 : 2);
}
const file = join(here, `${name}.ts`);
if (!existsSync(file)) {
  console.error(`unknown benchmark '${name}'; available: ${available.join(', ')}`);
  process.exit(2);
}
const result = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', file, ...rest], { stdio: 'inherit' });
process.exit(result.status ?? 1);
