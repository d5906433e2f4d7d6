/**
 * The client options schema, as data: one row per option the MongoDB Node driver (6.x and 7.x)
 * accepts, with the type, range, driver default and a one-line explanation. `createClient`
 * validates against it, docs/configuration.md describes it and the doctor can reuse it.
 *
 * Rows whose type is `any` are accepted and passed through untouched (TLS/socket options handed
 * to Node, internal hooks): the driver or Node validates those.
 */

/** How a value is checked. `uint`/`int` take numbers, or integer strings as the driver does. */
export type OptionType =
  | 'uint'
  | 'int'
  | 'boolean'
  | 'string'
  | 'enum'
  | 'compressors'
  | 'writeConcernW'
  | 'readPreference'
  | 'object'
  | 'credentials'
  | 'stringOrObject'
  | 'function'
  | 'any';

export type OptionCategory =
  | 'pool'
  | 'timeouts'
  | 'monitoring'
  | 'retry'
  | 'topology'
  | 'read-write'
  | 'auth'
  | 'tls'
  | 'network'
  | 'compression'
  | 'bson'
  | 'logging'
  | 'other';

export interface OptionSpec {
  /** Canonical spelling (the driver matches names case-insensitively; so do we). */
  readonly name: string;
  readonly type: OptionType;
  readonly category: OptionCategory;
  /** Inclusive bounds for numbers; `maxBytes` bounds a string's UTF-8 length. */
  readonly min?: number;
  readonly max?: number;
  readonly maxBytes?: number;
  /** Allowed values (enum, compressors, or a restricted number set such as `family`). */
  readonly values?: readonly (string | number)[];
  /** Enum values compare case-insensitively (the driver does so for authMechanism). */
  readonly caseInsensitive?: boolean;
  /** The driver's default (7.x), for documentation; undefined = unset. */
  readonly default?: unknown;
  /** Where the option may appear: both (default), only in the URI, or only in the options object. */
  readonly where?: 'uri' | 'object';
  /** Holds a secret: its value is never shown in messages. */
  readonly secret?: boolean;
  /** Deprecated by the driver (it warns itself); the text says what to use instead. */
  readonly deprecated?: string;
  readonly doc: string;
}

// Node keeps timers in a signed 32-bit millisecond count: anything larger fires after 1 ms.
export const MAX_TIMER_MS = 2_147_483_647;
const ms = { min: 0, max: MAX_TIMER_MS } as const;

export const CLIENT_OPTIONS: readonly OptionSpec[] = [
  // Pool (CMAP)
  { name: 'maxPoolSize', type: 'uint', category: 'pool', min: 0, max: 1_000_000, default: 100, doc: 'Most connections per server: being established, idle and in use together. 0 means unlimited.' },
  { name: 'minPoolSize', type: 'uint', category: 'pool', min: 0, max: 1_000_000, default: 0, doc: 'Connections each server pool keeps open even when idle, filled in the background one at a time. Must not exceed maxPoolSize (unless that is 0).' },
  { name: 'maxIdleTimeMS', type: 'uint', category: 'pool', ...ms, default: 0, doc: 'A connection idle this long is closed (and replaced if that drops the pool below minPoolSize). 0 means never.' },
  { name: 'maxConnecting', type: 'uint', category: 'pool', min: 1, max: 1_000_000, default: 2, doc: 'Connections one pool may be establishing at the same time; waiting operations take a returned connection instead when one frees up.' },
  { name: 'waitQueueTimeoutMS', type: 'uint', category: 'pool', ...ms, default: 0, doc: 'How long an operation may wait for a free connection before failing with MongoWaitQueueTimeoutError. 0 means forever.' },

  // Timeouts
  { name: 'connectTimeoutMS', type: 'uint', category: 'timeouts', ...ms, default: 30000, doc: 'Time to open a new connection: TCP connect, TLS and the MongoDB handshake. 0 means no limit (the OS decides, often minutes).' },
  { name: 'socketTimeoutMS', type: 'uint', category: 'timeouts', ...ms, default: 0, doc: 'Inactivity limit on a socket in use. When it fires the operation fails with a network timeout and the connection is closed. 0 means none; prefer maxTimeMS per operation.' },
  { name: 'serverSelectionTimeoutMS', type: 'uint', category: 'timeouts', ...ms, default: 30000, doc: 'How long an operation waits for a suitable server (for example a primary during an election) before MongoServerSelectionError.' },
  { name: 'timeoutMS', type: 'uint', category: 'timeouts', ...ms, deprecated: 'the driver ignores it from 6.22 and 7.8; bound operations with maxTimeMS, an AbortSignal and the per-stage timeouts', doc: 'Client-side operation timeout: experimental CSOT in drivers 6.11 to 6.21 and 7.0 to 7.7 (where a timeout can desynchronise the pool: see the security warning in the 6.22/7.8 release notes); accepted and ignored from 6.22 and 7.8. createClient warns either way.' },
  { name: 'localThresholdMS', type: 'uint', category: 'timeouts', ...ms, default: 15, doc: 'Latency window: servers within this many ms of the fastest suitable one are chosen at random.' },
  { name: 'wtimeoutMS', type: 'uint', category: 'read-write', ...ms, doc: 'Write concern timeout: how long the server waits for replication before reporting a write concern error (the write itself is not undone).' },
  { name: 'wtimeout', type: 'uint', category: 'read-write', ...ms, deprecated: 'use wtimeoutMS', doc: 'Old name of wtimeoutMS.' },

  // Monitoring (SDAM)
  { name: 'heartbeatFrequencyMS', type: 'uint', category: 'monitoring', ...ms, default: 10000, doc: 'Interval between server checks by the monitor. Must be at least minHeartbeatFrequencyMS.' },
  { name: 'minHeartbeatFrequencyMS', type: 'uint', category: 'monitoring', ...ms, default: 500, doc: 'Shortest interval between checks when operations ask for an immediate re-check (after an error).' },
  { name: 'serverMonitoringMode', type: 'enum', category: 'monitoring', values: ['auto', 'poll', 'stream'], default: 'auto', doc: "'stream' keeps an awaited hello open (2 sockets per server), 'poll' checks every heartbeat (1 socket); 'auto' streams except on FaaS platforms." },
  { name: 'monitorCommands', type: 'boolean', category: 'monitoring', default: false, doc: 'Emit commandStarted/Succeeded/Failed events (needed for per-command latency).' },

  // Retries
  { name: 'retryReads', type: 'boolean', category: 'retry', default: true, doc: 'The driver retries a read once after a retryable error.' },
  { name: 'retryWrites', type: 'boolean', category: 'retry', default: true, doc: 'The driver retries a write once with the same transaction number, so the server applies it at most once (replica sets and sharded clusters).' },
  { name: 'maxAdaptiveRetries', type: 'uint', category: 'retry', min: 0, max: 100, default: 2, doc: 'Driver 7.2+: retries after an overload (SystemOverloadedError) reply, with jittered backoff.' },
  { name: 'enableOverloadRetargeting', type: 'boolean', category: 'retry', default: false, doc: 'Driver 7.x: retry overloaded operations on another server when possible.' },

  // Topology and discovery
  { name: 'directConnection', type: 'boolean', category: 'topology', default: false, doc: 'Talk to exactly the one host given, without discovering the replica set.' },
  { name: 'loadBalanced', type: 'boolean', category: 'topology', where: 'uri', default: false, doc: 'The host is a load balancer in front of mongos; only valid in the connection string.' },
  { name: 'replicaSet', type: 'string', category: 'topology', doc: 'Required replica set name; servers of another set are ignored.' },
  { name: 'srvMaxHosts', type: 'uint', category: 'topology', min: 0, max: 1_000_000, default: 0, doc: 'mongodb+srv only: use at most this many of the SRV hosts (0 = all).' },
  { name: 'srvServiceName', type: 'string', category: 'topology', default: 'mongodb', doc: 'mongodb+srv only: SRV service name.' },
  { name: 'srvAllowedHostsSuffix', type: 'any', category: 'topology', doc: 'Driver 7.x, mongodb+srv only: accepted suffix for SRV targets.' },
  { name: 'srvHostValidator', type: 'function', category: 'topology', where: 'object', doc: 'Driver 7.x, mongodb+srv only: custom SRV target check.' },
  { name: 'srvPoller', type: 'any', category: 'other', doc: 'Internal SRV poller hook.' },
  { name: 'appName', type: 'string', category: 'other', maxBytes: 128, doc: 'Name reported in the handshake; shows in server logs, currentOp and failCommand appName filters. At most 128 bytes.' },
  { name: 'dbName', type: 'string', category: 'other', doc: 'Default database (normally the URI path).' },
  { name: 'driverInfo', type: 'object', category: 'other', default: {}, doc: 'Library name/version appended to the handshake metadata.' },
  { name: 'name', type: 'any', category: 'other', doc: 'Old alias that sets driverInfo.name.' },
  { name: 'serverApi', type: 'stringOrObject', category: 'other', where: 'object', doc: "Stable API version, e.g. '1' or { version: '1', strict: true }." },

  // Read and write behaviour
  { name: 'readPreference', type: 'readPreference', category: 'read-write', values: ['primary', 'primaryPreferred', 'secondary', 'secondaryPreferred', 'nearest'], default: 'primary', doc: 'Which members serve reads.' },
  { name: 'readPreferenceTags', type: 'any', category: 'read-write', doc: 'Tag sets restricting eligible members (not with primary).' },
  { name: 'maxStalenessSeconds', type: 'int', category: 'read-write', min: -1, max: MAX_TIMER_MS, doc: 'Skip secondaries lagging more than this; -1 means no limit, otherwise at least 90. Not with readPreference primary.' },
  { name: 'readConcern', type: 'object', category: 'read-write', doc: "Read concern object, e.g. { level: 'majority' }." },
  { name: 'readConcernLevel', type: 'enum', category: 'read-write', values: ['local', 'majority', 'linearizable', 'available', 'snapshot'], doc: 'Read concern level.' },
  { name: 'w', type: 'writeConcernW', category: 'read-write', doc: "Write acknowledgement: a number of members, 'majority' or a tag set name. 0 means unacknowledged." },
  { name: 'journal', type: 'boolean', category: 'read-write', doc: 'Acknowledge writes only once journaled.' },
  { name: 'j', type: 'boolean', category: 'read-write', deprecated: 'use journal', doc: 'Old name of journal.' },
  { name: 'fsync', type: 'boolean', category: 'read-write', deprecated: 'use journal', doc: 'Old journal flag.' },
  { name: 'writeConcern', type: 'object', category: 'read-write', doc: "Write concern object, e.g. { w: 'majority', wtimeoutMS: 5000 }." },
  { name: 'forceServerObjectId', type: 'boolean', category: 'read-write', default: false, doc: 'Let the server, not the driver, assign _id values.' },

  // Authentication
  { name: 'auth', type: 'credentials', category: 'auth', secret: true, where: 'object', doc: 'Credentials { username, password } (instead of putting them in the URI): both keys, string values (password undefined for mechanisms without one), nothing else.' },
  { name: 'authMechanism', type: 'enum', category: 'auth', caseInsensitive: true, values: ['DEFAULT', 'SCRAM-SHA-1', 'SCRAM-SHA-256', 'MONGODB-X509', 'MONGODB-AWS', 'MONGODB-OIDC', 'GSSAPI', 'PLAIN'], doc: 'Authentication mechanism.' },
  { name: 'authMechanismProperties', type: 'stringOrObject', category: 'auth', secret: true, doc: "Mechanism properties ('KEY:value,...' or an object)." },
  { name: 'authSource', type: 'string', category: 'auth', doc: 'Database holding the user (default: the URI database, or admin).' },

  // TLS
  { name: 'tls', type: 'boolean', category: 'tls', doc: 'Use TLS (default true for mongodb+srv).' },
  { name: 'ssl', type: 'boolean', category: 'tls', doc: 'Alias of tls; both must agree when both are given.' },
  { name: 'tlsAllowInvalidCertificates', type: 'boolean', category: 'tls', doc: 'Accept any server certificate (testing only).' },
  { name: 'tlsAllowInvalidHostnames', type: 'boolean', category: 'tls', doc: "Skip the certificate's hostname check (testing only)." },
  { name: 'tlsInsecure', type: 'boolean', category: 'tls', doc: 'Both of the above (testing only).' },
  { name: 'tlsCAFile', type: 'string', category: 'tls', doc: 'Path of the CA bundle.' },
  { name: 'tlsCRLFile', type: 'string', category: 'tls', doc: 'Path of a certificate revocation list.' },
  { name: 'tlsCertificateKeyFile', type: 'string', category: 'tls', doc: 'Path of the client certificate and key (PEM).' },
  { name: 'tlsCertificateKeyFilePassword', type: 'any', category: 'tls', secret: true, doc: 'Password of the client key.' },
  ...['ca', 'cert', 'crl', 'ciphers', 'ecdhCurve', 'secureProtocol', 'servername', 'minDHSize', 'allowPartialTrustChain', 'secureContext', 'enableTrace', 'requestCert', 'rejectUnauthorized', 'checkServerIdentity', 'ALPNProtocols', 'SNICallback', 'session', 'requestOCSP', 'pskCallback'].map(
    (name): OptionSpec => ({ name, type: 'any', category: 'tls', doc: "Passed to Node's tls.connect." }),
  ),
  ...['key', 'passphrase', 'pfx'].map(
    (name): OptionSpec => ({ name, type: 'any', category: 'tls', secret: true, doc: "Passed to Node's tls.connect (secret)." }),
  ),

  // Network and proxy
  { name: 'noDelay', type: 'boolean', category: 'network', default: true, doc: "Disable Nagle's algorithm on connections." },
  { name: 'keepAliveInitialDelay', type: 'any', category: 'network', doc: "Passed to Node's socket.setKeepAlive." },
  { name: 'family', type: 'int', category: 'network', values: [4, 6], doc: 'Resolve hosts to IPv4 (4) or IPv6 (6) only.' },
  { name: 'autoSelectFamily', type: 'boolean', category: 'network', doc: "Node's happy-eyeballs address selection." },
  { name: 'autoSelectFamilyAttemptTimeout', type: 'uint', category: 'network', ...ms, doc: 'Per-address wait in happy-eyeballs selection.' },
  { name: 'localAddress', type: 'any', category: 'network', doc: 'Local interface to connect from.' },
  { name: 'localPort', type: 'any', category: 'network', doc: 'Local port to connect from.' },
  { name: 'hints', type: 'any', category: 'network', doc: 'dns.lookup hints.' },
  { name: 'lookup', type: 'any', category: 'network', doc: 'Custom DNS lookup function.' },
  { name: 'proxyHost', type: 'string', category: 'network', doc: 'SOCKS5 proxy host.' },
  { name: 'proxyPort', type: 'uint', category: 'network', min: 1, max: 65535, doc: 'SOCKS5 proxy port (default 1080).' },
  { name: 'proxyUsername', type: 'string', category: 'network', doc: 'SOCKS5 proxy user.' },
  { name: 'proxyPassword', type: 'string', category: 'network', secret: true, doc: 'SOCKS5 proxy password.' },
  { name: 'minInternalBufferSize', type: 'uint', category: 'network', min: 0, max: MAX_TIMER_MS, doc: 'Initial size of the per-connection read buffer.' },

  // Compression
  { name: 'compressors', type: 'compressors', category: 'compression', values: ['none', 'snappy', 'zlib', 'zstd'], default: 'none', doc: "Wire compressors to offer, in order ('zlib' is built in; snappy and zstd need optional packages)." },
  { name: 'zlibCompressionLevel', type: 'int', category: 'compression', min: -1, max: 9, default: 0, doc: 'zlib level: -1 default, 0 none, 9 smallest.' },

  // BSON
  ...['bsonRegExp', 'checkKeys', 'enableUtf8Validation', 'ignoreUndefined', 'promoteBuffers', 'promoteLongs', 'promoteValues', 'useBigInt64', 'raw', 'serializeFunctions'].map(
    (name): OptionSpec => ({ name, type: 'boolean', category: 'bson', doc: 'BSON (de)serialisation flag.' }),
  ),
  { name: 'fieldsAsRaw', type: 'object', category: 'bson', doc: 'Fields returned as raw BSON buffers.' },
  { name: 'pkFactory', type: 'object', category: 'bson', doc: 'Factory creating _id values ({ createPk() }).' },

  // Logging and the rest
  { name: 'mongodbLogPath', type: 'any', category: 'logging', doc: "Driver log destination: 'stderr', 'stdout' or { write }." },
  { name: 'mongodbLogComponentSeverities', type: 'object', category: 'logging', doc: 'Driver log level per component.' },
  { name: 'mongodbLogMaxDocumentLength', type: 'uint', category: 'logging', min: 0, max: MAX_TIMER_MS, doc: 'Truncate documents in driver logs.' },
  { name: 'autoEncryption', type: 'object', category: 'other', doc: 'Client-side field level encryption settings.' },
  { name: 'runtimeAdapters', type: 'object', category: 'other', doc: 'Driver 7.x: runtime hooks.' },
  { name: 'connectionType', type: 'any', category: 'other', doc: 'Internal.' },
  { name: 'index', type: 'any', category: 'other', doc: 'Internal.' },
  { name: '__skipPingOnConnect', type: 'boolean', category: 'other', doc: 'Internal.' },
  { name: 'useNewUrlParser', type: 'boolean', category: 'other', deprecated: 'has no effect (driver 6); remove it', doc: 'Driver 6 only; no effect.' },
  { name: 'useUnifiedTopology', type: 'boolean', category: 'other', deprecated: 'has no effect (driver 6); remove it', doc: 'Driver 6 only; no effect.' },
];

/** Options of createClient itself (never passed to the driver). */
export const POOLKIT_OPTIONS = ['preset', 'onWarning'] as const;

const byLowerName = new Map(CLIENT_OPTIONS.map((spec) => [spec.name.toLowerCase(), spec]));

/** The schema row for an option name, matched case-insensitively as the driver does. */
export function findOption(name: string): OptionSpec | undefined {
  return byLowerName.get(name.toLowerCase());
}
