import { PoolConfigError } from '../../errors.js';
import { createRandom, normal, type RandomSource } from '../../util/random.js';
import { CommandError } from '../errors.js';

/**
 * The server's load model: every operation costs a service time, and at most `maxConcurrentOps`
 * operations are served at once; the rest wait in arrival order. Throughput therefore saturates at
 * maxConcurrentOps / serviceTime and latency grows with the queue, as with a real database.
 */

/** A service time: fixed milliseconds, or a distribution sampled per operation. */
export type ServiceTime =
  | number
  | { dist: 'fixed'; ms: number }
  | { dist: 'lognormal'; medianMS: number; p99MS: number }
  | { dist: 'uniform'; minMS: number; maxMS: number }
  | { dist: 'exponential'; meanMS: number };

/** One service time for every command, or per-command overrides with a `default`. */
export type LatencySpec = ServiceTime | ({ default?: ServiceTime } & { [commandName: string]: ServiceTime | undefined });

export interface LoadModelOptions {
  /** Service time per operation (default 0). */
  latencyMS?: LatencySpec;
  /** At most this many operations execute at once; 0 or Infinity = unlimited (default). */
  maxConcurrentOps?: number;
  /** Delay before the reply to the first hello/isMaster of each connection (slow connection establishment). */
  handshakeDelayMS?: ServiceTime;
  /** Seed for the latency distributions (repeatable runs). */
  seed?: number | string;
}

export interface LoadModelSettings {
  latencyMS?: LatencySpec;
  maxConcurrentOps?: number;
  handshakeDelayMS?: ServiceTime;
  /**
   * Restarts the service-time sequence from this seed: operations from then on draw the same
   * service times, in arrival order, as after any other `set({ seed })` with the same seed. Runs
   * compared with each other then see the same service times (common random numbers), so their
   * difference is not sampling noise.
   */
  seed?: number | string;
}

export interface RunOptions {
  /** Absolute deadline (ms since the epoch), from the command's maxTimeMS; queue time counts. */
  deadline?: number;
  /** Aborts a queued or serving operation; its reason is rethrown. */
  signal?: AbortSignal;
}

export interface LoadModelStats {
  /** Operations holding a slot now. */
  running: number;
  /** Operations waiting for a slot now. */
  queued: number;
  /** Highest `running` seen since creation or the last `resetStats()`. */
  maxObservedRunning: number;
  /** Highest `queued` seen since creation or the last `resetStats()`. */
  maxObservedQueued: number;
  /** Operations that finished (successfully or not, maxTimeMS expiries included) after getting a slot; not the aborted ones. */
  completed: number;
  /** Operations that hit their maxTimeMS (while queued or while being served). */
  timedOut: number;
  /**
   * Operations abandoned while queued or during their service time because their client
   * disconnected, the server stopped or restarted, or (replica set) the primary stepped down.
   * They never ran; they are not counted in `completed`.
   */
  aborted: number;
}

type Sampler = () => number;

const Z99 = 2.3263478740408408; // standard normal quantile at 0.99

interface Waiter {
  grant: () => void;
}

export class LoadModel {
  /** Replaced by `set({ seed })`; the samplers draw through `random`, which always reads the current one. */
  private source: RandomSource;
  private readonly random: RandomSource = () => this.source();
  private defaultSampler: Sampler = () => 0;
  private overrides = new Map<string, Sampler>();
  private handshakeSampler: Sampler = () => 0;
  private capacity = Infinity;
  private readonly queue: Waiter[] = [];
  private readonly handshaken = new WeakSet<object>();
  private _running = 0;
  private _maxObservedRunning = 0;
  private _maxObservedQueued = 0;
  private _completed = 0;
  private _timedOut = 0;
  private _aborted = 0;
  /** The settings as given (for serverStatus / diagnostics). */
  private current: Required<Pick<LoadModelSettings, 'maxConcurrentOps'>> & LoadModelSettings = { maxConcurrentOps: 0 };

  constructor(options: LoadModelOptions = {}) {
    this.source = createRandom(options.seed);
    this.set({ latencyMS: options.latencyMS, maxConcurrentOps: options.maxConcurrentOps, handshakeDelayMS: options.handshakeDelayMS });
  }

  /** Changes the model at run time; omitted fields keep their value. Raising capacity admits queued operations at once. */
  set(settings: LoadModelSettings): void {
    if (settings.seed !== undefined) {
      if (!((typeof settings.seed === 'number' && Number.isFinite(settings.seed)) || typeof settings.seed === 'string')) {
        throw new PoolConfigError('seed', settings.seed, 'must be a number or a string');
      }
      this.source = createRandom(settings.seed);
    }
    if (settings.latencyMS !== undefined) {
      const { fallback, perCommand } = compileLatency(settings.latencyMS, this.random);
      this.defaultSampler = fallback;
      this.overrides = perCommand;
      this.current.latencyMS = settings.latencyMS;
    }
    if (settings.handshakeDelayMS !== undefined) {
      this.handshakeSampler = compileServiceTime(settings.handshakeDelayMS, 'handshakeDelayMS', this.random);
      this.current.handshakeDelayMS = settings.handshakeDelayMS;
    }
    if (settings.maxConcurrentOps !== undefined) {
      const n = settings.maxConcurrentOps;
      if (!(n === Infinity || (Number.isInteger(n) && n >= 0))) {
        throw new PoolConfigError('maxConcurrentOps', n, 'must be a non-negative integer (0 = unlimited)');
      }
      this.capacity = n === 0 ? Infinity : n;
      this.current.maxConcurrentOps = n === Infinity ? 0 : n;
      this.admit();
    }
  }

  /** The current settings (maxConcurrentOps 0 = unlimited). */
  get settings(): Readonly<LoadModelSettings> {
    return { ...this.current };
  }

  get stats(): LoadModelStats {
    return {
      running: this._running,
      queued: this.queue.length,
      maxObservedRunning: this._maxObservedRunning,
      maxObservedQueued: this._maxObservedQueued,
      completed: this._completed,
      timedOut: this._timedOut,
      aborted: this._aborted,
    };
  }

  get running(): number {
    return this._running;
  }

  get queued(): number {
    return this.queue.length;
  }

  get maxObservedRunning(): number {
    return this._maxObservedRunning;
  }

  get completed(): number {
    return this._completed;
  }

  /** Resets the high-water marks and counters (not the running/queued operations). */
  resetStats(): void {
    this._maxObservedRunning = this._running;
    this._maxObservedQueued = this.queue.length;
    this._completed = 0;
    this._timedOut = 0;
    this._aborted = 0;
  }

  /** A service time drawn for `commandName` (its override, else the default). */
  sampleServiceTime(commandName: string): number {
    return (this.overrides.get(commandName) ?? this.defaultSampler)();
  }

  /**
   * Runs `fn` as one operation: waits for a slot (FIFO), holds it for the service time, then runs
   * `fn` and releases the slot. The service time passes before `fn`, so an operation interrupted
   * while queued or being served has no effect: MaxTimeMSExpired (50) when the deadline passes
   * first, or the abort reason of `signal` (client disconnected, shutdown, stepdown), and its slot
   * or queue place goes to the next operation at once. Once `fn` started it runs to completion.
   */
  async run<T>(commandName: string, fn: () => T | Promise<T>, options: RunOptions = {}): Promise<T> {
    const serviceMS = this.sampleServiceTime(commandName);
    if (this.capacity === Infinity && serviceMS <= 0 && options.deadline === undefined) {
      // Fast path: no model configured. Still counted so tests can observe concurrency.
      this.enter();
      try {
        return await fn();
      } finally {
        this.leave(true);
      }
    }
    await this.acquire(options);
    let served = false;
    try {
      if (serviceMS > 0) await this.wait(serviceMS, options);
      else checkDeadline(options, () => this._timedOut++);
      options.signal?.throwIfAborted();
      served = true;
      return await fn();
    } finally {
      // Abandoned during its service time (not a maxTimeMS expiry): it never ran.
      this.leave(served || options.signal?.aborted !== true);
    }
  }

  /**
   * Delays the first hello/isMaster of a connection by `handshakeDelayMS`; later calls with the
   * same key return at once. `key` is the per-connection state object.
   */
  async delayHandshake(key: object, signal?: AbortSignal): Promise<void> {
    if (this.handshaken.has(key)) return;
    this.handshaken.add(key);
    const ms = this.handshakeSampler();
    if (ms > 0) await this.wait(ms, { signal });
  }

  private enter(): void {
    this._running++;
    if (this._running > this._maxObservedRunning) this._maxObservedRunning = this._running;
  }

  private leave(completed: boolean): void {
    this._running--;
    if (completed) this._completed++;
    else this._aborted++;
    this.admit();
  }

  /** Grants slots to queued operations while capacity allows, oldest first. */
  private admit(): void {
    while (this.queue.length > 0 && this._running < this.capacity) {
      const waiter = this.queue.shift()!;
      this.enter();
      waiter.grant();
    }
  }

  private acquire(options: RunOptions): Promise<void> {
    checkDeadline(options, () => this._timedOut++);
    if (options.signal?.aborted) {
      this._aborted++;
      throw abortReason(options.signal);
    }
    if (this._running < this.capacity && this.queue.length === 0) {
      this.enter();
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let unwatch: (() => void) | undefined;
      const cleanup = () => {
        if (timer) clearTimeout(timer);
        unwatch?.();
      };
      const dequeue = () => {
        const at = this.queue.indexOf(waiter);
        if (at !== -1) this.queue.splice(at, 1);
        cleanup();
      };
      const onAbort = () => {
        dequeue();
        this._aborted++;
        reject(abortReason(options.signal!));
      };
      const waiter: Waiter = {
        grant: () => {
          cleanup();
          resolve();
        },
      };
      this.queue.push(waiter);
      if (this.queue.length > this._maxObservedQueued) this._maxObservedQueued = this.queue.length;
      if (options.deadline !== undefined) {
        timer = setTimeout(() => {
          dequeue();
          this._timedOut++;
          reject(maxTimeExpired());
        }, Math.max(0, options.deadline - Date.now()));
      }
      if (options.signal) unwatch = watchAbort(options.signal, onAbort);
    });
  }

  /** Sleeps `ms`, cut short by the deadline (MaxTimeMSExpired) or the signal. */
  private wait(ms: number, options: RunOptions): Promise<void> {
    checkDeadline(options, () => this._timedOut++);
    options.signal?.throwIfAborted();
    const untilDeadline = options.deadline === undefined ? Infinity : options.deadline - Date.now();
    return new Promise<void>((resolve, reject) => {
      const expires = untilDeadline < ms;
      let unwatch: (() => void) | undefined;
      const timer = setTimeout(() => {
        unwatch?.();
        if (expires) {
          this._timedOut++;
          reject(maxTimeExpired());
        } else {
          resolve();
        }
      }, Math.max(0, Math.min(ms, untilDeadline)));
      const onAbort = () => {
        clearTimeout(timer);
        reject(abortReason(options.signal!));
      };
      if (options.signal) unwatch = watchAbort(options.signal, onAbort);
    });
  }
}

export function maxTimeExpired(): CommandError {
  return CommandError.of('MaxTimeMSExpired', 'operation exceeded time limit');
}

function checkDeadline(options: RunOptions, onExpired: () => void): void {
  if (options.deadline !== undefined && Date.now() >= options.deadline) {
    onExpired();
    throw maxTimeExpired();
  }
}

/**
 * One 'abort' listener per signal, however many operations wait on it (many queued operations
 * share a connection's or the server's signal; one listener each would trip Node's leak warning).
 */
const abortWatchers = new WeakMap<AbortSignal, Set<() => void>>();

function watchAbort(signal: AbortSignal, onAbort: () => void): () => void {
  let watchers = abortWatchers.get(signal);
  if (!watchers) {
    const set = new Set<() => void>();
    watchers = set;
    abortWatchers.set(signal, set);
    signal.addEventListener('abort', () => {
      for (const fn of [...set]) fn();
      set.clear();
    }, { once: true });
  }
  watchers.add(onAbort);
  return () => watchers.delete(onAbort);
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new Error('operation aborted');
}

function compileLatency(spec: LatencySpec, random: RandomSource): { fallback: Sampler; perCommand: Map<string, Sampler> } {
  if (isServiceTime(spec)) return { fallback: compileServiceTime(spec, 'latencyMS', random), perCommand: new Map() };
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new PoolConfigError('latencyMS', spec, 'must be milliseconds, a distribution ({ dist, ... }) or per-command overrides ({ default, find, ... })');
  }
  let fallback: Sampler = () => 0;
  const perCommand = new Map<string, Sampler>();
  for (const [name, value] of Object.entries(spec)) {
    if (value === undefined) continue;
    const sampler = compileServiceTime(value, `latencyMS.${name}`, random);
    if (name === 'default') fallback = sampler;
    else perCommand.set(name, sampler);
  }
  return { fallback, perCommand };
}

function isServiceTime(spec: unknown): spec is ServiceTime {
  return typeof spec === 'number' || (typeof spec === 'object' && spec !== null && 'dist' in spec);
}

/** Turns a service-time description into a sampler, validating it (errors name the option). */
export function compileServiceTime(spec: ServiceTime, option: string, random: RandomSource): Sampler {
  const positive = (field: string, v: unknown, allowZero = true): number => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
      throw new PoolConfigError(`${option}${field ? `.${field}` : ''}`, v, allowZero ? 'must be a finite number >= 0' : 'must be a finite number > 0');
    }
    return v;
  };
  if (typeof spec === 'number') {
    const ms = positive('', spec);
    return () => ms;
  }
  if (spec === null || typeof spec !== 'object') {
    throw new PoolConfigError(option, spec, 'must be milliseconds or a distribution ({ dist: "lognormal", medianMS, p99MS } ...)');
  }
  switch (spec.dist) {
    case 'fixed': {
      const ms = positive('ms', spec.ms);
      return () => ms;
    }
    case 'lognormal': {
      const median = positive('medianMS', spec.medianMS, false);
      const p99 = positive('p99MS', spec.p99MS, false);
      if (p99 < median) throw new PoolConfigError(`${option}.p99MS`, p99, `must be >= medianMS (${median})`);
      const mu = Math.log(median);
      const sigma = (Math.log(p99) - mu) / Z99;
      return () => Math.exp(mu + sigma * normal(random));
    }
    case 'uniform': {
      const min = positive('minMS', spec.minMS);
      const max = positive('maxMS', spec.maxMS);
      if (max < min) throw new PoolConfigError(`${option}.maxMS`, max, `must be >= minMS (${min})`);
      return () => min + (max - min) * random();
    }
    case 'exponential': {
      const mean = positive('meanMS', spec.meanMS);
      return () => -mean * Math.log(1 - random());
    }
    default:
      throw new PoolConfigError(`${option}.dist`, (spec as { dist?: unknown }).dist, 'must be "fixed", "lognormal", "uniform" or "exponential"');
  }
}

/**
 * A service time from text (CLI flags): `5` (fixed ms), `lognormal:MEDIAN:P99`, `uniform:MIN:MAX`,
 * `exponential:MEAN`. Throws a RangeError describing the accepted forms.
 */
export function parseServiceTime(text: string): ServiceTime {
  const parts = text.trim().split(':');
  const nums = parts.slice(1).map(Number);
  const ok = (n: number) => nums.length === n && nums.every((v) => Number.isFinite(v) && v >= 0);
  let spec: ServiceTime | undefined;
  if (parts.length === 1 && parts[0] !== '' && Number.isFinite(Number(parts[0])) && Number(parts[0]) >= 0) spec = Number(parts[0]);
  else if (parts[0] === 'lognormal' && ok(2)) spec = { dist: 'lognormal', medianMS: nums[0], p99MS: nums[1] };
  else if (parts[0] === 'uniform' && ok(2)) spec = { dist: 'uniform', minMS: nums[0], maxMS: nums[1] };
  else if (parts[0] === 'exponential' && ok(1)) spec = { dist: 'exponential', meanMS: nums[0] };
  if (spec === undefined) {
    throw new RangeError(`expected milliseconds (5), lognormal:MEDIAN:P99, uniform:MIN:MAX or exponential:MEAN, got '${text}'`);
  }
  compileServiceTime(spec, 'latency', () => 0.5); // same validation as the JS option (p99 >= median...)
  return spec;
}
