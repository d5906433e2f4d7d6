/** A small ring buffer of log lines, served by the getLog command (mongod keeps startupWarnings and global). */
export class ServerLog {
  readonly #lines: string[] = [];
  readonly startupWarnings: string[] = [];
  readonly #capacity: number;

  constructor(capacity = 1024) {
    this.#capacity = capacity;
  }

  add(message: string, attributes: Record<string, unknown> = {}): void {
    const line = JSON.stringify({ t: { $date: new Date().toISOString() }, s: 'I', c: 'NETWORK', msg: message, attr: attributes });
    this.#lines.push(line);
    if (this.#lines.length > this.#capacity) this.#lines.shift();
  }

  warnAtStartup(message: string): void {
    this.startupWarnings.push(JSON.stringify({ t: { $date: new Date().toISOString() }, s: 'W', c: 'CONTROL', msg: message }));
  }

  get lines(): readonly string[] {
    return this.#lines;
  }
}
