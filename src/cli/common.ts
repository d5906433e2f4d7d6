import { InvalidArgumentError } from 'commander';
import { redactText } from '../util/redact.js';

/** Shared CLI helpers: flag parsers that name the flag, colours that respect NO_COLOR / TTY, exit codes. */

export const ExitCode = Object.freeze({ ok: 0, failed: 1, usage: 2 });

export function parseIntegerFlag(min: number, max: number = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError(`expected an integer, got '${value}'`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}, got ${n}`);
    return n;
  };
}

export function parseNumberFlag(min: number, max: number = Number.MAX_VALUE) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a number, got '${value}'`);
    if (n < min || n > max) throw new InvalidArgumentError(`expected a number from ${min} to ${max}, got ${n}`);
    return n;
  };
}

export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  red(s: string): string;
  cyan(s: string): string;
}

/** ANSI styling only for a TTY without NO_COLOR (FORCE_COLOR forces it on). */
export function styleFor(stream: NodeJS.WriteStream): Style {
  const on = process.env.FORCE_COLOR ? process.env.FORCE_COLOR !== '0' : Boolean(stream.isTTY) && !('NO_COLOR' in process.env);
  const wrap = (open: number, close: number) => (s: string) => (on ? `\u001b[${open}m${s}\u001b[${close}m` : s);
  return { bold: wrap(1, 22), dim: wrap(2, 22), green: wrap(32, 39), yellow: wrap(33, 39), red: wrap(31, 39), cyan: wrap(36, 39) };
}

/** Prints an error (credentials redacted) to stderr and sets the exit code. */
export function reportError(err: unknown, exitCode: number = ExitCode.failed): void {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`poolkit: ${redactText(message)}\n`);
  process.exitCode = exitCode;
}
