import { PoolConfigError } from '../errors.js';

/**
 * Input checks shared by the sizing functions. Bad input throws PoolConfigError (code
 * POOLKIT_ERR_CONFIG) whose `option` is the field's path, e.g. `holdTimeMS.mean`.
 */
export function requirePositive(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new PoolConfigError(option, value, 'must be a finite number greater than 0');
  }
  return value;
}

export function requirePositiveInteger(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new PoolConfigError(option, value, 'must be an integer of at least 1');
  }
  return value;
}

export function requireNonNegativeInteger(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new PoolConfigError(option, value, 'must be an integer of at least 0');
  }
  return value;
}

export function requireFraction(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value >= 1) {
    throw new PoolConfigError(option, value, 'must be a number between 0 and 1 (exclusive)');
  }
  return value;
}

export function requireObject(option: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PoolConfigError(option, value, 'must be an object');
  }
  return value as Record<string, unknown>;
}

/** Rejects keys the function does not know, so a typo (`holdTimeMs`) is not silently ignored. */
export function rejectUnknownKeys(prefix: string, value: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      const option = prefix ? `${prefix}.${key}` : key;
      throw new PoolConfigError(option, value[key], `unknown option (expected one of ${known.join(', ')})`);
    }
  }
}
