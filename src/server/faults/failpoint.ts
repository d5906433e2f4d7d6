import type { Document } from 'bson';
import { toNumber, isNumeric } from '../commands/params.js';
import { CommandError } from '../errors.js';
import type { RandomSource } from '../../util/random.js';

/**
 * The `failCommand` fail point with mongod's semantics:
 * - mode: 'alwaysOn' | 'off' | { times: n } | { skip: n } | { activationProbability: p };
 * - filters: failCommands | failAllCommands, appName, namespace; a miss consumes neither times nor skip;
 * - error path (needs closeConnection, blockConnection or errorCode), in order: errorLabels,
 *   sleep blockTimeMS, closeConnection (no reply), errorCode (ok: 0). Block alone: the command then runs;
 * - writeConcernError: the command runs and the document is appended to its reply.
 */
export interface FailCommandData {
  failCommands?: string[];
  failAllCommands?: boolean;
  errorCode?: number;
  errorLabels?: string[];
  closeConnection?: boolean;
  blockConnection?: boolean;
  blockTimeMS?: number;
  writeConcernError?: Document;
  appName?: string;
  namespace?: string;
  failInternalCommands?: boolean;
}

export type FailPointMode = 'alwaysOn' | 'off' | { times: number } | { skip: number } | { activationProbability: number };

export interface FailCommandSpec {
  mode: FailPointMode;
  data?: FailCommandData;
}

/** What the dispatcher must do for one command. */
export interface FailAction {
  labels: string[] | undefined;
  blockTimeMS: number;
  closeConnection: boolean;
  errorCode: number | undefined;
  writeConcernError: Document | undefined;
}

interface ActiveFailPoint {
  kind: 'alwaysOn' | 'times' | 'skip' | 'probability';
  remaining: number;
  probability: number;
  data: FailCommandData;
}

const FAIL_POINT_NAMES = new Set(['failCommand']);

export class FailPoints {
  #failCommand: ActiveFailPoint | null = null;
  #timesEntered = 0;
  #random: RandomSource;

  constructor(random: RandomSource = Math.random) {
    this.#random = random;
  }

  setRandom(random: RandomSource): void {
    this.#random = random;
  }

  get active(): boolean {
    return this.#failCommand !== null;
  }

  /** Validates and installs a fail point; returns the previous entry count (mongod's `count`). */
  configure(name: string, mode: unknown, data: unknown): number {
    if (!FAIL_POINT_NAMES.has(name)) {
      throw CommandError.of('BadValue', `Cannot find fail point '${name}' (this server implements: failCommand)`);
    }
    const previous = this.#timesEntered;
    const parsedMode = parseMode(mode);
    if (parsedMode === null) {
      this.#failCommand = null;
      return previous;
    }
    const parsedData = parseData(data);
    this.#failCommand = { ...parsedMode, data: parsedData };
    this.#timesEntered = 0;
    return previous;
  }

  /** Decides whether `commandName` fails; consumes `times`/`skip` only on a match. */
  check(commandName: string, ns: string, appName: string | undefined): FailAction | null {
    const fp = this.#failCommand;
    if (fp === null) return null;
    const { data } = fp;
    if (!data.failAllCommands && !(data.failCommands ?? []).includes(commandName)) return null;
    if (data.appName !== undefined && data.appName !== appName) return null;
    if (data.namespace !== undefined && data.namespace !== ns) return null;
    switch (fp.kind) {
      case 'skip':
        if (fp.remaining > 0) {
          fp.remaining--;
          return null;
        }
        break;
      case 'probability':
        if (this.#random() >= fp.probability) return null;
        break;
      case 'times':
        fp.remaining--;
        if (fp.remaining <= 0) this.#failCommand = null;
        break;
      default:
        break;
    }
    this.#timesEntered++;
    return {
      labels: data.errorLabels,
      blockTimeMS: data.blockConnection ? data.blockTimeMS ?? 0 : 0,
      closeConnection: data.closeConnection === true,
      errorCode: data.errorCode,
      writeConcernError: data.writeConcernError,
    };
  }
}

function parseMode(mode: unknown): Omit<ActiveFailPoint, 'data'> | null {
  if (mode === 'off') return null;
  if (mode === 'alwaysOn') return { kind: 'alwaysOn', remaining: 0, probability: 1 };
  if (mode && typeof mode === 'object' && !Array.isArray(mode)) {
    const m = mode as Document;
    if ('times' in m) {
      const n = numberField(m.times, 'mode.times');
      if (n <= 0) return null;
      return { kind: 'times', remaining: Math.trunc(n), probability: 1 };
    }
    if ('skip' in m) return { kind: 'skip', remaining: Math.trunc(numberField(m.skip, 'mode.skip')), probability: 1 };
    if ('activationProbability' in m) {
      const p = numberField(m.activationProbability, 'mode.activationProbability');
      if (p < 0 || p > 1) throw CommandError.of('BadValue', `'activationProbability' must be between 0 and 1, got ${p}`);
      return { kind: 'probability', remaining: 0, probability: p };
    }
  }
  throw CommandError.of('BadValue', `mode must be 'alwaysOn', 'off', {times: n}, {skip: n} or {activationProbability: p}`);
}

function numberField(v: unknown, name: string): number {
  if (!isNumeric(v)) throw CommandError.of('TypeMismatch', `'${name}' must be a number`);
  const n = toNumber(v);
  if (!(n >= 0)) throw CommandError.of('BadValue', `'${name}' must be >= 0, got ${n}`);
  return n;
}

function parseData(data: unknown): FailCommandData {
  if (data === undefined || data === null) return {};
  if (typeof data !== 'object' || Array.isArray(data)) throw CommandError.of('TypeMismatch', `'data' must be an object`);
  const d = data as Document;
  const out: FailCommandData = {};
  if (d.failCommands !== undefined) {
    if (!Array.isArray(d.failCommands) || d.failCommands.some((c) => typeof c !== 'string')) {
      throw CommandError.of('TypeMismatch', `'data.failCommands' must be an array of command names`);
    }
    out.failCommands = d.failCommands as string[];
  }
  if (d.failAllCommands !== undefined) out.failAllCommands = Boolean(d.failAllCommands);
  if (d.errorCode !== undefined) out.errorCode = Math.trunc(numberField(d.errorCode, 'data.errorCode'));
  if (d.errorLabels !== undefined) {
    if (!Array.isArray(d.errorLabels) || d.errorLabels.some((l) => typeof l !== 'string')) {
      throw CommandError.of('TypeMismatch', `'data.errorLabels' must be an array of strings`);
    }
    out.errorLabels = d.errorLabels as string[];
  }
  if (d.closeConnection !== undefined) out.closeConnection = Boolean(d.closeConnection);
  if (d.blockConnection !== undefined) out.blockConnection = Boolean(d.blockConnection);
  if (d.blockTimeMS !== undefined) out.blockTimeMS = numberField(d.blockTimeMS, 'data.blockTimeMS');
  if (out.blockConnection && out.blockTimeMS === undefined) {
    throw CommandError.of('BadValue', `'data.blockTimeMS' is required when 'data.blockConnection' is true`);
  }
  if (d.writeConcernError !== undefined) {
    if (typeof d.writeConcernError !== 'object' || d.writeConcernError === null) {
      throw CommandError.of('TypeMismatch', `'data.writeConcernError' must be an object`);
    }
    out.writeConcernError = d.writeConcernError as Document;
  }
  if (d.appName !== undefined) {
    if (typeof d.appName !== 'string') throw CommandError.of('TypeMismatch', `'data.appName' must be a string`);
    out.appName = d.appName;
  }
  if (d.namespace !== undefined) {
    if (typeof d.namespace !== 'string') throw CommandError.of('TypeMismatch', `'data.namespace' must be a string`);
    out.namespace = d.namespace;
  }
  if (d.failInternalCommands !== undefined) out.failInternalCommands = Boolean(d.failInternalCommands);
  if (!out.failAllCommands && !out.failCommands) {
    throw CommandError.of('BadValue', `failCommand needs 'data.failCommands' (an array of command names) or 'data.failAllCommands'`);
  }
  return out;
}
