import { PoolConfigError } from '../errors.js';
import { REDACTED, redactText } from '../util/redact.js';
import { installedDriver } from './driver-options.js';
import { CLIENT_OPTIONS, POOLKIT_OPTIONS, findOption, type OptionSpec } from './options-schema.js';
import { PRESET_NAMES, presetOptions, type PresetName } from './presets.js';
import { didYouMean } from './suggest.js';
import { parseUri, type ParsedUri } from './uri.js';

/** A doubtful but legal configuration. `code` is stable (POOLKIT_WARN_*). */
export interface ConfigWarning {
  code: string;
  option: string;
  message: string;
}

export type OptionSource = 'options' | 'uri' | 'preset';

export interface ValidatedClientOptions {
  /** What to hand to the driver: canonical names; preset values the URI or object did not override. */
  driverOptions: Record<string, unknown>;
  /** Every option set by any source, converted (numbers, booleans), by canonical name. */
  effective: Record<string, unknown>;
  sources: Record<string, OptionSource>;
  hosts: string[];
  warnings: ConfigWarning[];
}

/** Names of drivers before 4.x, Mongoose, or PyMongo habits, with what to do instead. */
const LEGACY_HINTS: Record<string, string> = {
  poolsize: 'removed in driver 4; use maxPoolSize',
  autoreconnect: 'removed in driver 4: the driver reconnects by itself; use waitForServer() at startup and withRetry() around operations',
  reconnecttries: 'removed in driver 4: the driver reconnects by itself; use waitForServer() at startup and withRetry() around operations',
  reconnectinterval: 'removed in driver 4: the driver reconnects by itself; use waitForServer() at startup and withRetry() around operations',
  buffermaxentries: 'removed in driver 4',
  keepalive: 'removed in driver 6: TCP keep-alive is always on',
  sslvalidate: 'removed in driver 4; use tlsAllowInvalidCertificates',
  usefindandmodify: 'a Mongoose option, not a driver option',
  usecreateindex: 'a Mongoose option, not a driver option',
};

/**
 * Validates a connection string and an options object (and a preset) the way `createClient`
 * does, without creating a client (`preset` is read from the options). Throws PoolConfigError on
 * the first invalid option.
 */
export function validateClientOptions(uri: string, options: Record<string, unknown> & { preset?: PresetName } = {}): ValidatedClientOptions {
  const parsed = parseUri(uri);
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new PoolConfigError('options', options, 'must be an object');
  }
  const preset = options.preset;
  if (preset !== undefined && !(PRESET_NAMES as unknown[]).includes(preset)) {
    throw new PoolConfigError('preset', preset, `must be one of ${PRESET_NAMES.join(', ')}${typeof preset === 'string' ? didYouMean(preset, PRESET_NAMES) : ''}`);
  }

  const fromUri = collectUriOptions(parsed);
  const fromObject = collectObjectOptions(options);
  const fromPreset = preset ? presetOptions(preset) : {};

  const effective: Record<string, unknown> = {};
  const sources: Record<string, OptionSource> = {};
  const warnings: ConfigWarning[] = [];
  for (const [name, value] of Object.entries(fromPreset)) {
    effective[name] = value;
    sources[name] = 'preset';
  }
  for (const [name, { value }] of fromUri) {
    effective[name] = value;
    sources[name] = 'uri';
  }
  for (const [name, { value }] of fromObject) {
    const inUri = fromUri.get(name);
    if (inUri && !sameValue(inUri.value, value)) {
      const spec = findOption(name);
      warnings.push({
        code: 'POOLKIT_WARN_OPTION_OVERRIDDEN',
        option: name,
        message: `${name} is set both in the connection string (${show(spec, inUri.raw)}) and in the options (${show(spec, value)}); the options value wins`,
      });
    }
    effective[name] = value;
    sources[name] = 'options';
  }

  checkCombinations(effective, parsed, warnings);

  const driverOptions: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fromPreset)) {
    if (!fromUri.has(name) && !fromObject.has(name)) driverOptions[name] = value;
  }
  for (const [name, { pass }] of fromObject) driverOptions[name] = pass;
  return { driverOptions, effective, sources, hosts: parsed.hosts, warnings };
}

interface Collected {
  /** Converted value (used for checks). */
  value: unknown;
  /** As written (shown in messages). */
  raw: unknown;
  /** What the driver receives. */
  pass: unknown;
}

function collectUriOptions(parsed: ParsedUri): Map<string, Collected> {
  const out = new Map<string, Collected>();
  for (const [key, raw] of parsed.query) {
    const spec = lookup(key, raw, 'in the connection string');
    if (spec.where === 'object') {
      throw new PoolConfigError(spec.name, show(spec, raw), 'can only be passed in the options object, not in the connection string');
    }
    if (out.has(spec.name)) {
      if (spec.name === 'readPreferenceTags') continue; // the one option the driver lets repeat
      throw new PoolConfigError(spec.name, show(spec, raw), 'appears more than once in the connection string');
    }
    if (raw === '') throw new PoolConfigError(spec.name, raw, 'needs a value in the connection string');
    const value = convert(spec, raw, ' (in the connection string)');
    out.set(spec.name, { value, raw, pass: raw });
  }
  return out;
}

function collectObjectOptions(options: Record<string, unknown>): Map<string, Collected> {
  const out = new Map<string, Collected>();
  const written = new Map<string, string>();
  for (const [key, raw] of Object.entries(options)) {
    if ((POOLKIT_OPTIONS as readonly string[]).includes(key)) continue;
    if (raw === undefined || raw === null) continue; // the driver ignores these too
    const spec = lookup(key, raw, 'in the options');
    if (spec.where === 'uri') {
      throw new PoolConfigError(spec.name, show(spec, raw), 'is only valid in the connection string (e.g. ?loadBalanced=true)');
    }
    const earlier = written.get(spec.name);
    if (earlier !== undefined) {
      throw new PoolConfigError(spec.name, show(spec, raw), `is given twice in the options (as ${earlier} and ${key}); names are case-insensitive`);
    }
    written.set(spec.name, key);
    const value = convert(spec, raw, '');
    const converted = spec.type === 'uint' || spec.type === 'int' || spec.type === 'boolean';
    out.set(spec.name, { value, raw, pass: converted ? value : raw });
  }
  return out;
}

/** The schema row for a name, or a row for a real option of the installed driver the schema lacks. */
function lookup(key: string, raw: unknown, where: string): OptionSpec {
  const spec = findOption(key);
  const driver = installedDriver();
  if (spec) {
    if (driver && !driver.options.has(spec.name.toLowerCase())) {
      const hint = spec.deprecated ? `; it ${spec.deprecated}` : '';
      throw new PoolConfigError(spec.name, show(spec, raw), `is not supported by the installed mongodb driver ${driver.version}${hint}`);
    }
    return spec;
  }
  if (driver?.options.has(key.toLowerCase())) return { name: key, type: 'any', category: 'other', doc: '' };
  const legacy = LEGACY_HINTS[key.toLowerCase().replace(/[_-]/g, '')];
  const rule = legacy
    ? `is not a MongoDB driver option ${where}: ${legacy}`
    : `is not a MongoDB driver option ${where}${didYouMean(key, CLIENT_OPTIONS.map((o) => o.name))}`;
  throw new PoolConfigError(key, showUnknown(raw), rule);
}

/** An unknown option may be a misspelt secret (`pasword: 'hunter2'`): only numbers and booleans are shown. */
function showUnknown(raw: unknown): unknown {
  if (typeof raw === 'number' || typeof raw === 'boolean') return raw;
  return typeof raw === 'string' && /^[+-]?\d{1,10}$/.test(raw) ? raw : REDACTED;
}

/** Checks one value against its row and returns it converted; throws naming option, value and rule. */
function convert(spec: OptionSpec, raw: unknown, where: string): unknown {
  const fail = (rule: string): never => {
    throw new PoolConfigError(spec.name, show(spec, raw), rule + where);
  };
  switch (spec.type) {
    case 'uint':
    case 'int': {
      const value = toInteger(raw);
      if (value === undefined) return fail('must be an integer');
      if (spec.values && !spec.values.includes(value)) return fail(`must be one of ${spec.values.join(', ')}`);
      const min = spec.min ?? (spec.type === 'uint' ? 0 : -Infinity);
      const max = spec.max ?? Infinity;
      if (value < min || value > max) {
        return fail(max === Infinity ? `must be at least ${min}` : `must be between ${min} and ${max}${spec.name.endsWith('MS') && max >= 2 ** 31 - 1 ? ' (milliseconds; larger values overflow Node timers)' : ''}`);
      }
      return value;
    }
    case 'boolean':
      if (raw === true || raw === 'true') return true;
      if (raw === false || raw === 'false') return false;
      return fail('must be true or false');
    case 'string': {
      if (typeof raw !== 'string') return fail('must be a string');
      if (raw.length === 0) return fail('must not be empty');
      if (spec.maxBytes !== undefined && Buffer.byteLength(raw) > spec.maxBytes) return fail(`must be at most ${spec.maxBytes} bytes`);
      return raw;
    }
    case 'enum':
      if (typeof raw !== 'string') return fail(`must be one of ${spec.values!.join(', ')}`);
      return enumValue(spec, raw, fail);
    case 'compressors': {
      const list = typeof raw === 'string' ? raw.split(',') : Array.isArray(raw) ? raw : undefined;
      if (!list || list.some((item) => typeof item !== 'string')) return fail('must be a list of compressor names (array or comma-separated string)');
      for (const item of list as string[]) {
        if (!spec.values!.includes(item)) fail(`must list only ${spec.values!.join(', ')}; "${item}" is not one${didYouMean(item, spec.values as string[])}`);
      }
      return list;
    }
    case 'writeConcernW': {
      const asInt = toInteger(raw);
      if (asInt !== undefined) return asInt >= 0 ? asInt : fail("must be a number of members (0 or more), 'majority' or a tag set name");
      if (typeof raw === 'string' && raw.length > 0) return raw;
      return fail("must be a number of members (0 or more), 'majority' or a tag set name");
    }
    case 'readPreference': {
      if (typeof raw === 'string') return enumValue(spec, raw, fail);
      const mode = raw !== null && typeof raw === 'object' ? (raw as { mode?: unknown }).mode : undefined;
      if (typeof mode === 'string') return enumValue(spec, mode, fail);
      return fail(`must be one of ${spec.values!.join(', ')}, or a ReadPreference`);
    }
    case 'object':
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return fail('must be an object');
      return raw;
    case 'credentials':
      return checkCredentials(spec.name, raw);
    case 'stringOrObject':
      if (typeof raw === 'string' ? raw.length === 0 : raw === null || typeof raw !== 'object') return fail('must be a string or an object');
      return raw;
    case 'function':
      if (typeof raw !== 'function') return fail('must be a function');
      return raw;
    case 'any':
      return raw;
  }
}

/**
 * `auth: { username, password }`, as the driver reads it: both keys present (it rejects the object
 * otherwise), string values or undefined (no password for MONGODB-X509, MONGODB-AWS...), and no
 * other key (the driver would silently ignore `source` or `mechanism`). A password is never shown.
 */
function checkCredentials(name: string, raw: unknown): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new PoolConfigError(name, REDACTED, 'must be an object { username, password }');
  const fields = ['username', 'password'];
  for (const [key, value] of Object.entries(raw)) {
    if (!fields.includes(key)) {
      throw new PoolConfigError(
        `${name}.${key}`,
        showUnknown(value),
        `is not a field of ${name}, which takes only username and password${fieldHint(key, fields)}; set authSource, authMechanism or authMechanismProperties as options of their own`,
      );
    }
  }
  const { username, password } = raw as { username?: unknown; password?: unknown };
  for (const field of fields) {
    if (!(field in raw)) throw new PoolConfigError(name, REDACTED, `must have both username and password (${field} is missing; give it as undefined if the mechanism takes none)`);
  }
  if (username !== undefined && (typeof username !== 'string' || username.length === 0)) {
    throw new PoolConfigError(`${name}.username`, typeof username === 'string' ? username : showUnknown(username), 'must be a non-empty string (or undefined)');
  }
  if (password !== undefined && typeof password !== 'string') throw new PoolConfigError(`${name}.password`, REDACTED, 'must be a string (or undefined)');
  return raw;
}

/** did-you-mean, also for abbreviations (`user`, `pass`, `pwd`). */
function fieldHint(key: string, fields: string[]): string {
  const lower = key.toLowerCase();
  const abbreviated = lower === 'pwd' ? 'password' : lower.length >= 3 ? fields.find((field) => field.startsWith(lower)) : undefined;
  return abbreviated ? `; did you mean ${abbreviated}?` : didYouMean(key, fields);
}

function enumValue(spec: OptionSpec, raw: string, fail: (rule: string) => never): string {
  const values = spec.values as string[];
  const match = spec.caseInsensitive ? values.find((v) => v.toLowerCase() === raw.toLowerCase()) : values.find((v) => v === raw);
  return match ?? fail(`must be one of ${values.join(', ')}${didYouMean(raw, values)}`);
}

function toInteger(raw: unknown): number | undefined {
  if (typeof raw === 'number') return Number.isSafeInteger(raw) ? raw : undefined;
  if (typeof raw === 'string' && /^[+-]?\d{1,16}$/.test(raw.trim())) return Number(raw.trim());
  return undefined;
}

/** Contradictions throw; doubtful combinations become warnings. Unset options take the driver default. */
function checkCombinations(effective: Record<string, unknown>, parsed: ParsedUri, warnings: ConfigWarning[]): void {
  const get = <T>(name: string): T => (name in effective ? effective[name] : findOption(name)?.default) as T;
  const warn = (code: string, option: string, message: string) => warnings.push({ code, option, message });

  const maxPoolSize = get<number>('maxPoolSize');
  const minPoolSize = get<number>('minPoolSize');
  if (maxPoolSize !== 0 && minPoolSize > maxPoolSize) {
    throw new PoolConfigError('minPoolSize', minPoolSize, `must not exceed maxPoolSize (${maxPoolSize}); lower it, or set maxPoolSize to 0 for an unlimited pool`);
  }
  const heartbeat = get<number>('heartbeatFrequencyMS');
  const minHeartbeat = get<number>('minHeartbeatFrequencyMS');
  if (heartbeat < minHeartbeat) {
    throw new PoolConfigError('heartbeatFrequencyMS', heartbeat, `must be at least minHeartbeatFrequencyMS (${minHeartbeat}); lower minHeartbeatFrequencyMS too if you really want faster checks`);
  }
  if ('maxStalenessSeconds' in effective) {
    const staleness = get<number>('maxStalenessSeconds');
    if (staleness !== -1 && staleness < 90) throw new PoolConfigError('maxStalenessSeconds', staleness, 'must be -1 (no limit) or at least 90 seconds');
    if (staleness !== -1 && get<string>('readPreference') === 'primary') {
      throw new PoolConfigError('maxStalenessSeconds', staleness, 'cannot be used with readPreference primary (it only filters secondaries)');
    }
  }
  if ('tls' in effective && 'ssl' in effective && effective.tls !== effective.ssl) {
    throw new PoolConfigError('ssl', effective.ssl, `must agree with tls (${String(effective.tls)}); ssl is an alias`);
  }
  if (effective.tlsInsecure === true && ('tlsAllowInvalidCertificates' in effective || 'tlsAllowInvalidHostnames' in effective)) {
    throw new PoolConfigError('tlsInsecure', true, 'cannot be combined with tlsAllowInvalidCertificates or tlsAllowInvalidHostnames (it sets both)');
  }
  if (effective.loadBalanced === true) {
    if (effective.directConnection === true) throw new PoolConfigError('directConnection', true, 'cannot be combined with loadBalanced');
    if ('replicaSet' in effective) throw new PoolConfigError('replicaSet', effective.replicaSet, 'cannot be combined with loadBalanced');
    if (parsed.hosts.length > 1) throw new PoolConfigError('loadBalanced', true, 'requires exactly one host in the connection string');
  }
  if (effective.directConnection === true && parsed.hosts.length > 1) {
    throw new PoolConfigError('directConnection', true, `requires exactly one host (the connection string names ${parsed.hosts.length})`);
  }
  if (effective.w === 0 && effective.journal === true) {
    throw new PoolConfigError('journal', true, 'cannot be combined with w: 0 (unacknowledged writes are never journaled before the reply)');
  }

  if (maxPoolSize === 0) {
    warn('POOLKIT_WARN_UNBOUNDED_POOL', 'maxPoolSize', 'maxPoolSize 0 means unlimited: a burst of concurrent operations opens as many connections as it has operations, which can exhaust the server (each connection costs it about 1 MB and a thread)');
  } else if (maxPoolSize > 500) {
    warn('POOLKIT_WARN_LARGE_POOL', 'maxPoolSize', `maxPoolSize ${maxPoolSize} per server per process: multiply by instances to get what the server must hold; a few dozen busy connections usually saturate a server`);
  }
  const waitQueue = get<number>('waitQueueTimeoutMS');
  const selection = get<number>('serverSelectionTimeoutMS');
  if (waitQueue > 0 && selection > 0 && waitQueue >= selection) {
    warn('POOLKIT_WARN_WAIT_QUEUE_TIMEOUT', 'waitQueueTimeoutMS', `waitQueueTimeoutMS (${waitQueue}) >= serverSelectionTimeoutMS (${selection}): an operation may wait longer for a busy pool than for a server to appear; a short wait-queue timeout sheds load instead of queueing`);
  }
  const socketTimeout = get<number>('socketTimeoutMS');
  if (socketTimeout > 0 && socketTimeout < 5000) {
    warn('POOLKIT_WARN_SHORT_SOCKET_TIMEOUT', 'socketTimeoutMS', `socketTimeoutMS ${socketTimeout}: any operation quiet for longer (a slow query, an index build, a large aggregation) fails with a network timeout and its connection is closed and replaced; bound operations with maxTimeMS and keep socketTimeoutMS as a generous backstop`);
  }
  const connectTimeout = get<number>('connectTimeoutMS');
  if (connectTimeout === 0) {
    warn('POOLKIT_WARN_NO_CONNECT_TIMEOUT', 'connectTimeoutMS', 'connectTimeoutMS 0: opening a connection to an unreachable host waits for the operating system to give up, often minutes');
  } else if ('connectTimeoutMS' in effective && selection > 0 && connectTimeout > selection) {
    warn('POOLKIT_WARN_CONNECT_TIMEOUT', 'connectTimeoutMS', `connectTimeoutMS (${connectTimeout}) > serverSelectionTimeoutMS (${selection}): server selection gives up before a slow connection attempt could finish`);
  }
  const maxConnecting = get<number>('maxConnecting');
  if (maxPoolSize > 0 && maxConnecting > maxPoolSize) {
    warn('POOLKIT_WARN_MAX_CONNECTING', 'maxConnecting', `maxConnecting (${maxConnecting}) > maxPoolSize (${maxPoolSize}): at most maxPoolSize connections can be establishing anyway`);
  }
  for (const name of ['tlsInsecure', 'tlsAllowInvalidCertificates', 'tlsAllowInvalidHostnames']) {
    if (effective[name] === true) warn('POOLKIT_WARN_TLS_INSECURE', name, `${name} disables certificate checks: anyone on the network path can impersonate the server; use it only in tests`);
  }
  const driver = installedDriver();
  for (const name of Object.keys(effective)) {
    if (name === 'timeoutMS' || !driver?.ignored.has(name.toLowerCase())) continue;
    warn('POOLKIT_WARN_IGNORED_OPTION', name, `${name} has no effect with the installed mongodb driver ${driver.version}: it accepts the option and ignores it`);
  }
  if ('timeoutMS' in effective) {
    warn(
      'POOLKIT_WARN_TIMEOUT_MS',
      'timeoutMS',
      driver?.ignored.has('timeoutms')
        ? `timeoutMS has no effect with the installed mongodb driver ${driver.version} (a no-op since 6.22 and 7.8): nothing times out because of it; bound operations with maxTimeMS (server side) or { signal }, and waits with serverSelectionTimeoutMS and waitQueueTimeoutMS`
        : `timeoutMS enables the driver's experimental client-side operation timeout${driver ? ` (installed mongodb driver ${driver.version})` : ''}; in drivers 6.11 to 6.21 and 7.0 to 7.7 a timeout can desynchronise the connection pool and hand one operation another's reply (security warning in the 6.22/7.8 release notes): upgrade, and use maxTimeMS, { signal } and the per-stage timeouts instead`,
    );
  }
  if (effective.w === 0) {
    warn('POOLKIT_WARN_UNACKNOWLEDGED_WRITES', 'w', 'w: 0 makes writes unacknowledged: errors (duplicate keys, validation, a lost primary) are silently dropped and writes cannot be retried');
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.join(',') === b.join(',');
  return a === b;
}

/** A value fit for a message: secrets masked, URIs in strings redacted. */
function show(spec: OptionSpec | undefined, value: unknown): unknown {
  if (spec?.secret) return REDACTED;
  return typeof value === 'string' ? redactText(value) : value;
}

