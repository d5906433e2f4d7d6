import { HEADER_SIZE } from './constants.js';

export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

/**
 * Splits a byte stream into complete messages by their int32 length prefix. A declared length
 * below the header size or above `maxMessageSize` is rejected before anything is allocated for it.
 * Complete messages inside one chunk are returned as views (no copy).
 */
export class MessageFramer {
  readonly #maxMessageSize: number;
  #chunks: Buffer[] = [];
  #buffered = 0;

  constructor(maxMessageSize: number) {
    this.#maxMessageSize = maxMessageSize;
  }

  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** Appends a chunk and returns every message now complete. Throws FrameError on a bad length. */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    if (this.#buffered === 0) {
      // Fast path: parse straight out of the chunk.
      let offset = 0;
      while (chunk.length - offset >= 4) {
        const len = this.#checkLength(chunk.readInt32LE(offset));
        if (chunk.length - offset < len) break;
        out.push(chunk.subarray(offset, offset + len));
        offset += len;
      }
      if (offset < chunk.length) {
        this.#chunks.push(offset === 0 ? chunk : chunk.subarray(offset));
        this.#buffered = chunk.length - offset;
      }
      return out;
    }
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    while (this.#buffered >= 4) {
      const len = this.#checkLength(this.#peekInt32());
      if (this.#buffered < len) break;
      out.push(this.#take(len));
    }
    return out;
  }

  #checkLength(len: number): number {
    if (len < HEADER_SIZE) throw new FrameError(`message length ${len} is below the ${HEADER_SIZE}-byte header`);
    if (len > this.#maxMessageSize) throw new FrameError(`message length ${len} exceeds maxMessageSizeBytes ${this.#maxMessageSize}`);
    return len;
  }

  #peekInt32(): number {
    const first = this.#chunks[0];
    if (first.length >= 4) return first.readInt32LE(0);
    const head = Buffer.concat(this.#chunks, Math.min(this.#buffered, 4));
    return head.readInt32LE(0);
  }

  #take(len: number): Buffer {
    const first = this.#chunks[0];
    let message: Buffer;
    if (first.length >= len) {
      message = first.subarray(0, len);
      if (first.length === len) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(len);
    } else {
      message = Buffer.allocUnsafe(len);
      let filled = 0;
      while (filled < len) {
        const c = this.#chunks[0];
        const n = Math.min(c.length, len - filled);
        c.copy(message, filled, 0, n);
        filled += n;
        if (n === c.length) this.#chunks.shift();
        else this.#chunks[0] = c.subarray(n);
      }
    }
    this.#buffered -= len;
    return message;
  }
}
