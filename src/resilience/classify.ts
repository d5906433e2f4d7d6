/**
 * Decides whether an error from a MongoDB operation may be retried, and under which condition.
 *
 * - `always`: the operation never ran (no server was selected, the pool was cleared before
 *   check-out, the connection failed while being established, the server refused it as not
 *   primary, or the driver says `NoWritesPerformed`). Resending cannot apply anything twice.
 * - `idempotent`: the command may have reached the server (network error or timeout after it was
 *   sent, interrupted by a state change, `RetryableWriteError`/`TransientTransactionError`).
 *   A retry from here is a new operation with a new transaction number, so the server will not
 *   de-duplicate it: only an operation that is safe to apply twice may be resent.
 * - `never`: retrying cannot help or makes things worse (validation, auth, duplicate key, wait-queue
 *   timeout: the pool is saturated and queueing again adds load; a closed client).
 *
 * An error is only the *last* thing that happened. When the driver's own retry is on, the error it
 * throws can come from its second attempt while the first one was applied: the retry selects a
 * server outside its error handling (a MongoServerSelectionError replaces the first error), and a
 * failed check-out or a NotWritablePrimary reply replaces it too unless labelled NoWritesPerformed.
 * `classifyAttempt` therefore checks an `always` verdict against the connections the attempt
 * actually used (counted by the pool listeners of tracked clients).
 *
 * Errors are matched by name, code, labels and properties rather than `instanceof`, so errors of
 * driver 6 and driver 7 (two copies of the class hierarchy) classify the same.
 */
export type Retryability = 'always' | 'idempotent' | 'never';

export interface ErrorClassification {
  retryable: Retryability;
  reason: string;
  /**
   * For `always`: the most connections the operation can have used if this error tells the whole
   * story. 0: nothing reached a server (server selection, a failed check-out or connection
   * establishment); 1: the one command the server refused (not-primary, NoWritesPerformed, overload).
   */
  sentAtMost?: number;
}

// Server refused the command before running it: the node is not (or no longer) a writable primary.
const NOT_PRIMARY_REFUSALS = new Map<number, string>([
  [10107, 'NotWritablePrimary'],
  [13435, 'NotPrimaryNoSecondaryOk'],
  [10058, 'LegacyNotPrimary'],
  [13436, 'NotPrimaryOrSecondary'],
]);

// Retryable codes of the retryable-reads/writes specs where the command may have started.
const STATE_CHANGE_CODES = new Map<number, string>([
  [6, 'HostUnreachable'],
  [7, 'HostNotFound'],
  [89, 'NetworkTimeout'],
  [91, 'ShutdownInProgress'],
  [134, 'ReadConcernMajorityNotAvailableYet'],
  [189, 'PrimarySteppedDown'],
  [262, 'ExceededTimeLimit'],
  [9001, 'SocketException'],
  [11600, 'InterruptedAtShutdown'],
  [11602, 'InterruptedDueToReplStateChange'],
]);

const NEVER_CODES = new Map<number, string>([
  [11000, 'duplicate key'],
  [11001, 'duplicate key'],
  [12582, 'duplicate key'],
  [121, 'document failed validation'],
  [18, 'authentication failed'],
  [13, 'unauthorized'],
  [2, 'bad value'],
  [9, 'failed to parse'],
  [14, 'type mismatch'],
  [50, 'the server time limit (maxTimeMS) expired: a retry would take as long'],
  [59, 'command not found'],
  [20, 'illegal operation'],
  [26, 'namespace not found'],
  [40, 'conflicting update operators'],
  [66, 'immutable field'],
]);

// Driver errors about the caller or the client's own state: retrying cannot change the outcome.
const NEVER_NAMES = new Map<string, string>([
  ['MongoWaitQueueTimeoutError', 'wait-queue timeout: the pool is saturated; shed load instead of queueing again'],
  ['MongoOperationTimeoutError', 'the operation timeout is spent'],
  ['MongoNotConnectedError', 'the client was closed'],
  // Also what every operation gets after a failed first auto-connect, until connect() is called again.
  ['MongoTopologyClosedError', 'the topology is closed (the client is closing, or its first connect failed: call client.connect() or waitForServer(client))'],
  ['MongoClientClosedError', 'the client was closed'],
  ['MongoPoolClosedError', 'the connection pool was closed (client closing)'],
  ['MongoParseError', 'invalid options or connection string'],
  ['MongoInvalidArgumentError', 'invalid argument'],
  ['MongoAPIError', 'API misuse'],
  ['MongoMissingCredentialsError', 'missing credentials'],
  ['MongoCompatibilityError', 'server version does not support the operation'],
  ['MongoBatchReExecutionError', 'a bulk operation cannot be executed twice'],
  ['MongoTransactionError', 'invalid transaction state'],
  ['MongoExpiredSessionError', 'the session has ended'],
  ['AbortError', 'aborted by the caller'],
]);

export function classifyError(error: unknown): ErrorClassification {
  if (error === null || typeof error !== 'object') return { retryable: 'never', reason: 'not an error object' };
  const names = errorNames(error);
  const labels = errorLabels(error);
  const code = errorCode(error);
  const has = (name: string) => names.has(name);

  // MongoServerClosedError derives from MongoAPIError, which is otherwise a caller mistake.
  if (has('MongoServerClosedError')) return always('the selected server closed before the operation started', 0);

  // 1. Explicit refusals to retry, whatever else the error says.
  for (const [name, reason] of NEVER_NAMES) if (has(name)) return { retryable: 'never', reason };
  if (code !== undefined && NEVER_CODES.has(code) && !labels.has('RetryableWriteError')) {
    return { retryable: 'never', reason: `${NEVER_CODES.get(code)} (code ${code})` };
  }

  // 2. The operation never ran.
  if (labels.has('NoWritesPerformed')) return always('the driver reports NoWritesPerformed', 1);
  if (has('PoolClearedOnNetworkError')) {
    // Raised into operations already holding a connection when the monitor timed out: they may have run.
    return { retryable: 'idempotent', reason: 'an in-use connection was interrupted by a pool clear; the command may have run' };
  }
  if (has('MongoPoolClearedError') || has('PoolClearedError') || labels.has('PoolRequestedRetry')) {
    return always('the pool was cleared before the operation got a connection', 0);
  }
  if (has('MongoServerSelectionError')) return always('no suitable server was selected; nothing was sent', 0);
  // Driver 7 labels network errors of connection establishment (socket, TLS, handshake) SystemOverloadedError.
  const establishing =
    labels.has('HandshakeError') ||
    (has('MongoNetworkError') && ((error as { beforeHandshake?: unknown }).beforeHandshake === true || (code === undefined && labels.has('SystemOverloadedError'))));
  if (establishing) return always('the connection failed while being established; nothing was sent', 0);
  if (code !== undefined && NOT_PRIMARY_REFUSALS.has(code)) {
    return always(`${NOT_PRIMARY_REFUSALS.get(code)} (code ${code}): the server refused the command before running it`, 1);
  }
  if (code === 462 || labels.has('SystemOverloadedError')) {
    return always('the server is overloaded and refused the command; back off (the budget limits retries)', 1);
  }

  // 3. The command may have reached the server.
  if (has('MongoNetworkTimeoutError')) return { retryable: 'idempotent', reason: 'network timeout after the command was sent; it may have run' };
  if (has('MongoNetworkError')) return { retryable: 'idempotent', reason: 'network error after the command was sent; it may have run' };
  if (code !== undefined && STATE_CHANGE_CODES.has(code)) {
    return { retryable: 'idempotent', reason: `${STATE_CHANGE_CODES.get(code)} (code ${code}): the command may have started` };
  }
  if (labels.has('RetryableWriteError')) return { retryable: 'idempotent', reason: 'labelled RetryableWriteError; the write may have been applied' };
  if (labels.has('TransientTransactionError')) return { retryable: 'idempotent', reason: 'labelled TransientTransactionError; rerun the whole transaction' };

  if (has('MongoServerError') || has('MongoWriteConcernError') || code !== undefined) {
    return { retryable: 'never', reason: `the server rejected the command${code !== undefined ? ` (code ${code})` : ''}` };
  }
  if (has('MongoError')) return { retryable: 'never', reason: 'a driver error that retrying does not fix' };
  return { retryable: 'never', reason: 'not a MongoDB error' };
}

/**
 * The classification of a failed `withRetry` attempt: `classifyError`, with an `always` verdict
 * kept only when the attempt used no more connections than the error accounts for
 * (`sentAtMost`). `connectionsUsed` is the number of connections of tracked clients the attempt
 * checked out and gave back (commands it may have sent); for a client that is not tracked it
 * stays 0 and the error alone decides.
 */
export function classifyAttempt(error: unknown, connectionsUsed: number): ErrorClassification {
  const classification = classifyError(error);
  if (classification.retryable !== 'always' || connectionsUsed <= (classification.sentAtMost ?? 0)) return classification;
  return {
    retryable: 'idempotent',
    reason:
      `${classification.reason.replace(/; nothing was sent$/, '')}, but the attempt used ${connectionsUsed} connection${connectionsUsed === 1 ? '' : 's'} ` +
      `(${classification.sentAtMost ?? 0} expected): the driver already retried after an attempt that may have been applied, or the attempt ran other operations first`,
  };
}

function always(reason: string, sentAtMost: number): ErrorClassification {
  return { retryable: 'always', reason, sentAtMost };
}

/** `name` plus the class names of the prototype chain (e.g. MongoNetworkTimeoutError → MongoNetworkError). */
function errorNames(error: object): Set<string> {
  const names = new Set<string>();
  const own = (error as { name?: unknown }).name;
  if (typeof own === 'string') names.add(own);
  for (let proto = Object.getPrototypeOf(error); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    const ctor = (proto as { constructor?: { name?: unknown } }).constructor;
    if (typeof ctor?.name === 'string' && ctor.name) names.add(ctor.name);
  }
  return names;
}

function errorLabels(error: object): Set<string> {
  const labels = new Set<string>();
  const list = (error as { errorLabels?: unknown }).errorLabels;
  if (Array.isArray(list)) for (const label of list) if (typeof label === 'string') labels.add(label);
  const hasLabel = (error as { hasErrorLabel?: unknown }).hasErrorLabel;
  if (typeof hasLabel === 'function') {
    for (const label of ['NoWritesPerformed', 'RetryableWriteError', 'TransientTransactionError', 'HandshakeError', 'SystemOverloadedError', 'PoolRequestedRetry']) {
      try {
        if (hasLabel.call(error, label)) labels.add(label);
      } catch {
        // a foreign hasErrorLabel: the errorLabels array above is enough
      }
    }
  }
  return labels;
}

/** The numeric server code; a write concern error's own code; the code of the first write error. */
function errorCode(error: object): number | undefined {
  const read = (value: unknown): number | undefined => {
    const n = typeof value === 'number' ? value : typeof (value as { valueOf?: unknown })?.valueOf === 'function' ? Number(value) : NaN;
    return Number.isInteger(n) ? n : undefined;
  };
  const direct = read((error as { code?: unknown }).code);
  if (direct !== undefined) return direct;
  const wce = (error as { writeConcernError?: { code?: unknown } }).writeConcernError;
  if (wce) return read(wce.code);
  const writeErrors = (error as { writeErrors?: unknown }).writeErrors;
  if (Array.isArray(writeErrors) && writeErrors.length > 0) return read((writeErrors[0] as { code?: unknown })?.code);
  return undefined;
}
