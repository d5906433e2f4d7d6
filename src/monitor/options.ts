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
  /** Emit `saturated` when an operation waited longer than this for a connection (in-use ≥ max always does). */
  saturationThresholdMS?: number;
  /** Precision of the latency histograms. */
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
  const resolvedHistogram: HistogramSettings = {};
  if (histogram !== undefined) {
    if (histogram === null || typeof histogram !== 'object' || Array.isArray(histogram)) {
      throw new PoolConfigError('histogram', histogram, 'must be an object like { significantDigits: 3 }');
    }
    for (const key of Object.keys(histogram)) {
      if (key !== 'significantDigits') throw new PoolConfigError(`histogram.${key}`, (histogram as any)[key], 'unknown histogram setting; expected significantDigits');
    }
    const digits = histogram.significantDigits;
    if (digits !== undefined) {
      if (!(Number.isInteger(digits) && digits >= 1 && digits <= 5)) {
        throw new PoolConfigError('histogram.significantDigits', digits, 'must be an integer from 1 to 5');
      }
      resolvedHistogram.significantDigits = digits;
    }
  }
  return {
    name: name?.trim(),
    leakThresholdMS,
    commands: commands ?? false,
    captureStacks: captureStacks ?? false,
    saturationThresholdMS,
    histogram: resolvedHistogram,
  };
}
