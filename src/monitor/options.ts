import { PoolConfigError } from '../errors.js';
import type { HistogramSettings } from './latency.js';

export interface PoolMonitorOptions {
  /** Pool name in snapshots and metric labels (default `<hosts>/<dbName>` from the client). */
  name?: string;
  /** Report a connection held longer than this as a `leak` (off when unset). Any positive value. */
  leakThresholdMS?: number;
  /** Turn on the driver's command monitoring: per-command durations and failures, commands in leak reports. */
  commands?: boolean;
  /** Record the application stack that started each operation, for leak reports (needs `leakThresholdMS`). */
  captureStacks?: boolean;
  /**
   * Emit `saturated` when an operation has been waiting longer than this for a connection, seen
   * while it still waits (in-use ≥ max always does).
   */
  saturationThresholdMS?: number;
  /** Latency histograms: `{ significantDigits?, highestTrackableValueMS?, autoResize? }`. */
  histogram?: HistogramSettings;
}

export interface ResolvedMonitorOptions {
  name: string | undefined;
  leakThresholdMS: number | undefined;
  commands: boolean;
  captureStacks: boolean;
  saturationThresholdMS: number | undefined;
  histogram: HistogramSettings;
}

const KNOWN = ['name', 'leakThresholdMS', 'commands', 'captureStacks', 'saturationThresholdMS', 'histogram'];

/** Validates `PoolMonitor.attach` options; every error names the offending option. */
export function resolveMonitorOptions(options: PoolMonitorOptions | undefined): ResolvedMonitorOptions {
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new PoolConfigError('options', options, 'must be an object');
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.includes(key)) throw new PoolConfigError(key, (options as any)[key], `unknown PoolMonitor option; expected one of ${KNOWN.join(', ')}`);
  }
  const { name, leakThresholdMS, commands, captureStacks, saturationThresholdMS, histogram } = options;
  if (name !== undefined && (typeof name !== 'string' || name.trim() === '')) {
    throw new PoolConfigError('name', name, 'must be a non-empty string');
  }
  if (leakThresholdMS !== undefined && !(typeof leakThresholdMS === 'number' && Number.isFinite(leakThresholdMS) && leakThresholdMS > 0)) {
    throw new PoolConfigError('leakThresholdMS', leakThresholdMS, 'must be a positive number of milliseconds');
  }
  if (saturationThresholdMS !== undefined && !(typeof saturationThresholdMS === 'number' && Number.isFinite(saturationThresholdMS) && saturationThresholdMS >= 0)) {
    throw new PoolConfigError('saturationThresholdMS', saturationThresholdMS, 'must be a number of milliseconds ≥ 0');
  }
  if (commands !== undefined && typeof commands !== 'boolean') throw new PoolConfigError('commands', commands, 'must be a boolean');
  if (captureStacks !== undefined && typeof captureStacks !== 'boolean') {
    throw new PoolConfigError('captureStacks', captureStacks, 'must be a boolean');
  }
  if (captureStacks && leakThresholdMS === undefined) {
    throw new PoolConfigError('captureStacks', captureStacks, 'stacks are only reported with leaks: set leakThresholdMS too');
  }
  const resolvedHistogram = resolveHistogram(histogram);
  return {
    name: name?.trim(),
    leakThresholdMS,
    commands: commands ?? false,
    captureStacks: captureStacks ?? false,
    saturationThresholdMS,
    histogram: resolvedHistogram,
  };
}

const HISTOGRAM_KEYS = ['significantDigits', 'highestTrackableValueMS', 'autoResize'];
/** 10^12 ms ≈ 32 years: far below 2^53 µs, where microsecond values stop being exact integers. */
const MAX_TRACKABLE_MS = 1e12;

function resolveHistogram(histogram: HistogramSettings | undefined): HistogramSettings {
  const resolved: HistogramSettings = {};
  if (histogram === undefined) return resolved;
  if (histogram === null || typeof histogram !== 'object' || Array.isArray(histogram)) {
    throw new PoolConfigError('histogram', histogram, 'must be an object like { significantDigits: 3, highestTrackableValueMS: 60000, autoResize: true }');
  }
  for (const key of Object.keys(histogram)) {
    if (!HISTOGRAM_KEYS.includes(key)) {
      throw new PoolConfigError(`histogram.${key}`, (histogram as any)[key], `unknown histogram setting; expected one of ${HISTOGRAM_KEYS.join(', ')}`);
    }
  }
  const { significantDigits: digits, highestTrackableValueMS: highest, autoResize } = histogram;
  if (digits !== undefined) {
    if (!(Number.isInteger(digits) && digits >= 1 && digits <= 5)) {
      throw new PoolConfigError('histogram.significantDigits', digits, 'must be an integer from 1 to 5');
    }
    resolved.significantDigits = digits;
  }
  if (highest !== undefined) {
    if (!(typeof highest === 'number' && Number.isFinite(highest) && highest >= 1 && highest <= MAX_TRACKABLE_MS)) {
      throw new PoolConfigError('histogram.highestTrackableValueMS', highest, `must be a number of milliseconds from 1 to ${MAX_TRACKABLE_MS}`);
    }
    resolved.highestTrackableValueMS = highest;
  }
  if (autoResize !== undefined) {
    if (typeof autoResize !== 'boolean') throw new PoolConfigError('histogram.autoResize', autoResize, 'must be a boolean');
    resolved.autoResize = autoResize;
  }
  return resolved;
}
