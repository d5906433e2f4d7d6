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
  /**
   * Longest duration, in milliseconds, the histogram covers when it is created (default 60 000 = one
   * minute). With `autoResize` (the default) it grows past this on demand; without, it is the cap.
   */
  highestTrackableValueMS?: number;
  /**
   * Grow the histogram when a longer duration arrives (default true). With `false` its memory is
   * fixed: longer durations count in `count`, `mean` and `max` exactly, but percentiles and buckets
   * only know they are above `highestTrackableValueMS`.
   */
  autoResize?: boolean;
}

/** Durations a recorder buffers before folding them into its histogram (2 KiB). */
const RECORD_BUFFER = 256;

/** Defaults of {@link HistogramSettings}. */
export const DEFAULT_HISTOGRAM = Object.freeze({ significantDigits: 3, highestTrackableValueMS: 60_000, autoResize: true } as const);

/** One cumulative bucket of a Prometheus/OpenTelemetry-style histogram: values ≤ `le` seconds. */
export interface CumulativeBucket {
  le: number;
  count: number;
}

/**
 * A latency distribution: an HDR histogram of microseconds (percentiles at fixed relative
 * precision) plus an exact count, sum, min and max kept beside it, so the mean and max are not
 * bucket approximations and no percentile leaves [min, max].
 *
 * Recording appends to a small buffer that is folded into the histogram in bulk (when full, and
 * before anything reads): a pool event arrives between stretches of driver work that push the
 * histogram's objects out of the CPU caches, and one write to the buffer costs less than
 * updating the histogram's scattered fields cold. Every read sees every value recorded.
 */
export class LatencyRecorder {
  readonly #settings: HistogramSettings;
  readonly #hdr: Histogram;
  /** Values above this (µs) are recorded at it (only without autoResize). */
  readonly #ceilingMicros: number;
  #count = 0;
  #sumMicros = 0;
  #minMicros = Number.POSITIVE_INFINITY;
  #maxMicros = 0;
  /** Values above the ceiling (only without autoResize). */
  #overflow = 0;
  /** Durations (ms) recorded but not folded in yet: the first `#buffered` entries. */
  readonly #buffer = new Float64Array(RECORD_BUFFER);
  #buffered = 0;

  constructor(settings: HistogramSettings = {}) {
    this.#settings = settings;
    const highestMicros = Math.max(2, Math.round((settings.highestTrackableValueMS ?? DEFAULT_HISTOGRAM.highestTrackableValueMS) * 1000));
    const autoResize = settings.autoResize ?? DEFAULT_HISTOGRAM.autoResize;
    this.#hdr = build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: highestMicros,
      numberOfSignificantValueDigits: settings.significantDigits ?? DEFAULT_HISTOGRAM.significantDigits,
      autoResize,
      bitBucketSize: 32,
      useWebAssembly: false,
    });
    this.#ceilingMicros = autoResize ? Number.POSITIVE_INFINITY : highestMicros;
  }

  /** Records one duration given in milliseconds (fractions kept to the microsecond). */
  recordMS(ms: number): void {
    const n = this.#buffered;
    this.#buffer[n] = ms;
    this.#buffered = n + 1;
    if (n + 1 === RECORD_BUFFER) this.#flush();
  }

  /** Folds the buffered durations into the histogram and the exact statistics. */
  #flush(): void {
    const n = this.#buffered;
    this.#buffered = 0;
    for (let i = 0; i < n; i++) this.#add(this.#buffer[i]);
  }

  #add(ms: number): void {
    let micros = ms > 0 ? Math.round(ms * 1000) : 0;
    this.#count++;
    this.#sumMicros += micros;
    if (micros > this.#maxMicros) this.#maxMicros = micros;
    if (micros < this.#minMicros) this.#minMicros = micros;
    if (micros > this.#ceilingMicros) {
      // A fixed-size HDR histogram throws above its range, inside the driver's event dispatch: cap it.
      this.#overflow++;
      micros = this.#ceilingMicros;
    }
    this.#hdr.recordValue(micros);
  }

  get count(): number {
    return this.#count + this.#buffered;
  }

  /**
   * Standard deviation of the recorded durations (the population's, not a sample estimate), ms.
   * From the HDR buckets, so within their relative precision (0.1% by default), and without
   * `autoResize` a duration above the histogram's range counts at its ceiling; 0 below two values.
   */
  stdDevMS(): number {
    this.#flush();
    return this.#count < 2 ? 0 : Math.round(this.#hdr.stdDeviation) / 1000;
  }

  /** Exact sum of the recorded durations, in seconds. */
  get sumSeconds(): number {
    this.#flush();
    return this.#sumMicros / 1e6;
  }

  /**
   * Count, mean and max are exact; percentiles come from the HDR buckets. HDR reports the highest
   * value of a bucket, which can lie above every recorded value (e.g. 99.007 for 99 ms): each
   * percentile is clamped to the exact [min, max], which is where the true percentile lies.
   */
  summary(): LatencySummary {
    this.#flush();
    const count = this.#count;
    if (count === 0) return { count: 0, mean: 0, p50: 0, p95: 0, p99: 0, max: 0 };
    const ms = (micros: number) => Math.round(micros) / 1000;
    const at = (percentile: number) => ms(Math.min(this.#maxMicros, Math.max(this.#minMicros, this.#hdr.getValueAtPercentile(percentile))));
    return {
      count,
      mean: ms(this.#sumMicros / count),
      p50: at(50),
      p95: at(95),
      p99: at(99),
      max: ms(this.#maxMicros),
    };
  }

  /**
   * Cumulative counts of recorded values ≤ each bound (in seconds), read from the HDR buckets
   * at the time of the call. Bounds below the exact minimum count 0 and bounds at or above the
   * exact maximum count everything; in between, a value within the configured precision of a
   * bound may land on either side. Values above a fixed histogram's range only count at or above
   * the maximum.
   */
  cumulativeBuckets(boundsSeconds: readonly number[]): CumulativeBucket[] {
    this.#flush();
    const hdr = this.#hdr as unknown as HdrInternals;
    const out: CumulativeBucket[] = boundsSeconds.map((le) => ({ le, count: 0 }));
    if (this.#count === 0) return out;
    const ceilingIndex = this.#overflow > 0 ? hdr.countsArrayIndex(this.#ceilingMicros) : -1;
    const lastIndex = Math.min(hdr.countsArrayIndex(Math.min(this.#maxMicros, this.#ceilingMicros)), hdr.countsArrayLength - 1);
    let bound = 0;
    let running = 0;
    for (let index = 0; index <= lastIndex; index++) {
      let count = hdr.getCountAtIndex(index);
      if (index === ceilingIndex) count -= this.#overflow;
      if (count === 0) continue;
      const valueSeconds = hdr.valueFromIndex(index) / 1e6;
      while (bound < out.length && valueSeconds > out[bound].le) out[bound++].count = running;
      running += count;
    }
    while (bound < out.length) out[bound++].count = running;
    const minSeconds = this.#minMicros / 1e6;
    const maxSeconds = this.#maxMicros / 1e6;
    for (const bucket of out) {
      if (bucket.le < minSeconds) bucket.count = 0;
      else if (bucket.le >= maxSeconds) bucket.count = this.#count;
    }
    return out;
  }

  /** A new recorder holding the values of all of `recorders` (same settings as the first). */
  static merge(recorders: readonly LatencyRecorder[]): LatencyRecorder {
    const merged = new LatencyRecorder(recorders.length > 0 ? recorders[0].#settings : {});
    for (const r of recorders) {
      r.#flush();
      if (r.#count === 0) continue;
      merged.#hdr.add(r.#hdr);
      merged.#count += r.#count;
      merged.#sumMicros += r.#sumMicros;
      merged.#overflow += r.#overflow;
      if (r.#minMicros < merged.#minMicros) merged.#minMicros = r.#minMicros;
      if (r.#maxMicros > merged.#maxMicros) merged.#maxMicros = r.#maxMicros;
    }
    return merged;
  }
}

/** Members of hdr-histogram-js's JS implementation used to walk the buckets (public on JsHistogram). */
interface HdrInternals {
  countsArrayLength: number;
  countsArrayIndex(value: number): number;
  getCountAtIndex(index: number): number;
  valueFromIndex(index: number): number;
}
