import type { Document } from 'bson';
import { toNumber, isNumeric } from '../commands/params.js';
import { CommandError } from '../errors.js';
import type { RandomSource } from '../../util/random.js';

/**
 * mongod's fail points, as `configureFailPoint` sets them (test commands only):
 *
 * - `failCommand` (mongod's src/mongo/db/commands.cpp, evaluateFailCommandFailPoint):
 *   - mode: 'alwaysOn' | 'off' | { times: n } | { skip: n } | { activationProbability: p };
 *   - filters: failCommands (aliases included: 'hello' also matches isMaster) | failAllCommands,
 *     appName (from the connection's handshake), namespace (the command's namespace as mongod
 *     computes it), threadName (`conn<id>`); a miss consumes neither times nor skip;
 *   - error path (needs closeConnection, blockConnection or errorCode), in order: errorLabels
 *     (they replace the server's own labels, `[]` suppresses them), sleep blockTimeMS,
 *     closeConnection (no reply), errorCode (ok: 0). Block alone: the command then runs;
 *   - writeConcernError path (commands that take a write concern): the command runs and the
 *     document is appended to its reply, with `errorLabels` as above.
 * - `onPrimaryTransactionalWrite` (mongod's transaction_participant.cpp): fires when a retryable
 *   write (lsid + txnNumber) is executed on a primary. `closeConnection` (default true): the write
 *   is applied and recorded, then the connection is dropped before the reply, so the client must
 *   retry a write that already happened; `failBeforeCommitExceptionCode: n`: the write fails with
 *   code n and is not applied.
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
  threadName?: string;
  failInternalCommands?: boolean;
}

export interface PrimaryTransactionalWriteData {
  closeConnection?: boolean;
  failBeforeCommitExceptionCode?: number;
}

export type FailPointMode = 'alwaysOn' | 'off' | { times: number } | { skip: number } | { activationProbability: number };

export interface FailCommandSpec {
  mode: FailPointMode;
  data?: FailCommandData;
}

/** The command a fail point is evaluated for. */
export interface FailCommandTarget {
  commandName: string;
  /** Whether `name` names this command (mongod's Command::hasAlias: hello, isMaster and ismaster are one command). */
  isAlias(name: string): boolean;
  /** mongod's namespace of the command (see dispatch.ts commandNamespace). */
  ns: string;
  appName: string | undefined;
  threadName: string;
  /** The command takes a write concern (insert, update, create...): only those get a fail point's writeConcernError. */
  supportsWriteConcern: boolean;
}

interface ActiveFailPoint<D> {
  kind: 'alwaysOn' | 'times' | 'skip' | 'probability';
  remaining: number;
  probability: number;
  data: D;
}

const PARSERS = {
  failCommand: parseFailCommandData,
  onPrimaryTransactionalWrite: parsePrimaryTransactionalWriteData,
} as const;

type FailPointName = keyof typeof PARSERS;

const FAIL_POINT_NAMES = Object.keys(PARSERS) as FailPointName[];

function isFailPointName(name: string): name is FailPointName {
  return (FAIL_POINT_NAMES as string[]).includes(name);
}

export class FailPoints {
  readonly #points = new Map<FailPointName, ActiveFailPoint<unknown>>();
  readonly #timesEntered = new Map<FailPointName, number>();
  #random: RandomSource;

  constructor(random: RandomSource = Math.random) {
    this.#random = random;
  }

  setRandom(random: RandomSource): void {
    this.#random = random;
  }

  /** A failCommand fail point is configured (checked on every command, so kept cheap). */
  get active(): boolean {
    return this.#points.has('failCommand');
  }

  /** Validates and installs a fail point; returns how often the previous configuration fired (mongod's `count`). */
  configure(name: string, mode: unknown, data: unknown): number {
    if (!isFailPointName(name)) {
      throw CommandError.of('BadValue', `Cannot find fail point '${name}' (this server implements: ${FAIL_POINT_NAMES.join(', ')})`);
    }
    const previous = this.#timesEntered.get(name) ?? 0;
    const parsedMode = parseMode(mode);
    if (parsedMode === null) {
      this.#points.delete(name);
      return previous;
    }
    const parsedData: unknown = PARSERS[name](data);
    this.#points.set(name, { ...parsedMode, data: parsedData });
    this.#timesEntered.set(name, 0);
    return previous;
  }

  /**
   * failCommand's error path (closeConnection, blockConnection or errorCode) for `target`: the
   * data to act on, or null. Consumes `times`/`skip` only when it fires.
   */
  failCommandError(target: FailCommandTarget): FailCommandData | null {
    return this.#enter('failCommand', (data: FailCommandData) =>
      matches(data, target) && (data.closeConnection === true || data.blockConnection === true || data.errorCode !== undefined));
  }

  /** failCommand's writeConcernError path, evaluated after the command ran. */
  failCommandWriteConcern(target: FailCommandTarget): FailCommandData | null {
    return this.#enter('failCommand', (data: FailCommandData) => target.supportsWriteConcern && data.writeConcernError !== undefined && matches(data, target));
  }

  /** onPrimaryTransactionalWrite, evaluated when a primary executes a retryable write. */
  primaryTransactionalWrite(): PrimaryTransactionalWriteData | null {
    return this.#enter('onPrimaryTransactionalWrite', () => true);
  }

  #enter<D>(name: FailPointName, predicate: (data: D) => boolean): D | null {
    const fp = this.#points.get(name) as ActiveFailPoint<D> | undefined;
    if (fp === undefined || !predicate(fp.data)) return null;
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
        if (fp.remaining <= 0) this.#points.delete(name);
        break;
      default:
        break;
    }
    this.#timesEntered.set(name, (this.#timesEntered.get(name) ?? 0) + 1);
    return fp.data;
  }
}

function matches(data: FailCommandData, target: FailCommandTarget): boolean {
  if (target.commandName === 'configureFailPoint') return false; // banned even if listed, as on mongod
  if (data.threadName !== undefined && data.threadName !== target.threadName) return false;
  if (data.appName !== undefined && data.appName !== target.appName) return false;
  if (data.namespace !== undefined && data.namespace !== target.ns) return false;
  if (data.failAllCommands) return true;
  return (data.failCommands ?? []).some((name) => target.isAlias(name));
}

/**
 * mongod keeps the labels a fail point chose on the operation (errorLabelsOverride) and uses them
 * instead of computing its own, for an error reply and for a writeConcernError alike. Here the
 * dispatcher records them per command; the topology reads them before labelling.
 */
const labelOverrides = new WeakMap<object, readonly string[]>();

export function setErrorLabelsOverride(ctx: object, labels: readonly string[]): void {
  labelOverrides.set(ctx, labels);
}

/** The labels a fail point set for this command (possibly []), or undefined: compute them as usual. */
export function errorLabelsOverride(ctx: object): readonly string[] | undefined {
  return labelOverrides.get(ctx);
}

function parseMode(mode: unknown): Omit<ActiveFailPoint<unknown>, 'data'> | null {
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

function dataObject(data: unknown): Document {
  if (data === undefined || data === null) return {};
  if (typeof data !== 'object' || Array.isArray(data)) throw CommandError.of('TypeMismatch', `'data' must be an object`);
  return data as Document;
}

function stringField(d: Document, field: string): string | undefined {
  if (d[field] === undefined) return undefined;
  if (typeof d[field] !== 'string') throw CommandError.of('TypeMismatch', `'data.${field}' must be a string`);
  return d[field] as string;
}

function parseFailCommandData(data: unknown): FailCommandData {
  const d = dataObject(data);
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
  out.appName = stringField(d, 'appName');
  out.namespace = stringField(d, 'namespace');
  out.threadName = stringField(d, 'threadName');
  if (d.failInternalCommands !== undefined) out.failInternalCommands = Boolean(d.failInternalCommands);
  if (!out.failAllCommands && !out.failCommands) {
    throw CommandError.of('BadValue', `failCommand needs 'data.failCommands' (an array of command names) or 'data.failAllCommands'`);
  }
  return out;
}

function parsePrimaryTransactionalWriteData(data: unknown): PrimaryTransactionalWriteData {
  const d = dataObject(data);
  const out: PrimaryTransactionalWriteData = {};
  if (d.closeConnection !== undefined) out.closeConnection = Boolean(d.closeConnection);
  if (d.failBeforeCommitExceptionCode !== undefined) {
    out.failBeforeCommitExceptionCode = Math.trunc(numberField(d.failBeforeCommitExceptionCode, 'data.failBeforeCommitExceptionCode'));
  }
  return out;
}
