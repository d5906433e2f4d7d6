import { escapeHTML } from './format.js';

export interface ChartSeries {
  name: string;
  points: readonly { x: number; y: number; label?: string }[];
}

export interface Tick {
  value: number;
  label: string;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly ChartSeries[];
  /** 'log' suits pool sizes spanning decades (1..64). */
  xScale?: 'linear' | 'log';
  /** Fixed x ticks (e.g. percentiles); default: computed. */
  xTicks?: readonly Tick[];
  width?: number;
  height?: number;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
const MARGIN = { top: 34, right: 32, bottom: 46, left: 64 };

/**
 * An inline SVG line chart (no scripts, no external references): axes, ticks, one polyline per
 * series, points with native <title> tooltips and a legend. For embedding in HTML.
 */
export function lineChart(options: LineChartOptions): string {
  const width = options.width ?? 640;
  const height = options.height ?? 320;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom - legendHeight(options.series.length);
  const points = options.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const log = options.xScale === 'log' && points.every((p) => p.x > 0);
  const tx = (x: number) => (log ? Math.log10(x) : x);

  const xs = points.map((p) => tx(p.x));
  let xMin = xs.length ? Math.min(...xs) : 0;
  let xMax = xs.length ? Math.max(...xs) : 1;
  if (options.xTicks?.length) {
    xMin = Math.min(xMin, ...options.xTicks.map((t) => tx(t.value)));
    xMax = Math.max(xMax, ...options.xTicks.map((t) => tx(t.value)));
  }
  if (xMax === xMin) [xMin, xMax] = [xMin - 1, xMax + 1];
  const yTicks = niceTicks(0, points.length ? Math.max(...points.map((p) => p.y)) : 1);
  const yMax = yTicks[yTicks.length - 1] || 1;

  const sx = (x: number) => MARGIN.left + ((tx(x) - xMin) / (xMax - xMin)) * plotW;
  const sy = (y: number) => MARGIN.top + plotH - (y / yMax) * plotH;
  const xTicks = options.xTicks ?? (log ? logTicks(10 ** xMin, 10 ** xMax) : niceTicks(xMin, xMax).map((v) => ({ value: v, label: shortNumber(v) })));

  const parts: string[] = [];
  parts.push(`<svg class="chart" role="img" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" aria-label="${escapeHTML(options.title)}">`);
  parts.push(`<title>${escapeHTML(options.title)}</title>`);
  parts.push(`<text x="${width / 2}" y="20" text-anchor="middle" class="chart-title">${escapeHTML(options.title)}</text>`);
  // Grid and y ticks.
  for (const value of yTicks) {
    const y = round(sy(value));
    parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y}" y2="${y}" class="grid"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${y + 4}" text-anchor="end" class="tick">${escapeHTML(shortNumber(value))}</text>`);
  }
  for (const tick of xTicks) {
    if (tx(tick.value) < xMin - 1e-9 || tx(tick.value) > xMax + 1e-9) continue;
    const x = round(sx(tick.value));
    parts.push(`<line x1="${x}" x2="${x}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH + 4}" class="axis"/>`);
    parts.push(`<text x="${x}" y="${MARGIN.top + plotH + 17}" text-anchor="middle" class="tick">${escapeHTML(tick.label)}</text>`);
  }
  parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH}" class="axis"/>`);
  parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" class="axis"/>`);
  parts.push(`<text x="${MARGIN.left + plotW / 2}" y="${MARGIN.top + plotH + 36}" text-anchor="middle" class="label">${escapeHTML(options.xLabel)}</text>`);
  parts.push(
    `<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle" class="label">${escapeHTML(options.yLabel)}</text>`,
  );

  options.series.forEach((series, i) => {
    const colour = PALETTE[i % PALETTE.length];
    const finite = series.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && (!log || p.x > 0));
    if (finite.length > 1) {
      const path = finite.map((p) => `${round(sx(p.x))},${round(sy(p.y))}`).join(' ');
      parts.push(`<polyline class="series" fill="none" stroke="${colour}" stroke-width="2" points="${path}"/>`);
    }
    for (const p of finite) {
      const tip = p.label ?? `${series.name}: ${shortNumber(p.y)}`;
      parts.push(`<circle cx="${round(sx(p.x))}" cy="${round(sy(p.y))}" r="3" fill="${colour}"><title>${escapeHTML(tip)}</title></circle>`);
    }
  });

  // Legend under the plot, four to a row; one series needs none (the title names it).
  const legendTop = MARGIN.top + plotH + MARGIN.bottom;
  if (options.series.length > 1) options.series.forEach((series, i) => {
    const colour = PALETTE[i % PALETTE.length];
    const x = MARGIN.left + (i % 4) * (plotW / 4);
    const y = legendTop + 12 + Math.floor(i / 4) * 16;
    parts.push(`<rect x="${round(x)}" y="${y - 9}" width="10" height="10" fill="${colour}"/>`);
    parts.push(`<text x="${round(x + 14)}" y="${y}" class="legend">${escapeHTML(series.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

function legendHeight(seriesCount: number): number {
  return seriesCount > 1 ? Math.ceil(seriesCount / 4) * 16 + 6 : 0;
}

/** Round ticks (1, 2, 5 × 10^k steps) covering [min, max]. */
export function niceTicks(min: number, max: number, target = 5): number[] {
  if (!(max > min)) max = min + 1;
  const rawStep = (max - min) / target;
  const magnitude = 10 ** Math.floor(Math.log10(rawStep));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= rawStep) ?? 10 * magnitude;
  const ticks: number[] = [];
  for (let v = Math.floor(min / step) * step; v <= max + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function logTicks(min: number, max: number): Tick[] {
  const ticks: Tick[] = [];
  for (let v = 2 ** Math.floor(Math.log2(min)); v <= max * 1.0001; v *= 2) ticks.push({ value: v, label: shortNumber(v) });
  return ticks;
}

function shortNumber(value: number): string {
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${Number((value / 1e6).toPrecision(3))}M`;
  if (abs >= 1e4) return `${Number((value / 1e3).toPrecision(3))}k`;
  return String(Number(value.toPrecision(3)));
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
