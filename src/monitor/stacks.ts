/*
 * Application stacks for leak reports. Capturing is cheap (V8 records frames; the text is only
 * built when a leak is reported), but still only happens with `captureStacks`.
 */

const CAPTURE_DEPTH = 64;

/** An un-formatted stack: formatting is deferred until a leak is reported. */
export type CapturedStack = { stack?: string };

export function captureStack(): CapturedStack {
  const previous = Error.stackTraceLimit;
  Error.stackTraceLimit = CAPTURE_DEPTH; // the driver's own frames take the default 10
  const holder: CapturedStack = {};
  Error.captureStackTrace(holder, captureStack);
  Error.stackTraceLimit = previous;
  return holder;
}

// Frames that are never the application: the driver (incl. an npm alias like mongodb6),
// Node internals, the event plumbing and this monitor.
const NOT_APPLICATION = [
  /[\\/]node_modules[\\/]mongodb[^\\/]*[\\/]/,
  /\(node:|at node:/,
  /[\\/]src[\\/]monitor[\\/]|[\\/]dist[\\/]monitor[\\/]/,
  /processTicksAndRejections|\.next \(<anonymous>\)|EventEmitter\.emit/,
];

/** The application frames of a captured stack, innermost first, one `at ...` per line. */
export function applicationFrames(captured: CapturedStack | undefined): string | undefined {
  const text = captured?.stack;
  if (!text) return undefined;
  const frames = text
    .split('\n')
    .slice(1)
    .map((line) => line.trim())
    .filter((line) => line.startsWith('at ') && !NOT_APPLICATION.some((re) => re.test(line)));
  return frames.length > 0 ? frames.join('\n') : undefined;
}

/**
 * Stacks captured at `connectionCheckOutStarted` (which the driver emits synchronously in the
 * caller's async context) waiting to be paired with the connection the operation receives.
 * The pool events carry no request id, so the pairing uses the driver's own wait time:
 * `connectionCheckedOut.durationMS` (whole milliseconds) places the start within about 1 ms;
 * the oldest start in that window wins (the wait queue is first-in, first-out). Operations
 * that start in the same millisecond and are served out of order can swap stacks; with
 * `commands: true` the stack is re-taken at `commandStarted`, which names its connection.
 */
export class PendingStacks {
  #starts: number[] = [];
  #stacks: CapturedStack[] = [];

  push(startedAt: number, stack: CapturedStack): void {
    this.#starts.push(startedAt);
    this.#stacks.push(stack);
  }

  /** Removes and returns the stack of the operation that started about `now - waitedMS`. */
  take(now: number, waitedMS: number): CapturedStack | undefined {
    const estimate = now - waitedMS;
    const starts = this.#starts;
    for (let i = 0; i < starts.length; i++) {
      if (Math.abs(starts[i] - estimate) <= 1.5) {
        const stack = this.#stacks[i];
        starts.splice(i, 1);
        this.#stacks.splice(i, 1);
        return stack;
      }
    }
    return undefined;
  }

  /** Keeps at most `waiting` entries (the newest): older ones belong to operations already served. */
  trim(waiting: number): void {
    const excess = this.#starts.length - Math.max(0, waiting);
    if (excess > 0) {
      this.#starts.splice(0, excess);
      this.#stacks.splice(0, excess);
    }
  }

  clear(): void {
    this.#starts = [];
    this.#stacks = [];
  }

  get size(): number {
    return this.#starts.length;
  }
}
