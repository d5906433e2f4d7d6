import type { SweepResult } from '../sweep.js';
import { formatMS, formatRate } from './format.js';
import { bestRuns, describeLoad } from './summary.js';

/** A plain-text table of a sweep (no colours: the CLI adds them). `*` marks the best throughput. */
export function renderTable(sweep: SweepResult): string {
  const open = sweep.load.mode === 'open';
  const best = bestRuns(sweep).throughput;
  const header = ['pool', 'ops', 'errors', ...(open ? ['dropped'] : []), 'ops/s', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'wait p99 ms', 'new conns'];
  const rows = sweep.runs.map((run) => {
    const { result } = run;
    return [
      `${run.label}${run === best ? ' *' : ''}`,
      String(result.ops),
      String(result.errors),
      ...(open ? [String(result.dropped ?? 0)] : []),
      formatRate(result.throughput),
      formatMS(result.latency.p50),
      formatMS(result.latency.p90),
      formatMS(result.latency.p99),
      formatMS(result.latency.p999),
      formatMS(result.latency.max),
      formatMS(run.poolWait.p99),
      String(run.connectionsCreated),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  // First column left-aligned (labels), numbers right-aligned.
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  const lines = [
    `workload: ${sweep.workload.name} (${sweep.workload.description}); ${describeLoad(sweep)}`,
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
  ];
  if (best) lines.push(`* highest throughput; pool = maxPoolSize/minPoolSize unless labelled`);
  if (sweep.aborted) lines.push(`(stopped early after ${sweep.runs.length} config${sweep.runs.length === 1 ? '' : 's'})`);
  return `${lines.join('\n')}\n`;
}
