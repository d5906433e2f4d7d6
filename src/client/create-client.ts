import { MongoClient, type MongoClientOptions } from 'mongodb';
import { PoolConfigError } from '../errors.js';
import { REDACTED, redactText, redactUri } from '../util/redact.js';
import { trackInflight } from './inflight.js';
import { CLIENT_OPTIONS, findOption } from './options-schema.js';
import type { PresetName } from './presets.js';
import { validateClientOptions, type ConfigWarning } from './validate.js';

export interface CreateClientOptions extends MongoClientOptions {
  /** Start from a named option set; anything in the URI or in these options wins over it. */
  preset?: PresetName;
  /** Receives doubtful-but-legal configuration findings. Default: process.emitWarning. */
  onWarning?: (warning: ConfigWarning) => void;
}

/**
 * Creates a MongoClient (synchronously, without connecting) after validating every option from
 * the options object and the URI's query string. Invalid options throw PoolConfigError naming the
 * option, the value and the rule; doubtful combinations are reported through `onWarning`.
 * The client tracks its in-flight operations from birth, for readiness probes and graceful shutdown.
 */
export function createClient(uri: string, options: CreateClientOptions = {}): MongoClient {
  const { onWarning = emitProcessWarning } = options;
  if (typeof onWarning !== 'function') throw new PoolConfigError('onWarning', onWarning, 'must be a function');
  const validated = validateClientOptions(uri, options as Record<string, unknown>);

  let client: MongoClient;
  try {
    client = new MongoClient(uri, validated.driverOptions as MongoClientOptions);
  } catch (error) {
    throw driverRejected(error, uri, validated.effective);
  }
  trackInflight(client);
  for (const warning of validated.warnings) onWarning(warning);
  return client;
}

export function emitProcessWarning(warning: ConfigWarning): void {
  process.emitWarning(warning.message, { type: 'PoolkitWarning', code: warning.code });
}

/**
 * Rules only the driver knows (SRV-only options, proxy pairs, auth mechanism needs...) still
 * surface as PoolConfigError, with the driver's message redacted.
 */
function driverRejected(error: unknown, uri: string, effective: Record<string, unknown>): PoolConfigError {
  const message = redactText(error instanceof Error ? error.message : String(error));
  const named = (name: string) => new RegExp(`\\b${name}\\b`, 'i').test(message);
  const mentioned = Object.keys(effective).find(named) ?? CLIENT_OPTIONS.map((o) => o.name).find(named);
  const spec = mentioned ? findOption(mentioned) : undefined;
  const value = mentioned && mentioned in effective ? (spec?.secret ? REDACTED : effective[mentioned]) : redactUri(uri);
  return new PoolConfigError(mentioned ?? 'uri', typeof value === 'string' ? redactText(value) : value, `rejected by the driver: ${message}`);
}
