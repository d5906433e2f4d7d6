import { readFileSync, existsSync } from 'node:fs';
import { UsageError } from '../errors.js';

/** `--options` takes inline JSON (`'{"maxPoolSize":20}'`) or the path of a JSON file. */
export function readOptionsArg(value: string | undefined): Record<string, unknown> {
  if (value === undefined) return {};
  const text = value.trim().startsWith('{') ? value : existsSync(value) ? readFileSync(value, 'utf8') : undefined;
  if (text === undefined) throw new UsageError(`--options: '${value}' is neither a JSON object nor an existing file`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--options: invalid JSON (${(err as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UsageError('--options: must be a JSON object of client options');
  return parsed as Record<string, unknown>;
}
