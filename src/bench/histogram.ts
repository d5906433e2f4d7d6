import { build, decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';

/** Latency percentiles in milliseconds. */
export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

/** One point of a percentile distribution (HdrHistogram-style plot). */
export interface DistributionPoint {
  percentile: number;
  valueMS: number;
}

/** Percentiles kept for charts: dense where tails live. */
export const DISTRIBUTION_PERCENTILES = [0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 100] as const;

const MICROS_PER_MS = 1000;

/**
 * An HDR histogram recording durations at microsecond resolution (3 significant digits, i.e.
 * 0.1% relative precision), pure JavaScript (no WebAssembly) and resizing itself for long stalls.
 */
export class LatencyRecorder {
  private readonly histogram: Histogram = build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 2,
    numberOfSignificantValueDigits: 3,
    autoResize: true,
    useWebAssembly: false,
  });

  /**
   * One recorder holding every value of the given histograms (each as `encode()` wrote it, e.g. a
   * run's `latencyHistogram`): the latencies of all their operations together, so the p99 of
   * several runs is the p99 of all their operations rather than some average of their p99s.
   */
  static merge(encoded: Iterable<string>): LatencyRecorder {
    const merged = new LatencyRecorder();
    for (const histogram of encoded) merged.add(LatencyRecorder.decode(histogram));
    return merged;
  }

  /** A recorder holding what `encode()` wrote; RangeError on anything else. */
  static decode(encoded: string): LatencyRecorder {
    const recorder = new LatencyRecorder();
    let histogram: Histogram;
    try {
      histogram = decodeFromCompressedBase64(encoded, 32, false);
    } catch (error) {
      throw new RangeError(`not an encoded latency histogram (${(error as Error).message})`);
    }
    recorder.histogram.add(histogram);
    return recorder;
  }

  /** Adds every value `other` holds to this recorder. */
  add(other: LatencyRecorder): void {
    this.histogram.add(other.histogram);
  }

  /** Records a duration given in (fractional) milliseconds; anything under 1 µs counts as 1 µs. */
  recordMS(durationMS: number): void {
    if (!Number.isFinite(durationMS)) return;
    this.histogram.recordValue(Math.max(1, Math.round(durationMS * MICROS_PER_MS)));
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  percentileMS(percentile: number): number {
    return this.count === 0 ? 0 : this.histogram.getValueAtPercentile(percentile) / MICROS_PER_MS;
  }

  summary(): LatencySummary {
    if (this.count === 0) return { p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 };
    const max = this.histogram.maxValue / MICROS_PER_MS;
    return {
      p50: Math.min(this.percentileMS(50), max),
      p90: Math.min(this.percentileMS(90), max),
      p99: Math.min(this.percentileMS(99), max),
      p999: Math.min(this.percentileMS(99.9), max),
      max,
      mean: this.histogram.mean / MICROS_PER_MS,
    };
  }

  distribution(): DistributionPoint[] {
    if (this.count === 0) return [];
    // Percentiles report the top of their bucket, which can exceed the exact maximum: clamp.
    const max = this.histogram.maxValue / MICROS_PER_MS;
    return DISTRIBUTION_PERCENTILES.map((percentile) => ({ percentile, valueMS: Math.min(this.percentileMS(percentile), max) }));
  }

  /**
   * The histogram in HdrHistogram's compressed base64 form (values in microseconds), which any
   * HdrHistogram implementation decodes; a few hundred characters for a typical run.
   */
  encode(): string {
    return encodeIntoCompressedBase64(this.histogram);
  }

  reset(): void {
    this.histogram.reset();
  }
}
