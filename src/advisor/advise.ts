import { MongoClient, type MongoClientOptions } from 'mongodb';
import { performance } from 'node:perf_hooks';
import { PoolConfigError } from '../errors.js';
import { redactUri } from '../util/redact.js';
import { recommendPoolSize, type PoolSizeRecommendation } from '../sizing/recommend.js';
import { requireNonNegativeInteger, requirePositiveInteger } from '../sizing/validate.js';
import { poolSizesAround, readLoad, runSweep, type LoadShape, type SweepResult, type SweepRun } from '../bench/sweep.js';
import { createWorkload, type Workload, type WorkloadName } from '../bench/workloads.js';
import {
  describeKnee,
  estimateFromSteps,
  kneeStep,
  KNEE_HIGH_CONCURRENCY,
  LOW_STEP_MAX_EXTENSIONS,
  lowStepExtensionMS,
  plateauThroughput,
  pooledStep,
  type CapacityEstimate,
  type KneeStep,
} from './capacity.js';
import { measureWorkload, warmUp, type WorkloadMeasurement } from './measure.js';
import { DRIVER_DEFAULT_POOL_SIZE, ruleAnswers, serverCores, type RuleAnswers } from './rules.js';
import {
  evaluatePoolSizes,
  isShortOf,
  MAX_ADJUSTMENT,
  pairP99Judged,
  pointsFromSweep,
  SIDE_BY_SIDE_PAIRS,
  sideBySideVerdict,
  verifiedPoolSize,
  type PoolSizeEvaluation,
  type VerificationCriteria,
} from './verify.js';

export interface AdviseWorkloadOptions {
  /** The deployment to measure (its data in `database`.`collection` is replaced by the workload's documents). */
  uri: string;
  /** A workload name or a ready Workload (default 'findOne'). */
  workload?: WorkloadName | Workload;
  /** How the application drives it: `{ mode: 'closed', concurrency }` callers, or `{ mode: 'open', rate }` ops/s (default 64 callers). */
  load?: LoadShape;
  /** Operations the server runs at once; when omitted it is estimated from the knee of the throughput curve. */
  serverCapacity?: number;
  /** Verify with every pool size from 1 to `maxPoolSize` instead of a few around the answer. */
  thorough?: boolean;
  /** Run the verification sweep (default true). */
  verify?: boolean;
  /** Largest pool size the verification measures (default 64). */
  maxPoolSize?: number;
  /** Also measure what the seed formula, the driver default and cores × 2 + 1 pick (default true). */
  compareRules?: boolean;
  /** Each measurement and each verified pool size runs this long, ms (default 1500). */
  durationMS?: number;
  /** Unmeasured load before each of them, ms (default 300). */
  warmupMS?: number;
  documents?: number;
  seed?: number | string;
  database?: string;
  collection?: string;
  /** Options for every client the advisor opens (timeouts, TLS, ...); pool options are its own. */
  clientOptions?: MongoClientOptions;
  /** Tolerances of the verification (default: 97% of the best throughput, p99 ≤ 1.1 × the best). */
  criteria?: Partial<VerificationCriteria>;
  signal?: AbortSignal;
  onProgress?: (progress: AdviseProgress) => void;
}

export interface AdviseProgress {
  step: 'setup' | 'measure' | 'capacity' | 'verify' | 'done';
  /** What runs now, e.g. "verify: maxPoolSize 12 (3/9)". */
  detail: string;
  /** 0..1 over the whole run (an estimate: the verification's size is known only after the recommendation). */
  fraction: number;
}

export interface AdviseVerification extends PoolSizeEvaluation {
  thorough: boolean;
  /** The pool sizes measured, smallest first. */
  sizes: number[];
  sweep: SweepResult;
  /**
   * Before the advice moves up to a larger size, that size and the recommendation are measured
   * side by side, pair after pair, up to SIDE_BY_SIDE_PAIRS (3) times; the move happens only if the
   * recommendation falls short of it by the yardstick in every one of the 3 (`confirmed`). The
   * pairs stop at the first one in which it kept up. Absent when no move was considered.
   */
  pairedCheck?: PairedCheck;
}

/** One side-by-side pair: the smaller size's run, then the larger one's. */
export interface SideBySidePair {
  recommended: { throughput: number; p99MS: number };
  candidate: { throughput: number; p99MS: number };
  /** Whether the two p99s were compared: both runs had at least `minP99Samples` successful operations. */
  p99Judged: boolean;
  /** The smaller size's throughput < throughputShare × the larger one's, or (when p99Judged) its p99 > p99Factor × the larger one's. */
  recommendedShort: boolean;
}

export interface PairedCheck {
  /** The size the advice would move to. */
  candidate: number;
  /** In the order measured; fewer than 3 when the recommendation kept up in the last one (or on interruption). */
  pairs: SideBySidePair[];
  confirmed: boolean;
  /**
   * When the move was confirmed and the candidate is more than one size above the recommendation:
   * the sizes between them, each measured side by side with the candidate in the same way, in the
   * order measured. The first is their geometric mean (rounded); then a bisection: the next size
   * lies between the largest size found short so far (at first the recommendation) and the
   * smallest that kept up (at first the candidate). The advice moves to the smallest size that kept
   * up (`short` false), or to the candidate when every one fell short in 3 of 3 pairs: the sizes
   * between were measured once each, and one run apiece is no proof that all of them fall short
   * (with sizes at 1.25, 1.5 and 2 × the answer, the move would otherwise double the pool). At most
   * MAX_BETWEEN_STEPS steps, and (unless thorough) a step only while one more, as long as the
   * check took, would end under ADVISE_TARGET_MS.
   */
  between?: BetweenStep[];
  /** With a confirmed move: why the steps between ended (`narrowed`: no size was left between). */
  betweenStopped?: NarrowingStop;
}

/** Why the bisection of a move up ended. */
export type NarrowingStop = 'narrowed' | 'step limit' | 'time limit' | 'interrupted';

/** What `narrowMove`'s comparison of one size with the candidate gives. */
export interface SideBySideOutcome {
  pairs: SideBySidePair[];
  verdict: 'short' | 'kept up' | 'undecided';
}

/** One size between the recommendation and the candidate, measured side by side with the candidate. */
export interface BetweenStep {
  size: number;
  pairs: SideBySidePair[];
  /** It fell short of the candidate in every one of the 3 pairs. */
  short: boolean;
}

export interface AdviseResult {
  /** The deployment, password redacted. */
  target: string;
  workload: { name: WorkloadName; description: string; documents: number };
  load: LoadShape;
  /** The workload measured with a large pool (PoolMonitor): arrival rate, hold time and its spread. */
  measurement: WorkloadMeasurement;
  capacity: CapacityEstimate;
  /** recommendPoolSize on the measurement (Little's law, Erlang C, capped by the capacity). */
  recommendation: PoolSizeRecommendation;
  /** The rules of thumb for the same workload. */
  rules: RuleAnswers;
  verification: AdviseVerification | null;
  /** What to configure: the recommendation, moved to the nearest qualifying size if the verification rejected it. */
  advice: {
    maxPoolSize: number;
    minPoolSize: number;
    waitQueueTimeoutMS: number;
    /** `verified`: the recommendation met the criteria; `adjusted`: it did not and a measured neighbour did; `unverified`: no verification, or nothing qualified. */
    verdict: 'verified' | 'adjusted' | 'unverified';
    notes: string[];
  };
  durationMS: number;
  warmupMS: number;
  elapsedMS: number;
}

const DEFAULT_LOAD: LoadShape = { mode: 'closed', concurrency: KNEE_HIGH_CONCURRENCY };
const DEFAULT_DURATION_MS = 1500;
/** At most this many sizes between are checked before a move up (a 2× move narrows to one size in 3). */
const MAX_BETWEEN_STEPS = 3;
/**
 * A default run should finish in under a minute: a further step between starts only if the run so
 * far plus the last step's duration stays under this (not with `thorough`, which takes minutes).
 */
const ADVISE_TARGET_MS = 55_000;
const DEFAULT_WARMUP_MS = 300;
/** Warm-up of an extension of the single-caller knee step: the process is warm, only the connection is new. */
const EXTENSION_WARMUP_MS = 100;
const DEFAULT_MAX_POOL_SIZE = 64;
/** Estimated size of a default verification (sizes around the answer + the rules), for progress only. */
const TYPICAL_VERIFY_SIZES = 11;
/** The process warm-up lasts this many per-step warm-ups (3 s by default). */
const INITIAL_WARMUP_FACTOR = 10;

/**
 * Measures a workload and advises a pool size with the evidence: the workload's arrival rate and
 * connection hold time from a PoolMonitor (with a large pool, so nothing waits), the server's
 * capacity (given, or from the knee: N* ≈ X_max × R_min), `recommendPoolSize` on those, the rules
 * of thumb for comparison, and a sweep of pool sizes around the answer that shows whether it
 * reaches ≥ 97% of the best throughput with a p99 ≤ 1.1 × the best. Prints nothing.
 */
export async function adviseWorkload(options: AdviseWorkloadOptions): Promise<AdviseResult> {
  const started = performance.now();
  const input = readOptions(options);
  const { workload, load, durationMS, warmupMS } = input;
  const database = options.database ?? 'poolkit_advise';
  const collection = options.collection ?? workload.name;
  const base = { uri: options.uri, workload, database, collection, durationMS, warmupMS, clientOptions: options.clientOptions, signal: options.signal };

  // Progress: every step (measurement, knee step, verified size) costs about warm-up + duration.
  const lowReusable = load.mode === 'closed' && load.concurrency === 1;
  const highReusable = load.mode === 'closed' && load.concurrency >= KNEE_HIGH_CONCURRENCY;
  const kneeSteps = input.serverCapacity !== undefined ? 0 : (lowReusable ? 0 : 1) + (highReusable ? 0 : 1);
  let verifySteps = input.verify ? (input.thorough ? input.maxPoolSize + 3 : TYPICAL_VERIFY_SIZES) : 0;
  let stepsDone = 0;
  /** Measurements added on the way (extensions of the single-caller knee step). */
  let extraSteps = 0;
  let lastFraction = 0;
  const report = (step: AdviseProgress['step'], detail: string, within = 0) => {
    const planned = 2 + kneeSteps + extraSteps + verifySteps;
    lastFraction = step === 'done' ? 1 : Math.max(lastFraction, Math.min(0.999, (stepsDone + within) / planned));
    options.onProgress?.({ step, detail, fraction: lastFraction });
  };
  const warmShare = warmupMS / (warmupMS + durationMS);
  const within = (fraction: number, phase: 'warmup' | 'run') => (phase === 'warmup' ? warmShare * fraction : warmShare + (1 - warmShare) * fraction);

  report('setup', `seeding ${workload.documents} documents`);
  const setupClient = new MongoClient(options.uri, options.clientOptions);
  let cores: { cores: number; coresFrom: 'server' | 'local' };
  try {
    await workload.setup(setupClient.db(database).collection(collection));
    cores = await serverCores(setupClient);
  } finally {
    await setupClient.close();
  }

  // 0. Warm the process up (JIT, heap) on the heaviest shape it will run.
  const warmupLoad: LoadShape = { mode: 'closed', concurrency: KNEE_HIGH_CONCURRENCY };
  if (warmupMS > 0) {
    report('setup', 'warming up');
    await warmUp({ ...base, load: warmupLoad, poolSize: KNEE_HIGH_CONCURRENCY, durationMS: warmupMS * INITIAL_WARMUP_FACTOR, onProgress: (p) => report('setup', 'warming up', p.fraction) });
  }
  stepsDone++;

  // 1. The workload itself, on a pool large enough that nothing waits for a connection.
  const poolSize = load.mode === 'closed' ? load.concurrency : DRIVER_DEFAULT_POOL_SIZE;
  report('measure', `${describeShape(load)}, maxPoolSize ${poolSize}`);
  const measurement = await measureWorkload({ ...base, load, poolSize, onProgress: (p, phase) => report('measure', `${describeShape(load)}, maxPoolSize ${poolSize}`, within(p.fraction, phase)) });
  stepsDone++;

  // 2. The server's capacity: given, or the knee of the throughput curve.
  let capacity: CapacityEstimate;
  if (input.serverCapacity !== undefined) {
    capacity = { source: 'given', serverCapacity: input.serverCapacity };
  } else {
    const step = async (concurrency: number, extensionMS?: number): Promise<KneeStep> => {
      const more = extensionMS === undefined ? '' : `, ${(extensionMS / 1000).toFixed(1)} s more`;
      const detail = `knee: ${concurrency} caller${concurrency === 1 ? '' : 's'}, maxPoolSize ${concurrency}${more}`;
      report('capacity', detail);
      const m = await measureWorkload({
        ...base,
        // An extension runs on a warm process: its warm-up only opens the connection.
        ...(extensionMS !== undefined && { durationMS: extensionMS, warmupMS: Math.min(warmupMS, EXTENSION_WARMUP_MS) }),
        load: { mode: 'closed', concurrency },
        poolSize: concurrency,
        onProgress: (p, phase) => report('capacity', detail, within(p.fraction, phase)),
      });
      stepsDone++;
      return kneeStep(m, concurrency);
    };
    // One caller sees few operations when each is slow: measure on until R_min's mean is precise
    // enough (LOW_STEP_TARGET_ERROR; each extension is sized from the spread so far, so check
    // again), within LOW_STEP_MAX_MS of measuring, and pool all the operations.
    const lowStep = async (): Promise<KneeStep> => {
      let low = lowReusable ? kneeStep(measurement, 1) : await step(1);
      for (let extensions = 0; extensions < LOW_STEP_MAX_EXTENSIONS && !options.signal?.aborted; extensions++) {
        const more = lowStepExtensionMS(low);
        if (more === 0) break;
        extraSteps++;
        low = pooledStep(low, await step(1, more));
      }
      return low;
    };
    const low = await lowStep();
    const high = highReusable ? kneeStep(measurement, (load as { concurrency: number }).concurrency) : await step(KNEE_HIGH_CONCURRENCY);
    capacity = estimateFromSteps(low, high, measurement.throughput);
  }

  // 3. The model's answer, and the rules of thumb beside it.
  const hold = measurement.holdTimeMS;
  const recommend = (serverCapacity: number) =>
    recommendPoolSize({ arrivalRate: measurement.arrivalRate, holdTimeMS: { mean: hold.mean, p99: Math.max(hold.p99, hold.mean) }, serverCapacity });
  let recommendation = recommend(capacity.serverCapacity);
  const rules = ruleAnswers(load, measurement, cores);

  // 4. The evidence: the same load on pools around the answer, on the rules' picks and on the
  // driver default (a large pool: the reference for the best throughput).
  let verification: AdviseVerification | null = null;
  if (input.verify) {
    const marks: Record<number, string[]> = {};
    const mark = (size: number, label: string) => (marks[size] ??= []).push(label);
    mark(recommendation.maxPoolSize, 'recommended');
    mark(rules.driverDefault.maxPoolSize, 'driver default');
    if (input.compareRules) {
      mark(rules.seedFormula.maxPoolSize, 'seed formula');
      mark(rules.coresRule.maxPoolSize, 'cores × 2 + 1');
    }
    const runs: SweepRun[] = [];
    let sweep: SweepResult | undefined;
    /** Measures the given sizes (`again`: also those measured before; their runs are averaged). */
    const measureSizes = async (wanted: number[], again = false) => {
      const sizes = [...new Set(wanted)].filter((n) => again || !runs.some((r) => r.config.maxPoolSize === n)).sort((a, b) => a - b);
      if (sizes.length === 0) return;
      verifySteps = (sweep ? verifySteps : 0) + sizes.length;
      const stepsBefore = stepsDone;
      const result = await runSweep({
        uri: options.uri,
        configs: sizes.map((maxPoolSize) => ({ maxPoolSize, label: String(maxPoolSize) })),
        workload,
        load,
        durationMS,
        warmupMS,
        database,
        collection,
        ...(options.clientOptions && { clientOptions: options.clientOptions }),
        ...(options.signal && { signal: options.signal }),
        onProgress: (p) => {
          if (p.phase === 'setup' || p.phase === 'done') return;
          stepsDone = stepsBefore;
          report('verify', `maxPoolSize ${p.label} (${p.configIndex + 1}/${p.configCount})`, p.fraction * sizes.length);
        },
      });
      stepsDone = stepsBefore + sizes.length;
      runs.push(...result.runs);
      sweep = { ...(sweep ?? result), runs: [...runs], aborted: Boolean(sweep?.aborted || result.aborted) };
    };
    const around = (pick: number) => poolSizesAround(Math.min(pick, input.maxPoolSize), { thorough: input.thorough, max: input.maxPoolSize });
    const evaluate = () => evaluatePoolSizes(pointsFromSweep(sweep!), { pick: recommendation.maxPoolSize, criteria: input.criteria, marks });

    await measureSizes([...around(recommendation.maxPoolSize), ...Object.keys(marks).map(Number)]);
    let evaluation = evaluate();

    // The knee used X_max from one run; when the verified pools larger than the answer did better
    // (their median, X_max counted with them: not the luckiest run) the plateau is higher and N* larger.
    // Re-estimate once with that plateau, and measure around the new answer.
    const knee = capacity.knee;
    const plateau = knee ? plateauThroughput(evaluation.rows, recommendation.maxPoolSize, knee.maxThroughput) : 0;
    if (!evaluation.pick?.adequate && knee && plateau > knee.maxThroughput && !options.signal?.aborted) {
      const refined = estimateFromSteps(knee.low, knee.high, plateau);
      const second = recommend(refined.serverCapacity);
      if (second.maxPoolSize !== recommendation.maxPoolSize) {
        const first = recommendation.maxPoolSize;
        marks[first] = marks[first].filter((m) => m !== 'recommended').concat('first estimate');
        mark(second.maxPoolSize, 'recommended');
        capacity = { ...refined, refinedFrom: { serverCapacity: capacity.serverCapacity, maxThroughput: knee.maxThroughput } };
        recommendation = second;
        await measureSizes(around(second.maxPoolSize));
        evaluation = evaluate();
      }
    }

    // Still short: measure the pick and the best runs once more and average. The best of many
    // noisy runs is biased upwards (the winner's curse); a second sample of each tells a real
    // difference from a lucky run before the answer is moved.
    if (!evaluation.pick?.adequate && !options.signal?.aborted) {
      await measureSizes([recommendation.maxPoolSize, evaluation.best.throughput.maxPoolSize, evaluation.best.p99.maxPoolSize], true);
      evaluation = evaluate();
    }
    // Moving the answer up on one comparison of noisy runs follows the noise as often as not (a
    // lucky run of the candidate, an unlucky one of the answer): measure the two side by side,
    // pair after pair, and move only if the answer falls short of the candidate in 3 of 3.
    let pairedCheck: PairedCheck | undefined;
    const candidate = verifiedPoolSize(evaluation, recommendation.maxPoolSize);
    /** `smaller` and `larger` measured alternately until `smaller` keeps up in a pair or has fallen short in SIDE_BY_SIDE_PAIRS. */
    const sideBySide = async (smaller: number, larger: number): Promise<SideBySideOutcome> => {
      const pairs: SideBySidePair[] = [];
      let verdict: SideBySideOutcome['verdict'] = 'undecided';
      while (verdict === 'undecided' && !options.signal?.aborted) {
        const before = runs.length;
        await measureSizes([smaller, larger], true);
        // measureSizes runs its sizes smallest first.
        const [mine, theirs] = runs.slice(before).map((run) => ({
          throughput: run.result.throughput,
          p99MS: run.result.latency.p99,
          ok: run.result.ops > run.result.errors,
          successes: run.result.ops - run.result.errors,
        }));
        if (mine === undefined || theirs === undefined) break;
        pairs.push({
          recommended: { throughput: mine.throughput, p99MS: mine.p99MS },
          candidate: { throughput: theirs.throughput, p99MS: theirs.p99MS },
          p99Judged: pairP99Judged(mine, theirs, evaluation.criteria),
          recommendedShort: isShortOf(mine, theirs, evaluation.criteria),
        });
        verdict = sideBySideVerdict(pairs.map((pair) => pair.recommendedShort));
      }
      return { pairs, verdict };
    };
    if (candidate !== recommendation.maxPoolSize && !options.signal?.aborted) {
      const checkStarted = performance.now();
      const check = await sideBySide(recommendation.maxPoolSize, candidate);
      const confirmed = check.verdict === 'short';
      pairedCheck = { candidate, pairs: check.pairs, confirmed };
      if (confirmed) {
        const narrowing = await narrowMove(recommendation.maxPoolSize, candidate, (size) => sideBySide(size, candidate), {
          deadline: input.thorough ? Infinity : started + ADVISE_TARGET_MS,
          // A confirmed check measured every pair: a step that falls short takes as long.
          stepMS: performance.now() - checkStarted,
          ...(options.signal && { signal: options.signal }),
        });
        if (narrowing.steps.length > 0) pairedCheck.between = narrowing.steps;
        pairedCheck.betweenStopped = narrowing.stopped;
      }
      evaluation = evaluate();
    }
    verification = {
      ...evaluation,
      thorough: input.thorough,
      sizes: evaluation.rows.map((r) => r.maxPoolSize),
      sweep: sweep!,
      ...(pairedCheck !== undefined ? { pairedCheck } : {}),
    };
  }

  const advice = adviceFrom(recommendation, verification, load, capacity);
  if (options.signal?.aborted) advice.notes.push('Interrupted: the measurements stopped early, so the evidence is incomplete.');
  report('done', 'done');
  return {
    target: redactUri(options.uri),
    workload: { name: workload.name, description: workload.description, documents: workload.documents },
    load,
    measurement,
    capacity,
    recommendation,
    rules,
    verification,
    advice,
    durationMS,
    warmupMS,
    elapsedMS: performance.now() - started,
  };
}

/** The size a move up checks between the recommendation and the candidate: their geometric mean, or null when they are adjacent. */
export function betweenSize(recommended: number, candidate: number): number | null {
  if (candidate - recommended < 2) return null;
  return Math.min(candidate - 1, Math.max(recommended + 1, Math.round(Math.sqrt(recommended * candidate))));
}

/**
 * The bisection of a confirmed move up (see PairedCheck.between): `compare(size)` measures a size
 * side by side with the candidate. Stops when no size is left between, after MAX_BETWEEN_STEPS,
 * on abort or an undecided comparison, or before a step that could end after `deadline`
 * (performance.now()): one that takes as long as `stepMS` or the longest step so far.
 */
export async function narrowMove(
  recommended: number,
  candidate: number,
  compare: (size: number) => Promise<SideBySideOutcome>,
  limits: { deadline: number; stepMS?: number; signal?: AbortSignal },
): Promise<{ steps: BetweenStep[]; stopped: NarrowingStop }> {
  const steps: BetweenStep[] = [];
  let short = recommended;
  let keptUp = candidate;
  let stepMS = limits.stepMS ?? 0;
  for (let size = betweenSize(short, keptUp); size !== null; size = betweenSize(short, keptUp)) {
    if (limits.signal?.aborted) return { steps, stopped: 'interrupted' };
    if (steps.length >= MAX_BETWEEN_STEPS) return { steps, stopped: 'step limit' };
    if (performance.now() + stepMS > limits.deadline) return { steps, stopped: 'time limit' };
    const stepStarted = performance.now();
    const { pairs, verdict } = await compare(size);
    stepMS = Math.max(stepMS, performance.now() - stepStarted);
    if (verdict === 'undecided') return { steps, stopped: 'interrupted' }; // an incomplete step decides nothing
    steps.push({ size, pairs, short: verdict === 'short' });
    if (verdict === 'short') short = size;
    else keptUp = size;
  }
  return { steps, stopped: 'narrowed' };
}

/** The pair (1-based) in which the smaller size kept up with the larger one; 0 if it fell short in every pair measured. */
export function keptUpInPair(pairs: readonly SideBySidePair[]): number {
  return pairs.findIndex((pair) => !pair.recommendedShort) + 1;
}

/** Where a confirmed move goes: the smallest size between that kept up with the candidate, else the candidate. */
export function movedTo(check: PairedCheck): number {
  const keptUp = (check.between ?? []).filter((step) => !step.short).map((step) => step.size);
  return keptUp.length > 0 ? Math.min(...keptUp) : check.candidate;
}

function adviceFrom(recommendation: PoolSizeRecommendation, verification: AdviseVerification | null, load: LoadShape, capacity: CapacityEstimate): AdviseResult['advice'] {
  const pick = recommendation.maxPoolSize;
  const notes: string[] = [];
  if (recommendation.saturated && load.mode === 'closed') {
    notes.push(
      `A closed loop (${load.concurrency} callers sending again as soon as they are answered) keeps the bottleneck busy, so the model reports saturation: ` +
        `the pool that matters is the smallest one reaching the throughput plateau, about the server's capacity.`,
    );
  }
  if (capacity.source === 'knee' && capacity.knee) {
    const { knee } = capacity;
    notes.push(
      `Capacity estimated at the knee of the throughput curve, in connections: ${describeKnee(knee, capacity.serverCapacity)}` +
        (capacity.refinedFrom !== undefined
          ? ` (re-estimated: the first estimate, ${capacity.refinedFrom.serverCapacity} from X_max ${Math.round(capacity.refinedFrom.maxThroughput)} ops/s, did not verify, and the verified pools larger than it reached ${Math.round(knee.maxThroughput)} ops/s, their median with X_max).`
          : '.'),
    );
  }
  let maxPoolSize = pick;
  let verdict: AdviseResult['advice']['verdict'] = 'unverified';
  if (verification) {
    const { criteria } = verification;
    const pct = (share: number) => `${(share * 100).toFixed(0)}%`;
    const yardstick = `≥ ${pct(criteria.throughputShare)} of the best throughput and p99 ≤ ${criteria.p99Factor} × the best p99`;
    if (verification.p99Unjudged > 0) {
      notes.push(
        `${verification.p99Unjudged} of ${verification.rows.length} measured pool sizes had fewer than ${criteria.minP99Samples} successful operations, ` +
          `so their p99 (little more than the slowest of a few samples) was judged on throughput only: measure longer (durationMS) to judge the tail too.`,
      );
    }
    if (verification.pick?.adequate) {
      verdict = 'verified';
      notes.push(`Verified: maxPoolSize ${pick} reached ${pct(verification.pick.throughputShare)} of the best throughput with p99 ${verification.pick.p99Ratio.toFixed(2)} × the best (${yardstick}).`);
    } else if (verification.adequate.length === 0) {
      notes.push(`No measured pool size met ${yardstick}: the runs are probably too noisy; measure longer (durationMS) on a quieter machine.`);
    } else {
      const check = verification.pairedCheck;
      maxPoolSize = check ? (check.confirmed ? movedTo(check) : pick) : verifiedPoolSize(verification, pick);
      const got = verification.pick ? ` (${pct(verification.pick.throughputShare)} of the best throughput, p99 ${verification.pick.p99Ratio.toFixed(2)} × the best)` : '';
      const smaller = verification.adequate.filter((size) => size < pick);
      if (check && !check.confirmed) {
        // The candidate did not beat the pick when the two were measured side by side.
        verdict = 'verified';
        const keptUpIn = keptUpInPair(check.pairs);
        const outcome =
          keptUpIn === 0
            ? `the side-by-side check stopped after ${check.pairs.length} of ${SIDE_BY_SIDE_PAIRS} pairs, so the move is unconfirmed and ${pick} is kept.`
            : `${pick} kept up with ${check.candidate} in pair ${keptUpIn}${keptUpIn > 1 ? ` (short in the ${keptUpIn - 1} before)` : ''} ` +
              `(within ${pct(criteria.throughputShare)} of its throughput and ${criteria.p99Factor} × its p99), so the first difference was noise and ${pick} is kept.`;
        notes.push(
          `Verified side by side: maxPoolSize ${pick} measured short of ${yardstick}${got} and ${check.candidate} met it, ` +
            `but measured alternately with it again (a move needs ${pick} short in ${SIDE_BY_SIDE_PAIRS} of ${SIDE_BY_SIDE_PAIRS} pairs), ${outcome}`,
        );
      } else if (maxPoolSize === pick && smaller.length > 0) {
        // A smaller size qualified: on the plateau the pick's shortfall is noise.
        verdict = 'verified';
        notes.push(
          `Verified by a smaller pool: maxPoolSize ${pick} measured short of ${yardstick}${got}, but ${smaller.join(', ')} met it; ` +
            `a larger pool does not do worse on the plateau, so the shortfall is run-to-run noise and ${pick} is kept.`,
        );
      } else if (maxPoolSize === pick) {
        // Only sizes far above the pick qualified: kept, but not verified.
        notes.push(
          `Not verified: maxPoolSize ${pick} measured short of ${yardstick}${got}, and so did every size up to ${MAX_ADJUSTMENT} × ${pick}; ` +
            `only ${verification.adequate.join(', ')} met it. That is too far above the answer to be read as the plateau's start from one run each, ` +
            `so ${pick} is kept; measure every size (--thorough) or longer runs (durationMS) to settle it.`,
        );
      } else {
        verdict = 'adjusted';
        const steps = check?.between ?? [];
        const kept = steps.find((step) => step.size === maxPoolSize);
        const allPairs = `${SIDE_BY_SIDE_PAIRS} of ${SIDE_BY_SIDE_PAIRS}`;
        // Stopped by the time limit with sizes left between: a longer run may advise less.
        const untilTime = check?.betweenStopped === 'time limit' ? ` The sizes between were not all checked within a default run's minute; --thorough checks them.` : '';
        if (check && kept) {
          const others = steps.filter((step) => step !== kept);
          const alsoChecked = others.length > 0 ? `; also checked: ${others.map((step) => `${step.size} (${step.short ? 'short in every pair' : 'kept up'})`).join(', ')}` : '';
          const pair = keptUpInPair(kept.pairs);
          const keptUpIn = pair > 1 ? ` in pair ${pair} (short in the ${pair - 1} before)` : ' in the first pair';
          notes.push(
            `The model's ${pick} did not meet ${yardstick}${got}, and ${check.candidate} did (${pick} fell short of it again in ${allPairs} side-by-side pairs); ` +
              `advising ${maxPoolSize}, between the two, which kept up with ${check.candidate}${keptUpIn}${alsoChecked}.${untilTime}`,
          );
        } else {
          const sizes = steps.map((step) => step.size);
          const alsoShort = sizes.length === 0 ? '' : `, as did ${sizes.join(' and ')} in ${allPairs}${sizes.length > 1 ? ' each' : ''}`;
          const evidence = check ? ` (and ${pick} fell short of it again in ${allPairs} side-by-side pairs${alsoShort})` : '';
          notes.push(`The model's ${pick} did not meet ${yardstick}${got}; advising ${maxPoolSize}, the smallest larger size that did${evidence}.${untilTime}`);
        }
      }
    }
  }
  return {
    maxPoolSize,
    minPoolSize: Math.min(recommendation.minPoolSize, maxPoolSize),
    waitQueueTimeoutMS: recommendation.waitQueueTimeoutMS,
    verdict,
    notes,
  };
}

interface ReadOptions {
  workload: Workload;
  load: LoadShape;
  serverCapacity?: number;
  thorough: boolean;
  verify: boolean;
  compareRules: boolean;
  maxPoolSize: number;
  durationMS: number;
  warmupMS: number;
  criteria?: Partial<VerificationCriteria>;
}

function readOptions(options: AdviseWorkloadOptions): ReadOptions {
  if (options === null || typeof options !== 'object') throw new PoolConfigError('options', options, 'must be an object');
  if (typeof options.uri !== 'string' || options.uri === '') throw new PoolConfigError('uri', options.uri, 'must be a connection string');
  const workload =
    options.workload === undefined || typeof options.workload === 'string'
      ? createWorkload(options.workload ?? 'findOne', {
          ...(options.documents !== undefined && { documents: options.documents }),
          ...(options.seed !== undefined && { seed: options.seed }),
        })
      : options.workload;
  const result: ReadOptions = {
    workload,
    load: readAdviseLoad(options.load ?? DEFAULT_LOAD),
    thorough: Boolean(options.thorough),
    verify: options.verify ?? true,
    compareRules: options.compareRules ?? true,
    maxPoolSize: options.maxPoolSize === undefined ? DEFAULT_MAX_POOL_SIZE : requirePositiveInteger('maxPoolSize', options.maxPoolSize),
    durationMS: options.durationMS === undefined ? DEFAULT_DURATION_MS : requirePositiveInteger('durationMS', options.durationMS),
    warmupMS: options.warmupMS === undefined ? DEFAULT_WARMUP_MS : requireNonNegativeInteger('warmupMS', options.warmupMS),
  };
  if (options.serverCapacity !== undefined) result.serverCapacity = requirePositiveInteger('serverCapacity', options.serverCapacity);
  if (options.criteria !== undefined) result.criteria = options.criteria;
  return result;
}

/** The sweep's validation, plus a bound on what an undersized pool can queue in an open loop. */
function readAdviseLoad(load: LoadShape): LoadShape {
  const valid = readLoad(load);
  if (valid.mode === 'closed' || valid.maxOutstanding !== undefined) return valid;
  // ½ s of arrivals, so draining the queue after a run stays short.
  return { ...valid, maxOutstanding: Math.max(64, Math.ceil(valid.rate / 2)) };
}

export function describeShape(load: LoadShape): string {
  return load.mode === 'closed' ? `closed loop, ${load.concurrency} caller${load.concurrency === 1 ? '' : 's'}` : `open loop, ${load.rate} ops/s`;
}
