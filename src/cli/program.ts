import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { serverCommand } from './server.js';
import { doctorCommand } from './doctor.js';
import { demoCommand } from './demo.js';
import { benchCommand } from './bench.js';
import { adviseCommand } from './advise.js';
import { ExitCode, reportError } from './common.js';
import { UsageError } from '../errors.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** Builds the `poolkit` program (exported so tests can drive it without a child process). */
export function buildProgram(): Command {
  const program = new Command('poolkit')
    .description('MongoDB connection pooling for Node.js: visible, right-sized, resilient')
    .version(pkg.version)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  program.addCommand(serverCommand());
  program.addCommand(demoCommand());
  program.addCommand(benchCommand());
  program.addCommand(adviseCommand());
  program.addCommand(doctorCommand());
  for (const sub of program.commands) sub.exitOverride();
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; every other commander error is a usage error.
      process.exitCode = err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
      return;
    }
    reportError(err, err instanceof UsageError ? ExitCode.usage : ExitCode.failed);
  }
}

