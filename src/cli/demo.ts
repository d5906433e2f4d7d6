import { Command } from 'commander';
import { runDemo } from '../demo/index.js';
import { DemoReporter } from '../demo/reporter.js';
import { styleFor } from './common.js';

export function demoCommand(): Command {
  return new Command('demo')
    .description('walk through every section of the connection-pooling guide with real results (embedded server unless --uri)')
    .option('--uri <uri>', 'run against this deployment instead of a fresh embedded server (steps that need test commands are skipped without them)')
    .option('--json', 'print the results of every section as one JSON document')
    .action(async (opts) => {
      const reporter = new DemoReporter((t) => process.stdout.write(t), styleFor(process.stdout), Boolean(opts.json));
      const results = await runDemo({ uri: opts.uri, reporter });
      if (opts.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    });
}
