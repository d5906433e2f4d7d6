/**
 * Toolkit error classes. Each sets `name` to its class name and carries a stable `code`
 * (`POOLKIT_ERR_*`) so callers can branch without parsing messages. Messages never contain
 * a password: anything that shows a URI passes it through `redactUri` first.
 */
export class PoolkitError extends Error {
  readonly code: string;
  constructor(message: string, code = 'POOLKIT_ERR_GENERIC', options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A client option is unknown, of the wrong type, out of range or contradicts another. */
export class PoolConfigError extends PoolkitError {
  readonly option: string;
  readonly value: unknown;
  constructor(option: string, value: unknown, rule: string) {
    super(`${option}: ${rule} (got ${describeValue(value)})`, 'POOLKIT_ERR_CONFIG');
    this.option = option;
    this.value = value;
  }
}

/** The pool monitor was used wrongly (for example attached to a client that already connected). */
export class PoolMonitorError extends PoolkitError {
  constructor(message: string) {
    super(message, 'POOLKIT_ERR_MONITOR');
  }
}

/** Every attempt of a retried operation failed, or retrying was not allowed. */
export class RetryError extends PoolkitError {
  readonly attempts: readonly RetryAttempt[];
  constructor(message: string, attempts: readonly RetryAttempt[], cause: unknown) {
    super(message, 'POOLKIT_ERR_RETRY', { cause });
    this.attempts = attempts;
  }
}

export interface RetryAttempt {
  attempt: number;
  startedAt: number;
  durationMS: number;
  error?: string;
  errorName?: string;
  code?: number | string;
  retryable?: boolean;
  reason?: string;
  delayMS?: number;
}

/** Graceful shutdown was misused or could not complete. */
export class ShutdownError extends PoolkitError {
  constructor(message: string) {
    super(message, 'POOLKIT_ERR_SHUTDOWN');
  }
}

/** waitForServer gave up (deadline, retries exhausted or aborted). */
export class ServerUnavailableError extends PoolkitError {
  readonly attempts: readonly RetryAttempt[];
  constructor(message: string, attempts: readonly RetryAttempt[], cause?: unknown) {
    super(message, 'POOLKIT_ERR_SERVER_UNAVAILABLE', { cause });
    this.attempts = attempts;
  }
}

/** A CLI flag or argument is invalid (the CLI exits 2). */
export class UsageError extends PoolkitError {
  constructor(message: string) {
    super(message, 'POOLKIT_ERR_USAGE');
  }
}

/**
 * A value as shown in messages: strings quoted, numbers as JavaScript writes them (Infinity, NaN,
 * -0), bigints with `n`, objects as JSON with those numbers kept; at most 80 characters.
 */
export function describeValue(value: unknown): string {
  const clip = (text: string) => (text.length > 80 ? `${text.slice(0, 77)}...` : text);
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'symbol') return value.toString();
  if (typeof value === 'function') return `[function ${value.name || 'anonymous'}]`;
  if (value === undefined) return 'undefined';
  try {
    // JSON has no Infinity/NaN (they become null) nor bigint: mark them and unquote them after.
    const marks = new Map<string, string>();
    const text = JSON.stringify(value, (_key, v: unknown) => {
      const shown =
        typeof v === 'number' && !Number.isFinite(v) ? String(v) : typeof v === 'bigint' ? `${v}n` : typeof v === 'function' ? `[function ${v.name || 'anonymous'}]` : undefined;
      if (shown === undefined) return v;
      const mark = `\u0000${marks.size}\u0000`;
      marks.set(mark, shown);
      return mark;
    });
    if (text === undefined) return String(value);
    let out = text;
    for (const [mark, shown] of marks) out = out.replace(JSON.stringify(mark), shown);
    return clip(out);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** A measurement produced nothing to measure (every operation of a load run failed). */
export class MeasurementError extends PoolkitError {
  constructor(message: string) {
    super(message, 'POOLKIT_ERR_MEASUREMENT');
  }
}
