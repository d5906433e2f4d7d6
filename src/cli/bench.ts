import { accessSync, constants, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_CRITERIA, renderHTML, renderJSON, renderTable, runSweep, smallestAdequateRun, WORKLOAD_NAMES, type LoadShape, type PoolConfig, type SweepResult, type WorkloadName } from '../bench/index.js';
import { UsageError } from '../errors.js';
import { redactText } from '../util/redact.js';
import { ExitCode, parseIntegerFlag, parseNumberFlag, styleFor } from './common.js';
import { ProgressLine } from './progress.js';
import { addServerFlags, serverOptionsFrom } from './server.js';
import { withTargetServer } from './with-server.js';

const DEFAULT_POOLS = '5/1,20/5,50/10';
const DEFAULT_CONCURRENCY = 32;

export function benchCommand(): Command {
  const command = new Command('bench')
    .description('compare pool configurations under load: the same workload against each --pools entry (embedded server unless --uri)')
    .option('--uri <uri>', 'deployment to load (default: a fresh embedded server with the server flags below); its poolkit_bench database is overwritten')
    .addOption(
      new Option('--workload <name>', 'findOne (by random _id), insert, mix (80% findOne / 20% updateOne) or aggregate ($match + $group)')
        .choices(WORKLOAD_NAMES)
        .default('findOne'),
    )
    .addOption(new Option('--mode <mode>', 'closed: --concurrency callers with no think time; open: --rate operations/s whatever the latency (default: open with --rate, else closed)').choices(['closed', 'open']))
    .addOption(new Option('--concurrency <n>', `closed loop: concurrent callers (default ${DEFAULT_CONCURRENCY})`).argParser(parseIntegerFlag(1, 100_000)))
    .addOption(new Option('--rate <ops>', 'open loop: operations started per second; latency counts from each intended start').argParser(parseNumberFlag(Number.MIN_VALUE, 1_000_000)))
    .addOption(new Option('--pools <list>', 'pool configs, maxPoolSize[/minPoolSize] separated by commas, e.g. 5,20,50 or 5/1,20/5').default(parsePoolsFlag(DEFAULT_POOLS), DEFAULT_POOLS).argParser(parsePoolsFlag))
    .addOption(new Option('--duration-ms <ms>', 'measured run per pool config').default(5000).argParser(parseIntegerFlag(1)))
    .addOption(new Option('--warmup-ms <ms>', 'unmeasured load before each run (0 = none)').default(500).argParser(parseIntegerFlag(0)))
    .addOption(new Option('--documents <n>', 'documents seeded before the sweep').default(1000).argParser(parseIntegerFlag(1)))
    .option('--json', 'print the sweep as one JSON document (stdout holds only JSON)')
    .option('--html <file>', 'also write a self-contained HTML report (charts, table, raw data) to this file');
  addServerFlags(command);
  command.addHelpText(
    'after',
    `
Examples:
  poolkit bench --latency-ms 5 --max-concurrent-ops 8 --pools 4,8,16,32 --concurrency 64
  poolkit bench --uri mongodb://db:27017 --workload mix --rate 500 --pools 5,10,20 --html report.html
  poolkit bench --pools 5/1,20/5,50/10 --json > sweep.json`,
  );
  command.action(async (opts) => {
    const load = loadFrom(opts);
    if (opts.html !== undefined) requireWritableFile('--html', opts.html);
    const configs = opts.pools as PoolConfig[];
    const serverOptions = serverOptionsFrom(opts);
    const json = Boolean(opts.json);
    const progress = new ProgressLine(process.stderr);
    const controller = new AbortController();
    const onSigint = () => controller.abort();
    process.once('SIGINT', onSigint);
    let sweep: SweepResult;
    try {
      sweep = await withTargetServer(opts.uri, serverOptions, (uri) =>
        runSweep({
          uri,
          configs,
          workload: opts.workload as WorkloadName,
          load,
          durationMS: opts.durationMs,
          warmupMS: opts.warmupMs,
          documents: opts.documents,
          seed: opts.seed ?? 1,
          clientOptions: { appName: 'poolkit-bench', serverSelectionTimeoutMS: 10_000 },
          signal: controller.signal,
          onProgress: (p) => {
            if (p.phase === 'setup' || p.phase === 'done') return progress.update(p.fraction, `bench: ${p.phase === 'setup' ? 'seeding documents' : 'done'}`, p.phase);
            const text = `bench: pool ${p.label} (${p.configIndex + 1}/${p.configCount})${p.phase === 'warmup' ? ' warming up' : ''}`;
            progress.update(p.fraction, text, String(p.configIndex));
          },
        }),
      );
    } finally {
      progress.done();
      process.off('SIGINT', onSigint);
    }

    if (opts.html) {
      try {
        writeFileSync(opts.html, renderHTML(sweep));
      } catch (err) {
        throw new UsageError(`--html: cannot write ${opts.html}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      process.stderr.write(`HTML report written to ${opts.html}\n`);
    }
    process.stdout.write(json ? renderJSON(sweep) : formatBench(sweep));

    const failed = sweep.runs.filter((r) => r.result.errors > 0);
    for (const run of failed) {
      process.stderr.write(`poolkit: pool ${run.label}: ${run.result.errors} of ${run.result.ops} operations failed: ${run.result.errorSamples.map(redactText).join('; ')}\n`);
    }
    if (sweep.aborted) process.exitCode = 130;
    else if (failed.length > 0) process.exitCode = ExitCode.failed;
  });
  return command;
}

/** The table, and which config is the smallest within 97% of the best throughput and 1.1 × the best p99. */
function formatBench(sweep: SweepResult): string {
  const s = styleFor(process.stdout);
  const lines = [renderTable(sweep).trimEnd()];
  const adequate = smallestAdequateRun(sweep);
  if (sweep.runs.length > 1) {
    lines.push(
      adequate
        ? s.green(`smallest adequate: ${adequate.label} (≥ 97% of the best throughput, p99 ≤ 1.1 × the best p99)`)
        : s.yellow('no config reaches ≥ 97% of the best throughput with p99 ≤ 1.1 × the best p99 (noisy runs? try a longer --duration-ms)'),
    );
    const few = sweep.runs.filter((r) => r.result.ops > r.result.errors && r.result.ops - r.result.errors < DEFAULT_CRITERIA.minP99Samples);
    if (few.length > 0) {
      lines.push(s.dim(`p99 not compared for ${few.map((r) => r.label).join(', ')}: fewer than ${DEFAULT_CRITERIA.minP99Samples} successful operations (try a longer --duration-ms)`));
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Fails before a long run rather than after it when the report could not be written. */
function requireWritableFile(flag: string, file: string): void {
  try {
    accessSync(dirname(resolve(file)), constants.W_OK);
  } catch {
    throw new UsageError(`${flag}: cannot write ${file} (its directory does not exist or is not writable)`);
  }
}

/** Closed or open loop from --mode, --concurrency and --rate, rejecting flags that do not apply. */
export function loadFrom(opts: { mode?: string; concurrency?: number; rate?: number }): LoadShape {
  const mode = opts.mode ?? (opts.rate !== undefined ? 'open' : 'closed');
  if (mode === 'closed') {
    if (opts.rate !== undefined) throw new UsageError('--rate applies to --mode open; a closed loop takes --concurrency');
    return { mode: 'closed', concurrency: opts.concurrency ?? DEFAULT_CONCURRENCY };
  }
  if (opts.concurrency !== undefined) throw new UsageError('--concurrency applies to --mode closed; an open loop takes --rate');
  if (opts.rate === undefined) throw new UsageError('--mode open needs --rate <operations per second>');
  return { mode: 'open', rate: opts.rate };
}

/** `5,20,50` or `5/1,20/5`: maxPoolSize[/minPoolSize] items, labelled as written. */
export function parsePoolsFlag(value: string): PoolConfig[] {
  const items = value.split(',').map((item) => item.trim());
  const configs: PoolConfig[] = [];
  for (const item of items) {
    const match = /^(\d+)(?:\/(\d+))?$/.exec(item);
    if (!match) throw new InvalidArgumentError(`expected maxPoolSize[/minPoolSize] items such as 5,20,50 or 5/1,20/5; '${item}' is not one`);
    const maxPoolSize = Number(match[1]);
    const minPoolSize = match[2] === undefined ? undefined : Number(match[2]);
    if (maxPoolSize < 1 || maxPoolSize > 100_000) throw new InvalidArgumentError(`maxPoolSize must be from 1 to 100000, got ${maxPoolSize} in '${item}'`);
    if (minPoolSize !== undefined && minPoolSize > maxPoolSize) throw new InvalidArgumentError(`minPoolSize must not exceed maxPoolSize, got '${item}'`);
    configs.push({ maxPoolSize, ...(minPoolSize !== undefined && { minPoolSize }), label: item });
  }
  const labels = configs.map((c) => c.label);
  const duplicate = labels.find((l, i) => labels.indexOf(l) !== i);
  if (duplicate !== undefined) throw new InvalidArgumentError(`'${duplicate}' is listed twice`);
  return configs;
}
