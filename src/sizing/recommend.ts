import { PoolConfigError } from '../errors.js';
import { metricsFromErlangB, mmcMetrics, nextErlangB, waitQuantileMS, type QueueMetrics } from './queueing.js';
import {
  rejectUnknownKeys,
  requireFraction,
  requireObject,
  requirePositive,
  requirePositiveInteger,
} from './validate.js';

export interface RecommendPoolSizeOptions {
  /** Operations per second that ONE process (the pool being sized) sends to the server. */
  arrivalRate: number;
  /** How long an operation holds a connection (check-out to check-in), in ms. */
  holdTimeMS: { mean: number; p99?: number };
  /** Operations the server runs at once (its cores, or the load model's maxConcurrentOps). */
  serverCapacity?: number;
  /**
   * Mean time the server spends executing one operation, in ms (serverStatus `opLatencies`). The
   * rest of the hold time is network and client work, during which the connection holds no server
   * slot. Default: the whole mean hold time. Only used with serverCapacity.
   */
  serverTimeMS?: number;
  /** Processes with the same workload sharing that server (default 1). */
  processes?: number;
  /** Acceptable mean wait for a connection, in ms (default: 10% of the mean hold time). */
  targetWaitMS?: number;
  /** Highest acceptable share of the pool busy on average (default 0.8, i.e. 25% headroom). */
  targetUtilisation?: number;
}

export interface PoolSizeRecommendation {
  maxPoolSize: number;
  /** Connections kept warm: the mean number busy, so steady load never waits for a handshake. */
  minPoolSize: number;
  waitQueueTimeoutMS: number;
  /** Mean wait for a connection over all operations (M/M/c); Infinity when the server is overloaded. */
  expectedWaitMS: number;
  /** Mean share of the pool busy; when the server capacity limits the pool, the server's share busy. */
  utilisation: number;
  /** Share of operations that wait at all (Erlang C). */
  probabilityOfWait: number;
  /** Mean number of connections busy, L = λ·W (Little's law). */
  offeredLoad: number;
  /** What decided maxPoolSize: the wait/utilisation targets, or the server's concurrent capacity. */
  limitedBy: 'targets' | 'serverCapacity';
  /** True when the fleet offers more work than the server can run: no pool size fixes that. */
  saturated: boolean;
  reasoning: string[];
}

const KNOWN_OPTIONS = ['arrivalRate', 'holdTimeMS', 'serverCapacity', 'serverTimeMS', 'processes', 'targetWaitMS', 'targetUtilisation'] as const;
const DEFAULT_TARGET_UTILISATION = 0.8;
const DEFAULT_TARGET_WAIT_SHARE = 0.1;
/** Above this many busy connections the search would take long and the answer means little. */
const MAX_OFFERED_LOAD = 1_000_000;
/** The timeout should only fire on a real stall: sized from the 99.9th percentile wait. */
const WAIT_TAIL = 0.001;
/** A check-out can include opening a connection (TLS + auth), so never time out sooner. */
const MIN_WAIT_QUEUE_TIMEOUT_MS = 1000;
/** p99 / mean of an exponential distribution, the hold-time shape M/M/c assumes. */
const EXPONENTIAL_P99_RATIO = Math.log(100);

/**
 * Recommends maxPoolSize, minPoolSize and waitQueueTimeoutMS for a measured workload with the
 * M/M/c model: the smallest pool whose expected wait (Erlang C) and utilisation meet the targets,
 * capped by the server's share of concurrent capacity. Throws PoolConfigError naming the field
 * on bad input.
 */
export function recommendPoolSize(options: RecommendPoolSizeOptions): PoolSizeRecommendation {
  const input = readOptions(options);
  const { arrivalRate, holdMean, processes, targetWaitMS, targetUtilisation, serverCapacity } = input;
  const offeredLoad = (arrivalRate * holdMean) / 1000;
  const reasoning: string[] = [
    `Little's law: L = λ·W = ${fmt(arrivalRate)} ops/s × ${fmt(holdMean)} ms = ${fmt(offeredLoad)} connections busy on average.`,
    `Targets: mean wait ≤ ${fmt(targetWaitMS)} ms${options.targetWaitMS === undefined ? ' (default: 10% of the mean hold time)' : ''}, ` +
      `utilisation ≤ ${pct(targetUtilisation)}.`,
  ];

  const { chosen, previous } = smallestPoolMeetingTargets(offeredLoad, holdMean, targetWaitMS, targetUtilisation);
  reasoning.push(
    `M/M/c with Erlang C: c = ${chosen.servers} is the smallest pool meeting both (utilisation ${pct(chosen.utilisation)}, ` +
      `P(wait) ${pct(chosen.probabilityOfWait)}, mean wait ${fmt(chosen.expectedWaitMS)} ms)` +
      (previous ? `; c = ${previous.servers} would give ${describeMiss(previous, targetWaitMS, targetUtilisation)}.` : '.'),
  );

  let maxPoolSize = chosen.servers;
  let metrics = chosen;
  let limitedBy: PoolSizeRecommendation['limitedBy'] = 'targets';
  let saturated = false;
  if (serverCapacity !== undefined) {
    const serverTimeMS = input.serverTimeMS ?? holdMean;
    // Operations executing at the server on average (Little's law with the server's time).
    const fleetLoad = (arrivalRate * processes * serverTimeMS) / 1000;
    // A connection occupies a server slot only for serverTimeMS of each holdTimeMS (the rest is
    // network and client work), so this many connections keep every slot busy.
    const perProcess = Math.ceil((serverCapacity * holdMean) / serverTimeMS / processes - 1e-9);
    saturated = fleetLoad >= serverCapacity;
    if (processes > 1 || input.serverTimeMS !== undefined) {
      reasoning.push(
        `Server: ${processes} process${processes > 1 ? 'es' : ''} × ${fmt(arrivalRate)} ops/s × ${fmt(serverTimeMS)} ms of server time = ` +
          `${fmt(fleetLoad)} operations executing on average, ${pct(fleetLoad / serverCapacity)} of its capacity of ${serverCapacity}.`,
      );
    }
    if (maxPoolSize > perProcess || saturated) {
      maxPoolSize = Math.min(maxPoolSize, perProcess);
      limitedBy = 'serverCapacity';
      // The waiting moves to the server's run queue; the fleet behaves like one M/M/c queue with
      // c = serverCapacity, whatever the pools' split.
      metrics = mmcMetrics(serverCapacity, fleetLoad, serverTimeMS);
      const share =
        input.serverTimeMS === undefined
          ? `serverCapacity ${serverCapacity} / ${processes} process${processes > 1 ? 'es' : ''}`
          : `serverCapacity ${serverCapacity} × hold ${fmt(holdMean)} ms / server time ${fmt(serverTimeMS)} ms / ${processes} process${processes > 1 ? 'es' : ''}`;
      reasoning.push(
        `Capped at ${perProcess} = ⌈${share}⌉: the server runs only ${serverCapacity} operations at once, so a bigger pool ` +
          `only moves the queue to the server (and adds connection overhead there).`,
      );
    } else {
      reasoning.push(`Server capacity ${serverCapacity} allows up to ${perProcess} connections per process; the pool of ${maxPoolSize} fits.`);
    }
    if (saturated) {
      reasoning.push(
        `Saturated: the fleet keeps ${fmt(fleetLoad)} operations busy at a server that runs ${serverCapacity} at once; ` +
          `waits grow without bound whatever the pool size. Reduce the load, make operations cheaper or add server capacity. ` +
          `(Hold times measured now also include the server's queueing, so the true demand may be lower.)`,
      );
    }
  }

  const minPoolSize = Math.min(maxPoolSize, Math.max(1, Math.ceil(offeredLoad)));
  reasoning.push(
    `minPoolSize ${minPoolSize}: the connections busy on average (⌈L⌉), kept warm so steady load never waits for a new connection's handshake.`,
  );

  const timeout = waitQueueTimeout(metrics, holdMean, input.holdP99, saturated);
  reasoning.push(timeout.reason);

  return {
    maxPoolSize,
    minPoolSize,
    waitQueueTimeoutMS: timeout.valueMS,
    expectedWaitMS: saturated ? Infinity : metrics.expectedWaitMS,
    utilisation: limitedBy === 'serverCapacity' ? metrics.utilisation : chosen.utilisation,
    probabilityOfWait: saturated ? 1 : metrics.probabilityOfWait,
    offeredLoad,
    limitedBy,
    saturated,
    reasoning,
  };
}

/** Walks c upward, carrying the Erlang B recurrence along, so the whole search is O(c). */
function smallestPoolMeetingTargets(
  offeredLoad: number,
  holdMean: number,
  targetWaitMS: number,
  targetUtilisation: number,
): { chosen: QueueMetrics; previous?: QueueMetrics } {
  let b = 1;
  let previous: QueueMetrics | undefined;
  for (let c = 1; ; c++) {
    b = nextErlangB(b, c, offeredLoad);
    if (c <= offeredLoad) continue; // unstable: the queue would grow without bound
    const metrics = metricsFromErlangB(b, c, offeredLoad, holdMean);
    if (metrics.expectedWaitMS <= targetWaitMS && metrics.utilisation <= targetUtilisation) {
      return previous ? { chosen: metrics, previous } : { chosen: metrics };
    }
    previous = metrics;
  }
}

function describeMiss(metrics: QueueMetrics, targetWaitMS: number, targetUtilisation: number): string {
  const misses: string[] = [];
  if (metrics.utilisation > targetUtilisation) misses.push(`utilisation ${pct(metrics.utilisation)}`);
  if (metrics.expectedWaitMS > targetWaitMS) misses.push(`mean wait ${fmt(metrics.expectedWaitMS)} ms`);
  return misses.join(' and ');
}

/**
 * A waiter gets a connection when one of the busy ones is returned; when slow operations hold
 * them all that takes up to the p99 hold time, on top of the queue's own 99.9th percentile wait
 * (stretched when hold times are heavier-tailed than the exponential M/M/c assumes). Doubling
 * that leaves room for bursts, so the timeout fires on stalls (a leak, a hung server), not on load.
 */
function waitQueueTimeout(
  metrics: QueueMetrics,
  holdMean: number,
  holdP99: number | undefined,
  saturated: boolean,
): { valueMS: number; reason: string } {
  const p99 = holdP99 ?? holdMean * EXPONENTIAL_P99_RATIO;
  const tailStretch = Math.max(1, p99 / (holdMean * EXPONENTIAL_P99_RATIO));
  const waitTail = saturated ? 0 : waitQuantileMS(metrics, WAIT_TAIL) * tailStretch;
  const raw = 2 * (waitTail + p99);
  const valueMS = Math.max(MIN_WAIT_QUEUE_TIMEOUT_MS, roundUpNice(raw));
  const p99Text = holdP99 === undefined ? `p99 hold ≈ ${fmt(p99)} ms (exponential, no p99 given)` : `p99 hold ${fmt(p99)} ms`;
  const reason =
    `waitQueueTimeoutMS ${valueMS}: 2 × (${saturated ? 'no finite queue wait while saturated' : `99.9th percentile wait ${fmt(waitTail)} ms`} + ${p99Text}) ` +
    `= ${fmt(raw)} ms, rounded up${valueMS === MIN_WAIT_QUEUE_TIMEOUT_MS && raw <= MIN_WAIT_QUEUE_TIMEOUT_MS ? ` to the floor of ${MIN_WAIT_QUEUE_TIMEOUT_MS} ms (a check-out may include a new connection's handshake)` : ''}; ` +
    `it fails fast on a stall instead of queueing forever (driver default 0 = no limit).`;
  return { valueMS, reason };
}

/** Smallest of 1, 2, 5 × 10^k that is ≥ value. */
export function roundUpNice(value: number): number {
  if (!(value > 0)) return 0;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) {
    const candidate = step * magnitude;
    if (candidate >= value - 1e-9 * magnitude) return Math.round(candidate * 1e6) / 1e6;
  }
  return 10 * magnitude;
}

interface ReadOptions {
  arrivalRate: number;
  holdMean: number;
  holdP99?: number;
  serverCapacity?: number;
  serverTimeMS?: number;
  processes: number;
  targetWaitMS: number;
  targetUtilisation: number;
}

function readOptions(options: RecommendPoolSizeOptions): ReadOptions {
  const raw = requireObject('options', options);
  rejectUnknownKeys('', raw, KNOWN_OPTIONS);
  const arrivalRate = requirePositive('arrivalRate', raw.arrivalRate);
  const hold = requireObject('holdTimeMS', raw.holdTimeMS);
  rejectUnknownKeys('holdTimeMS', hold, ['mean', 'p99']);
  const holdMean = requirePositive('holdTimeMS.mean', hold.mean);
  let holdP99: number | undefined;
  if (hold.p99 !== undefined) {
    holdP99 = requirePositive('holdTimeMS.p99', hold.p99);
    if (holdP99 < holdMean) throw new PoolConfigError('holdTimeMS.p99', holdP99, `must be at least holdTimeMS.mean (${holdMean})`);
  }
  const serverCapacity = raw.serverCapacity === undefined ? undefined : requirePositiveInteger('serverCapacity', raw.serverCapacity);
  let serverTimeMS: number | undefined;
  if (raw.serverTimeMS !== undefined) {
    serverTimeMS = requirePositive('serverTimeMS', raw.serverTimeMS);
    if (serverTimeMS > holdMean) {
      throw new PoolConfigError('serverTimeMS', serverTimeMS, `must not exceed holdTimeMS.mean (${holdMean}): the server's time is part of the hold time`);
    }
  }
  const processes = raw.processes === undefined ? 1 : requirePositiveInteger('processes', raw.processes);
  const targetWaitMS = raw.targetWaitMS === undefined ? holdMean * DEFAULT_TARGET_WAIT_SHARE : requirePositive('targetWaitMS', raw.targetWaitMS);
  const targetUtilisation =
    raw.targetUtilisation === undefined ? DEFAULT_TARGET_UTILISATION : requireFraction('targetUtilisation', raw.targetUtilisation);
  if ((arrivalRate * holdMean) / 1000 > MAX_OFFERED_LOAD) {
    throw new PoolConfigError(
      'arrivalRate',
      arrivalRate,
      `too large: arrivalRate × holdTimeMS.mean / 1000 (busy connections) must be at most ${MAX_OFFERED_LOAD}`,
    );
  }
  const result: ReadOptions = { arrivalRate, holdMean, processes, targetWaitMS, targetUtilisation };
  if (holdP99 !== undefined) result.holdP99 = holdP99;
  if (serverCapacity !== undefined) result.serverCapacity = serverCapacity;
  if (serverTimeMS !== undefined) result.serverTimeMS = serverTimeMS;
  return result;
}

/** Compact number for explanations: 3 significant digits, no exponent for everyday sizes. */
export function fmt(value: number): string {
  if (!Number.isFinite(value)) return value > 0 ? '∞' : String(value);
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 100) return String(Math.round(value));
  return String(Number(value.toPrecision(3)));
}

function pct(share: number): string {
  return `${fmt(share * 100)}%`;
}
