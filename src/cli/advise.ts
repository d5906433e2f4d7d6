import { Command, Option } from 'commander';
import { adviseWorkload, describeKnee, type AdviseResult } from '../advisor/index.js';
import { SIDE_BY_SIDE_PAIRS, type VerificationRow } from '../advisor/verify.js';
import { describeShape, keptUpInPair, type SideBySidePair } from '../advisor/advise.js';
import { WORKLOAD_NAMES, type LoadShape, type WorkloadName } from '../bench/index.js';
import { toJSON } from '../bench/report/format.js';
import type { ServerOptions } from '../server/index.js';
import { UsageError } from '../errors.js';
import { parseIntegerFlag, parseNumberFlag, styleFor, type Style } from './common.js';
import { ProgressLine } from './progress.js';
import { addServerFlags, serverOptionsFrom } from './server.js';
import { withTargetServer } from './with-server.js';

const DEFAULT_CONCURRENCY = 64;

export function adviseCommand(): Command {
  const command = new Command('advise')
    .description(
      'measure a workload, recommend maxPoolSize/minPoolSize/waitQueueTimeoutMS (Little\'s law, Erlang C, server capacity) and verify the answer with a sweep of pool sizes (embedded server unless --uri)',
    )
    .option('--uri <uri>', 'deployment to measure (default: a fresh embedded server with the server flags below); its poolkit_advise database is overwritten')
    .addOption(new Option('--workload <name>', 'findOne (by random _id), insert, mix (80% findOne / 20% updateOne) or aggregate').choices(WORKLOAD_NAMES).default('findOne'))
    .addOption(new Option('--concurrency <n>', `the application's concurrent callers, each sending again when answered (closed loop; default ${DEFAULT_CONCURRENCY})`).argParser(parseIntegerFlag(1, 100_000)))
    .addOption(new Option('--rate <ops>', "the application's operations per second, whatever the latency (open loop)").argParser(parseNumberFlag(Number.MIN_VALUE, 1_000_000)))
    .addOption(new Option('--server-capacity <n>', 'operations the server runs at once (default: estimated from the knee of the throughput curve)').argParser(parseIntegerFlag(1)))
    .option('--thorough', 'verify with every pool size from 1 to --max-pool-size instead of a few around the answer (takes minutes)')
    .addOption(new Option('--max-pool-size <n>', 'largest pool size the verification measures').default(64).argParser(parseIntegerFlag(1, 10_000)))
    .addOption(new Option('--duration-ms <ms>', 'length of each measurement and of each verified pool size').default(1500).argParser(parseIntegerFlag(1)))
    .addOption(new Option('--warmup-ms <ms>', 'unmeasured load before each of them (the first warm-up lasts 10×)').default(300).argParser(parseIntegerFlag(0)))
    .addOption(new Option('--documents <n>', 'documents seeded for the workload').default(1000).argParser(parseIntegerFlag(1)))
    .option('--json', 'print the advice, measurements and verification as one JSON document (stdout holds only JSON)');
  addServerFlags(command);
  command.addHelpText(
    'after',
    `
Examples:
  poolkit advise --latency-ms 5 --max-concurrent-ops 8          # 64 callers against a 5 ms, 8-wide server
  poolkit advise --uri mongodb://db:27017 --rate 800 --workload mix
  poolkit advise --latency-ms lognormal:4:40 --max-concurrent-ops 4 --thorough --json`,
  );
  command.action(async (opts) => {
    const load = loadFrom(opts);
    const serverOptions = serverOptionsFrom(opts);
    const progress = new ProgressLine(process.stderr);
    const controller = new AbortController();
    const onSigint = () => controller.abort();
    process.once('SIGINT', onSigint);
    let result: AdviseResult | undefined;
    try {
      result = await withTargetServer(opts.uri, serverOptions, (uri) =>
        adviseWorkload({
          uri,
          workload: opts.workload as WorkloadName,
          load,
          ...(opts.serverCapacity !== undefined && { serverCapacity: opts.serverCapacity }),
          thorough: Boolean(opts.thorough),
          maxPoolSize: opts.maxPoolSize,
          durationMS: opts.durationMs,
          warmupMS: opts.warmupMs,
          documents: opts.documents,
          seed: opts.seed ?? 1,
          clientOptions: { appName: 'poolkit-advise', serverSelectionTimeoutMS: 10_000 },
          signal: controller.signal,
          onProgress: (p) => progress.update(p.fraction, `advise: ${p.step === 'done' ? 'done' : p.detail}`, p.step === 'verify' ? `verify:${p.detail}` : p.step),
        }),
      );
    } catch (err) {
      if (!controller.signal.aborted) throw err;
    } finally {
      progress.done();
      process.off('SIGINT', onSigint);
    }
    if (result === undefined) {
      process.stderr.write('poolkit: advise interrupted before it had a recommendation\n');
      process.exitCode = 130;
      return;
    }
    const server = opts.uri ? undefined : describeEmbedded(serverOptions);
    process.stdout.write(opts.json ? `${toJSON({ ...result, ...(server && { embeddedServer: server }) })}\n` : formatAdvice(result, server?.text, styleFor(process.stdout)));
    if (controller.signal.aborted) process.exitCode = 130;
  });
  return command;
}

/** --concurrency (closed loop) or --rate (open loop), not both. */
export function loadFrom(opts: { concurrency?: number; rate?: number }): LoadShape {
  if (opts.concurrency !== undefined && opts.rate !== undefined) {
    throw new UsageError('--rate and --concurrency exclude each other: --rate for a fixed arrival rate, --concurrency for a fixed number of callers');
  }
  return opts.rate !== undefined ? { mode: 'open', rate: opts.rate } : { mode: 'closed', concurrency: opts.concurrency ?? DEFAULT_CONCURRENCY };
}

function describeEmbedded(options: ServerOptions): { latencyMS: unknown; maxConcurrentOps: number; text: string } {
  const latency = options.latencyMS;
  const latencyText = latency === undefined ? 'no added latency' : typeof latency === 'number' ? `${latency} ms per operation` : `latency ${JSON.stringify(latency)}`;
  const capacity = options.maxConcurrentOps ?? 0;
  return {
    latencyMS: latency ?? 0,
    maxConcurrentOps: capacity,
    text: `embedded server, ${latencyText}, ${capacity > 0 ? `at most ${capacity} at once` : 'unlimited concurrency'}`,
  };
}

function capacityText(c: AdviseResult['capacity']): string {
  if (c.source === 'given' || !c.knee) return `${c.serverCapacity} operations at once (given)`;
  return `${c.serverCapacity} connections at full throughput, from the knee of the throughput curve: ${describeKnee(c.knee, c.serverCapacity)}`;
}

const ms = (value: number) => (!Number.isFinite(value) ? '∞' : value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2));
const pct = (share: number) => `${(share * 100).toFixed(0)}%`;

/** `key   value` lines with the keys padded to one width. */
function keyValues(rows: [string, string][], indent = '  '): string[] {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${indent}${k.padEnd(width)}  ${v}`.trimEnd());
}

/** Aligns columns: the first and `leftLast` last ones to the left, numbers in between to the right. */
function columns(rows: string[][], options: { leftLast?: boolean } = {}): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const last = rows[0].length - 1;
  const left = (i: number) => i === 0 || (options.leftLast && i === last);
  return rows.map((r) => `  ${r.map((c, i) => (left(i) ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')}`.trimEnd());
}

export function formatAdvice(r: AdviseResult, server: string | undefined, s: Style): string {
  const out: string[] = [];
  const m = r.measurement;
  out.push(s.bold(`poolkit advise: ${r.workload.description}, ${describeShape(r.load)}`));
  out.push(s.dim(`against ${r.target}${server ? ` (${server})` : ''}; ${r.durationMS} ms per measurement`));
  out.push('');
  out.push(s.bold(`Measured workload`) + s.dim(` (PoolMonitor on a pool of ${m.poolSize}, nothing waiting for a connection)`));
  out.push(
    ...keyValues([
      ['arrival rate', `${Math.round(m.arrivalRate)} check-outs/s`],
      ['connection hold time', `mean ${ms(m.holdTimeMS.mean)} ms, p50 ${ms(m.holdTimeMS.p50)}, p95 ${ms(m.holdTimeMS.p95)}, p99 ${ms(m.holdTimeMS.p99)}, max ${ms(m.holdTimeMS.max)} (p99/p50 ${m.holdTimeSpread.toFixed(1)})`],
      ['operations', `${Math.round(m.throughput)} ops/s, latency p50 ${ms(m.latencyMS.p50)} ms, p99 ${ms(m.latencyMS.p99)} ms${m.errors ? `, ${m.errors} failed` : ''}`],
      ...(m.serverTimeMS !== undefined
        ? ([['server time', `${ms(m.serverTimeMS)} ms per read/write in the server (serverStatus opLatencies, queueing included); the other ${ms(Math.max(0, m.holdTimeMS.mean - m.serverTimeMS))} ms of the hold time are the round trip`]] as [string, string][])
        : []),
      ['client stalls', `event loop late by p99 ${ms(m.eventLoopDelayMS.p99)} ms, at most ${ms(m.eventLoopDelayMS.max)} ms (every operation in flight waits that long too)`],
      ['server capacity', capacityText(r.capacity)],
    ]),
  );
  out.push('');

  const a = r.advice;
  const verdict = a.verdict === 'verified' ? s.green('verified') : a.verdict === 'adjusted' ? s.yellow('adjusted by the verification') : s.yellow('not verified');
  out.push(s.bold('Advice'));
  out.push(
    ...keyValues([
      ['maxPoolSize', `${a.maxPoolSize}  ${verdict}`],
      ['minPoolSize', String(a.minPoolSize)],
      ['waitQueueTimeoutMS', String(a.waitQueueTimeoutMS)],
    ]),
  );
  const rec = r.recommendation;
  out.push(
    s.dim(
      rec.saturated
        ? `  model: saturated, the workload keeps ${rec.offeredLoad.toFixed(1)} connections busy against a capacity of ${r.capacity.serverCapacity}`
        : `  model: ${rec.offeredLoad.toFixed(1)} connections busy on average, expected wait ${ms(rec.expectedWaitMS)} ms, utilisation ${pct(rec.utilisation)}, ` +
            `limited by ${rec.limitedBy === 'serverCapacity' ? 'the server capacity' : 'the wait/utilisation targets'}`,
    ),
  );
  out.push('  why:');
  for (const line of [...rec.reasoning, ...a.notes]) out.push(`   · ${line}`);
  out.push('');

  const v = r.verification;
  const measured = (size: number) => v?.rows.find((row) => row.maxPoolSize === size);
  const cell = (size: number) => {
    const row = measured(size);
    return row ? [`${Math.round(row.throughput)}`, ms(row.p99MS), row.adequate ? s.green('yes') : s.red('no')] : ['-', '-', '-'];
  };
  out.push(s.bold('Other answers for this workload'));
  const seed = r.rules.seedFormula;
  out.push(
    ...columns([
      ['rule', 'maxPoolSize', 'ops/s', 'p99 ms', 'adequate'],
      ['poolkit advise', String(a.maxPoolSize), ...cell(a.maxPoolSize)],
      [`seed formula int(${seed.concurrentRequests} × ${seed.avgDurationS.toFixed(3)} s × 1.5), 10..100`, String(seed.maxPoolSize), ...cell(seed.maxPoolSize)],
      ['driver default', String(r.rules.driverDefault.maxPoolSize), ...cell(r.rules.driverDefault.maxPoolSize)],
      [`cores × 2 + 1 (${r.rules.coresRule.cores} cores${r.rules.coresRule.coresFrom === 'local' ? ' here' : ' on the server'})`, String(r.rules.coresRule.maxPoolSize), ...cell(r.rules.coresRule.maxPoolSize)],
    ]),
  );
  out.push('');

  if (v) {
    const crit = v.criteria;
    out.push(s.bold(`Verification`) + s.dim(` (${describeShape(r.load)}, ${r.durationMS} ms per pool size${v.thorough ? ', every size' : ''}; adequate = ≥ ${pct(crit.throughputShare)} of the best throughput and p99 ≤ ${crit.p99Factor} × the best p99${crit.smoothNeighbours ? ', each size judged with its neighbours (median of n − 1, n, n + 1)' : ''})`));
    const header = ['maxPoolSize', 'ops/s', 'of best', 'p50 ms', 'p99 ms', '× best p99', 'wait p99 ms', 'adequate', ''];
    const rows = v.rows.map((row) => [
      String(row.maxPoolSize),
      String(Math.round(row.throughput)),
      pct(row.throughputShare),
      ms(row.p50MS),
      ms(row.p99MS),
      Number.isFinite(row.p99Ratio) ? row.p99Ratio.toFixed(2) : '∞',
      ms(row.waitP99MS),
      row.adequate ? 'yes' : 'no',
      [...row.marks, ...(row.runs > 1 ? [`median of ${row.runs} runs`] : []), ...(judgedDiffers(row) ? [`judged ${Math.round(row.judged.throughput)} ops/s, p99 ${ms(row.judged.p99MS)} ms with neighbours`] : []), ...(row.p99Judged || row.ops === row.errors ? [] : ['p99 not judged (few samples)']), ...(row.errors ? [`${row.errors} errors`] : []), ...(row.dropped ? [`${row.dropped} dropped`] : [])].join(', '),
    ]);
    out.push(...columns([header, ...rows], { leftLast: true }).map((line, i) => (i > 0 && v.rows[i - 1].maxPoolSize === a.maxPoolSize ? s.bold(line) : line)));
    out.push(`  best throughput ${Math.round(v.best.throughput.value)} ops/s (maxPoolSize ${v.best.throughput.maxPoolSize}); best p99 ${ms(v.best.p99.value)} ms (maxPoolSize ${v.best.p99.maxPoolSize})`);
    out.push(`  adequate: ${v.adequate.length ? v.adequate.join(', ') : 'none'}${v.smallestAdequate !== null ? `; smallest ${v.smallestAdequate}` : ''}`);
    const pick = v.pick;
    if (pick) {
      const line = `the recommendation ${pick.maxPoolSize} reached ${pct(pick.throughputShare)} of the best throughput with p99 ${pick.p99Ratio.toFixed(2)} × the best`;
      out.push(pick.adequate ? s.green(`  ✓ ${line}`) : s.yellow(`  ✗ ${line}`));
    }
    if (v.pairedCheck) {
      const c = v.pairedCheck;
      const pairs = (list: SideBySidePair[]) =>
        list
          .map((pair) => `${Math.round(pair.recommended.throughput)} vs ${Math.round(pair.candidate.throughput)} ops/s, p99 ${ms(pair.recommended.p99MS)} vs ${ms(pair.candidate.p99MS)} ms${pair.p99Judged ? '' : ' (p99 not compared: few samples)'}${pair.recommendedShort ? ' (short)' : ''}`)
          .join('; ');
      out.push(`  side by side, ${r.recommendation.maxPoolSize} vs ${c.candidate}: ${pairs(c.pairs)} → ${sideBySideOutcome(c.pairs, c.confirmed, ': the answer stays')}`);
      for (const step of c.between ?? []) out.push(`  side by side, ${step.size} vs ${c.candidate}: ${pairs(step.pairs)} → ${sideBySideOutcome(step.pairs, step.short, '')}`);
      if (c.betweenStopped === 'time limit' || c.betweenStopped === 'step limit') out.push(s.dim(`  (sizes between not all checked: ${c.betweenStopped})`));
    }
    if (a.verdict === 'adjusted') {
      const candidate = v.pairedCheck?.candidate;
      out.push(s.yellow(`  → advising ${a.maxPoolSize}, ${candidate !== undefined && a.maxPoolSize < candidate ? `between the answer and the smallest larger adequate size (${candidate})` : 'the smallest larger adequate size'}`));
    }
  }
  out.push(s.dim(`done in ${(r.elapsedMS / 1000).toFixed(1)} s`));
  return `${out.join('\n')}\n`;
}

/** How a side-by-side comparison ended, for the text output. */
function sideBySideOutcome(pairs: SideBySidePair[], short: boolean, ifKeptUp: string): string {
  if (short) return `short in ${pairs.length} of ${SIDE_BY_SIDE_PAIRS} pairs`;
  const keptUpIn = keptUpInPair(pairs);
  return keptUpIn === 0 ? `stopped after ${pairs.length} of ${SIDE_BY_SIDE_PAIRS} pairs: undecided` : `kept up in pair ${keptUpIn}${ifKeptUp}`;
}

/** Whether a row was judged by values other than its own run (the neighbours' median). */
function judgedDiffers(row: VerificationRow): boolean {
  return row.judged.smoothed && (row.judged.throughput !== row.throughput || row.judged.p99MS !== row.p99MS);
}
