import type { SweepResult } from '../sweep.js';
import { toJSON } from './format.js';

/** The sweep as one JSON document (infinite values become null). */
export function renderJSON(sweep: SweepResult): string {
  return `${toJSON(sweep)}\n`;
}
