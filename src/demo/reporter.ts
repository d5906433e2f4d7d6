import type { Style } from '../cli/common.js';

/**
 * Where the demo writes: headings, lines and tables for people (colours only on a TTY), and a
 * result object per section for `--json`. In JSON mode nothing but the final document reaches stdout.
 */
export class DemoReporter {
  readonly results: Record<string, unknown> = {};
  readonly #write: (text: string) => void;
  readonly #style: Style;
  readonly #json: boolean;
  #section = 0;

  constructor(write: (text: string) => void, style: Style, json: boolean) {
    this.#write = json ? () => {} : write;
    this.#style = style;
    this.#json = json;
  }

  get json(): boolean {
    return this.#json;
  }

  get style(): Style {
    return this.#style;
  }

  heading(title: string): void {
    this.#section++;
    this.#write(`\n${this.#style.bold(this.#style.cyan(`${this.#section}. ${title}`))}\n`);
  }

  line(text = ''): void {
    this.#write(`${text}\n`);
  }

  ok(text: string): void {
    this.line(`  ${this.#style.green('✔')} ${text}`);
  }

  bad(text: string): void {
    this.line(`  ${this.#style.red('✘')} ${text}`);
  }

  note(text: string): void {
    this.line(`  ${this.#style.dim(text)}`);
  }

  skip(section: string, why: string): void {
    this.results[section] = { skipped: why };
    this.line(`  ${this.#style.yellow('skipped:')} ${why}`);
  }

  table(headers: string[], rows: Array<Array<string | number>>): void {
    const cells = [headers, ...rows.map((r) => r.map(String))];
    const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
    const fmt = (r: string[]) => `  ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')}`;
    this.line(this.#style.bold(fmt(headers)));
    for (const r of cells.slice(1)) this.line(fmt(r));
  }

  record(section: string, value: unknown): void {
    this.results[section] = value;
  }
}
