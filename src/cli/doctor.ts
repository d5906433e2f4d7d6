import { Command, Option } from 'commander';
import { runDoctor, type DoctorReport } from '../doctor/index.js';
import { parseIntegerFlag, styleFor, ExitCode } from './common.js';
import { readOptionsArg } from './options-arg.js';
import { withTargetServer } from './with-server.js';

export function doctorCommand(): Command {
  return new Command('doctor')
    .description('check a live deployment and a client configuration against connection-pooling best practices (exit 1 on any fail)')
    .option('--uri <uri>', 'deployment to check (default: a fresh embedded server)')
    .option('--options <json|file>', 'client options the application uses, as JSON or a JSON file (e.g. \'{"maxPoolSize":20,"preset":"seed"}\')')
    .addOption(new Option('--processes <n>', 'application processes sharing the deployment (connection budget)').default(1).argParser(parseIntegerFlag(1)))
    .addOption(new Option('--timeout-ms <ms>', 'how long to wait for the deployment').default(5000).argParser(parseIntegerFlag(1)))
    .option('--json', 'print the report as JSON only')
    .action(async (opts) => {
      const options = readOptionsArg(opts.options);
      const report = await withTargetServer(opts.uri, {}, (uri) => runDoctor(uri, { options, processes: opts.processes, timeoutMS: opts.timeoutMS }));
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
      if (!report.ok) process.exitCode = ExitCode.failed;
    });
}

export function formatReport(report: DoctorReport): string {
  const s = styleFor(process.stdout);
  const badge = { pass: s.green('PASS'), warn: s.yellow('WARN'), fail: s.red('FAIL') };
  const lines = [s.bold(`poolkit doctor: ${report.uri}`), ''];
  for (const c of report.checks) {
    lines.push(`${badge[c.status]}  ${c.title}: ${c.reason}`);
    if (c.fix && c.status !== 'pass') lines.push(`      ${s.dim(`fix: ${c.fix}`)}`);
  }
  lines.push('', `${report.summary.pass} passed, ${report.summary.warn} warnings, ${report.summary.fail} failed`);
  return `${lines.join('\n')}\n`;
}
