import { rejectUnknownKeys, requireObject, requirePositive, requirePositiveInteger } from './validate.js';

export interface SeedFormulaOptions {
  concurrentRequests: number;
  avgDurationS: number;
}

/**
 * The seed's formula, kept for comparison only: int(concurrentRequests × avgDurationS × 1.5)
 * clamped to 10..100. It mixes units: a number of concurrent requests is already the busy count
 * L, so multiplying by seconds yields connection-seconds, not connections (Little's law wants a
 * rate: requests/s × s). The clamp then hides the error for most inputs.
 */
export function seedFormulaPoolSize(options: SeedFormulaOptions): number {
  const raw = requireObject('options', options);
  rejectUnknownKeys('', raw, ['concurrentRequests', 'avgDurationS']);
  const concurrentRequests = requirePositive('concurrentRequests', raw.concurrentRequests);
  const avgDurationS = requirePositive('avgDurationS', raw.avgDurationS);
  const size = Math.trunc(concurrentRequests * avgDurationS * 1.5);
  return Math.max(10, Math.min(size, 100));
}

/** The HikariCP rule of thumb for the server side: cores × 2 + 1 (one effective spindle). */
export function coresRule(cores: number): number {
  return requirePositiveInteger('cores', cores) * 2 + 1;
}
