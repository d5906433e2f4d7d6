/**
 * Progress on stderr for long-running commands (bench, advise). On a TTY: one bar redrawn in
 * place, at most every 100 ms, erased when done. Otherwise (a pipe, a CI log): a plain line each
 * time the step changes, so logs stay short and never contain control characters.
 */
export class ProgressLine {
  readonly #stream: NodeJS.WriteStream;
  readonly #tty: boolean;
  readonly #enabled: boolean;
  #lastDraw = 0;
  #drawn = false;
  #lastKey: string | undefined;

  constructor(stream: NodeJS.WriteStream = process.stderr, options: { enabled?: boolean } = {}) {
    this.#stream = stream;
    this.#enabled = options.enabled !== false;
    this.#tty = Boolean(stream.isTTY);
  }

  /** `key` names the step: a non-TTY stream gets `text` once per distinct key. */
  update(fraction: number, text: string, key: string = text): void {
    if (!this.#enabled) return;
    if (!this.#tty) {
      if (key !== this.#lastKey) this.#stream.write(`${text}\n`);
      this.#lastKey = key;
      return;
    }
    const now = Date.now();
    if (now - this.#lastDraw < 100 && fraction < 1) return;
    this.#lastDraw = now;
    const width = 24;
    const share = Math.max(0, Math.min(1, fraction));
    const filled = Math.round(share * width);
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(share * 100)).padStart(3)}%`;
    const columns = this.#stream.columns || 80;
    this.#stream.write(`\r\u001b[2K${`${bar} ${text}`.slice(0, columns - 1)}`);
    this.#drawn = true;
  }

  /** Erases the bar (TTY) so the results start on a clean line. */
  done(): void {
    if (this.#tty && this.#drawn) this.#stream.write('\r\u001b[2K');
    this.#drawn = false;
  }
}
