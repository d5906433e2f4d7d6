import { build, type Histogram } from 'hdr-histogram-js';

/** `{ count, mean, p50, p95, p99, max }` in milliseconds. */
export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface HistogramSettings {
  /** HDR precision: decimal digits kept for every value (1–5, default 3 = 0.1 % error). */
  significantDigits?: 1 | 2 | 3 | 4 | 5;
}

/** One cumulative bucket of a Prometheus/OpenTelemetry-style histogram: values ≤ `le` seconds. */
export interface CumulativeBucket {
  le: number;
  count: number;
}

/**
 * A latency distribution: an HDR histogram of microseconds (percentiles at fixed relative
 * precision) plus an exact count, sum and max kept beside it, so the mean and max are not
 * bucket approximations. Recording is two additions, a compare and one HDR increment.
 */
export class LatencyRecorder {
  #hdr: Histogram;
  #count = 0;
  #sumMicros = 0;
  #maxMicros = 0;

  constructor(settings: HistogramSettings = {}) {
    this.#hdr = build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: 60_000_000, // one minute; grows on demand (autoResize)
      numberOfSignificantValueDigits: settings.significantDigits ?? 3,
      autoResize: true,
      bitBucketSize: 32,
      useWebAssembly: false,
    });
  }

  /** Records one duration given in milliseconds (fractions kept to the microsecond). */
  recordMS(ms: number): void {
    const micros = ms > 0 ? Math.round(ms * 1000) : 0;
    this.#count++;
    this.#sumMicros += micros;
    if (micros > this.#maxMicros) this.#maxMicros = micros;
    this.#hdr.recordValue(micros);
  }

  get count(): number {
    return this.#count;
  }

  /** Exact sum of the recorded durations, in seconds. */
  get sumSeconds(): number {
    return this.#sumMicros / 1e6;
  }

  summary(): LatencySummary {
    const count = this.#count;
    if (count === 0) return { count: 0, mean: 0, p50: 0, p95: 0, p99: 0, max: 0 };
    const ms = (micros: number) => Math.round(micros) / 1000;
    return {
      count,
      mean: ms(this.#sumMicros / count),
      p50: ms(this.#hdr.getValueAtPercentile(50)),
      p95: ms(this.#hdr.getValueAtPercentile(95)),
      p99: ms(this.#hdr.getValueAtPercentile(99)),
      max: ms(this.#maxMicros),
    };
  }

  /**
   * Cumulative counts of recorded values ≤ each bound (in seconds), read from the HDR buckets
   * at the time of the call. A value sits in an HDR bucket whose width is the configured
   * precision, so a value within that precision of a bound may land on either side.
   */
  cumulativeBuckets(boundsSeconds: readonly number[]): CumulativeBucket[] {
    const hdr = this.#hdr as unknown as HdrInternals;
    const out: CumulativeBucket[] = boundsSeconds.map((le) => ({ le, count: 0 }));
    if (this.#count === 0) return out;
    const lastIndex = Math.min(hdr.countsArrayIndex(this.#maxMicros), hdr.countsArrayLength - 1);
    let bound = 0;
    let running = 0;
    for (let index = 0; index <= lastIndex; index++) {
      const count = hdr.getCountAtIndex(index);
      if (count === 0) continue;
      const valueSeconds = hdr.valueFromIndex(index) / 1e6;
      while (bound < out.length && valueSeconds > out[bound].le) out[bound++].count = running;
      running += count;
    }
    while (bound < out.length) out[bound++].count = running;
    return out;
  }
}

/** Members of hdr-histogram-js's JS implementation used to walk the buckets (public on JsHistogram). */
interface HdrInternals {
  countsArrayLength: number;
  countsArrayIndex(value: number): number;
  getCountAtIndex(index: number): number;
  valueFromIndex(index: number): number;
}
