import type { SweepResult, SweepRun } from '../sweep.js';
import { escapeHTML, formatMS, formatRate, toJSON } from './format.js';
import { lineChart, type ChartSeries, type Tick } from './svg.js';
import { bestRuns, describeLoad } from './summary.js';

export interface HTMLReportOptions {
  title?: string;
}

/** Percentiles → x position that spreads the tail: −log10(1 − p), so 90% = 1, 99% = 2, 99.9% = 3. */
const tailX = (percentile: number) => -Math.log10(1 - percentile / 100);
const PERCENTILE_TICKS: Tick[] = [50, 90, 99, 99.9, 99.99].map((p) => ({ value: tailX(p), label: `${p}%` }));

/**
 * A self-contained HTML report of a sweep: inline CSS and SVG charts (throughput and latency
 * against pool size, pool wait-time and latency distributions), the table, and the raw data as
 * embedded JSON. No scripts run and nothing is fetched, so it can be mailed or archived as is.
 */
export function renderHTML(sweep: SweepResult, options: HTMLReportOptions = {}): string {
  const title = options.title ?? `Pool sweep: ${sweep.workload.name}`;
  const runs = [...sweep.runs].sort((a, b) => a.config.maxPoolSize - b.config.maxPoolSize || (a.config.minPoolSize ?? 0) - (b.config.minPoolSize ?? 0));
  const sizes = runs.map((r) => r.config.maxPoolSize);
  const xScale = sizes.length && Math.max(...sizes) / Math.min(...sizes) >= 8 ? 'log' : 'linear';
  const byPool = (value: (run: SweepRun) => number, name: string): ChartSeries => ({
    name,
    points: runs.map((run) => ({ x: run.config.maxPoolSize, y: value(run), label: `${run.label}: ${name} ${formatMS(value(run))}` })),
  });
  const distribution = (pick: (run: SweepRun) => SweepRun['poolWait']['distribution']): ChartSeries[] =>
    runs.map((run) => ({
      name: run.label,
      points: pick(run)
        .filter((p) => p.percentile < 100)
        .map((p) => ({ x: tailX(p.percentile), y: p.valueMS, label: `${run.label}: p${p.percentile} = ${formatMS(p.valueMS)} ms` })),
    }));

  const charts = [
    lineChart({ title: 'Throughput by pool size', xLabel: 'maxPoolSize', yLabel: 'operations/s', xScale, series: [byPool((r) => r.result.throughput, 'ops/s')] }),
    lineChart({
      title: 'Latency by pool size',
      xLabel: 'maxPoolSize',
      yLabel: 'ms',
      xScale,
      series: [byPool((r) => r.result.latency.p50, 'p50'), byPool((r) => r.result.latency.p99, 'p99'), byPool((r) => r.poolWait.p99, 'pool wait p99')],
    }),
    lineChart({ title: 'Pool wait-time distribution', xLabel: 'percentile', yLabel: 'wait for a connection, ms', xTicks: PERCENTILE_TICKS, series: distribution((r) => r.poolWait.distribution) }),
    lineChart({ title: 'Latency distribution', xLabel: 'percentile', yLabel: 'latency, ms', xTicks: PERCENTILE_TICKS, series: distribution((r) => r.result.latencyDistribution) }),
  ];

  const best = bestRuns(sweep);
  const facts: [string, string][] = [
    ['Workload', `${sweep.workload.name}: ${sweep.workload.description} (${sweep.workload.documents} documents)`],
    ['Load', describeLoad(sweep)],
    ['Server', sweep.target],
    ['Started', sweep.startedAt],
    ...(best.throughput ? [['Highest throughput', `${best.throughput.label}: ${formatRate(best.throughput.result.throughput)} ops/s`] as [string, string]] : []),
    ...(best.p99 ? [['Lowest p99', `${best.p99.label}: ${formatMS(best.p99.result.latency.p99)} ms`] as [string, string]] : []),
  ];
  // JSON inside <script> must not contain "</script>"; escaping every "<" is enough.
  const data = toJSON(sweep).replace(/</g, '\\u003c');

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHTML(title)}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1340px; padding: 0 16px; color: #222; }
h1 { font-size: 22px; margin: 0 0 12px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0 0 20px; }
dt { font-weight: 600; }
dd { margin: 0; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
.chart { border: 1px solid #ddd; border-radius: 4px; background: #fff; max-width: 100%; height: auto; }
.chart-title { font-size: 14px; font-weight: 600; }
.tick, .legend { font-size: 11px; fill: #444; }
.label { font-size: 12px; fill: #222; }
.grid { stroke: #eee; }
.axis { stroke: #888; }
table { border-collapse: collapse; margin-top: 20px; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e4e4e4; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr.best td { font-weight: 600; }
</style>
</head>
<body>
<h1>${escapeHTML(title)}</h1>
<dl>
${facts.map(([k, v]) => `<dt>${escapeHTML(k)}</dt><dd>${escapeHTML(v)}</dd>`).join('\n')}
</dl>
<div class="charts">
${charts.join('\n')}
</div>
${renderRunsTable(sweep, best.throughput)}
<script type="application/json" id="sweep-data">
${data}
</script>
</body>
</html>
`;
}

function renderRunsTable(sweep: SweepResult, best: SweepRun | undefined): string {
  const open = sweep.load.mode === 'open';
  const head = ['pool', 'ops', 'errors', ...(open ? ['dropped'] : []), 'ops/s', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'wait p99 ms', 'new conns'];
  const rows = sweep.runs.map((run) => {
    const r = run.result;
    const cells = [
      run.label,
      String(r.ops),
      String(r.errors),
      ...(open ? [String(r.dropped ?? 0)] : []),
      formatRate(r.throughput),
      formatMS(r.latency.p50),
      formatMS(r.latency.p90),
      formatMS(r.latency.p99),
      formatMS(r.latency.p999),
      formatMS(r.latency.max),
      formatMS(run.poolWait.p99),
      String(run.connectionsCreated),
    ];
    return `<tr${run === best ? ' class="best"' : ''}>${cells.map((c) => `<td>${escapeHTML(c)}</td>`).join('')}</tr>`;
  });
  return `<table>\n<thead><tr>${head.map((h) => `<th>${escapeHTML(h)}</th>`).join('')}</tr></thead>\n<tbody>\n${rows.join('\n')}\n</tbody>\n</table>`;
}
