import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import {
  CLIENT_OPTIONS,
  PRESETS,
  PoolConfigError,
  createClient,
  getInflightTracker,
  validateClientOptions,
  type ConfigWarning,
} from '../../src/index.js';

const URI = 'mongodb://127.0.0.1:1/';
const quiet = { onWarning: () => {} };

/** Calls createClient and returns the PoolConfigError it must throw. */
function configError(uri: string, options: Record<string, unknown>): PoolConfigError {
  try {
    const client = createClient(uri, { ...quiet, ...options });
    void client.close();
  } catch (error) {
    assert.ok(error instanceof PoolConfigError, `expected PoolConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail(`createClient accepted ${uri} ${JSON.stringify(options)}`);
}

describe('createClient option validation', () => {
  // [case, uri, options, option named in the error, text the rule must contain]
  const invalid: Array<[string, string, Record<string, unknown>, string, string]> = [
    ['unknown option with a did-you-mean', URI, { maxPoolSzie: 5 }, 'maxPoolSzie', 'did you mean maxPoolSize?'],
    ['PyMongo spelling', URI, { max_pool_size: 5 }, 'max_pool_size', 'did you mean maxPoolSize?'],
    ['removed driver 3 option', URI, { poolSize: 5 }, 'poolSize', 'use maxPoolSize'],
    ['removed reconnect options', URI, { autoReconnect: true }, 'autoReconnect', 'waitForServer'],
    ['unknown option in the URI', `${URI}?maxIdleTime=100`, {}, 'maxIdleTime', 'did you mean maxIdleTimeMS?'],
    ['wrong type: string', URI, { maxPoolSize: 'ten' }, 'maxPoolSize', 'must be an integer'],
    ['wrong type: fraction', URI, { maxPoolSize: 7.5 }, 'maxPoolSize', 'must be an integer'],
    ['wrong type: boolean', URI, { retryWrites: 'yes' }, 'retryWrites', 'must be true or false'],
    ['wrong type in the URI', `${URI}?retryReads=1`, {}, 'retryReads', 'must be true or false (in the connection string)'],
    ['negative number', URI, { minPoolSize: -1 }, 'minPoolSize', 'between 0 and'],
    ['negative number in the URI', `${URI}?maxPoolSize=-5`, {}, 'maxPoolSize', 'between 0 and'],
    ['timer overflow', URI, { socketTimeoutMS: 3_000_000_000 }, 'socketTimeoutMS', 'overflow Node timers'],
    ['maxConnecting 0', URI, { maxConnecting: 0 }, 'maxConnecting', 'between 1 and'],
    ['zlib level out of range', URI, { zlibCompressionLevel: 12 }, 'zlibCompressionLevel', 'between -1 and 9'],
    ['family not 4 or 6', URI, { family: 5 }, 'family', 'one of 4, 6'],
    ['enum typo', URI, { readPreference: 'secondaryPrefered' }, 'readPreference', 'did you mean secondaryPreferred?'],
    ['enum in the URI', `${URI}?serverMonitoringMode=polling`, {}, 'serverMonitoringMode', 'one of auto, poll, stream'],
    ['unknown compressor', URI, { compressors: ['zlib', 'gzip'] }, 'compressors', '"gzip" is not one'],
    ['appName too long', URI, { appName: 'x'.repeat(129) }, 'appName', 'at most 128 bytes'],
    ['empty string', URI, { replicaSet: '' }, 'replicaSet', 'must not be empty'],
    ['min > max', URI, { minPoolSize: 20, maxPoolSize: 10 }, 'minPoolSize', 'must not exceed maxPoolSize (10)'],
    ['min > max across URI and object', `${URI}?maxPoolSize=5`, { minPoolSize: 6 }, 'minPoolSize', 'must not exceed maxPoolSize (5)'],
    ['min > preset max', URI, { preset: 'serverless', minPoolSize: 6 }, 'minPoolSize', 'must not exceed maxPoolSize (5)'],
    ['heartbeat below its minimum', URI, { heartbeatFrequencyMS: 100 }, 'heartbeatFrequencyMS', 'at least minHeartbeatFrequencyMS (500)'],
    ['maxStalenessSeconds too small', URI, { readPreference: 'secondary', maxStalenessSeconds: 30 }, 'maxStalenessSeconds', 'at least 90'],
    ['maxStalenessSeconds with primary', URI, { maxStalenessSeconds: 120 }, 'maxStalenessSeconds', 'readPreference primary'],
    ['tls and ssl disagree', URI, { tls: true, ssl: false }, 'ssl', 'must agree with tls'],
    ['w 0 with journal', URI, { w: 0, journal: true }, 'journal', 'w: 0'],
    ['directConnection with two hosts', 'mongodb://a:1,b:2/', { directConnection: true }, 'directConnection', 'exactly one host'],
    ['loadBalanced in the object', URI, { loadBalanced: true }, 'loadBalanced', 'only valid in the connection string'],
    ['option given twice with different case', URI, { maxPoolSize: 5, MAXPOOLSIZE: 6 }, 'maxPoolSize', 'given twice'],
    ['option repeated in the URI', `${URI}?maxPoolSize=5&maxpoolsize=6`, {}, 'maxPoolSize', 'more than once'],
    ['unknown preset', URI, { preset: 'webb' }, 'preset', 'did you mean web?'],
    ['rule only the driver knows', URI, { srvMaxHosts: 2 }, 'srvMaxHosts', 'rejected by the driver'],
    ['not a connection string', 'localhost:27017', {}, 'uri', 'must start with mongodb://'],
    ['no host', 'mongodb:///db', {}, 'uri', 'at least one host'],
    ['Infinity shown as Infinity', URI, { maxPoolSize: Infinity }, 'maxPoolSize', 'must be an integer (got Infinity)'],
    ['NaN shown as NaN', URI, { waitQueueTimeoutMS: NaN }, 'waitQueueTimeoutMS', 'must be an integer (got NaN)'],
    ['auth username not a string', URI, { auth: { username: 5, password: 'pw-secret' } }, 'auth.username', 'must be a non-empty string (or undefined) (got 5)'],
    ['auth password not a string', URI, { auth: { username: 'app', password: 12345 } }, 'auth.password', 'must be a string (or undefined) (got "****")'],
    ['auth with an unknown field', URI, { auth: { user: 'app', password: 'pw-secret' } }, 'auth.user', 'did you mean username?'],
    ['auth without a password key', URI, { auth: { username: 'app' } }, 'auth', 'must have both username and password'],
    ['auth not an object', URI, { auth: 'app:pw-secret' }, 'auth', 'must be an object { username, password } (got "****")'],
    ['auth in the connection string', `${URI}?auth=x`, {}, 'auth', 'only be passed in the options object'],
  ];

  for (const [name, uri, options, option, rule] of invalid) {
    it(`rejects ${name}`, () => {
      const error = configError(uri, options);
      assert.equal(error.name, 'PoolConfigError');
      assert.equal(error.code, 'POOLKIT_ERR_CONFIG');
      assert.equal(error.option, option);
      assert.ok(error.message.startsWith(`${option}: `), error.message);
      assert.ok(error.message.includes(rule), `"${error.message}" should contain "${rule}"`);
      assert.match(error.message, /\(got .+\)$/, 'the message shows the value');
    });
  }

  it('matches option names case-insensitively, like the driver, and passes canonical names on', () => {
    const client = createClient(`${URI}?maxpoolsize=7&APPNAME=probe`, { ...quiet, MINPOOLSIZE: 2 } as Record<string, unknown>);
    assert.equal(client.options.maxPoolSize, 7);
    assert.equal(client.options.minPoolSize, 2);
    assert.equal(client.options.appName, 'probe');
  });

  it('accepts every option of the installed driver, including ones outside the schema', () => {
    // Real options the schema types loosely or not at all must reach the driver untouched.
    const client = createClient(URI, { ...quiet, ca: 'x', __skipPingOnConnect: true, enableUtf8Validation: false } as Record<string, unknown>);
    assert.ok(client instanceof MongoClient);
    void client.close();
  });

  it('accepts valid credentials, with or without a password', () => {
    const client = createClient(URI, { ...quiet, auth: { username: 'alice', password: 'pw' } });
    assert.equal(client.options.credentials?.username, 'alice');
    const x509 = createClient(URI, { ...quiet, auth: { username: 'CN=alice', password: undefined }, authMechanism: 'MONGODB-X509', tls: true });
    assert.equal(x509.options.credentials?.mechanism, 'MONGODB-X509');
  });

  it('accepts integer strings like the driver (environment variables)', () => {
    const client = createClient(URI, { ...quiet, maxPoolSize: '12' as unknown as number });
    assert.equal(client.options.maxPoolSize, 12);
  });

  it('never shows a password: in the URI, in secret options, or in a misspelt option', () => {
    const secret = 'S3cr3t-Pa55';
    const cases: Array<[string, Record<string, unknown>]> = [
      [`mongodb://alice:${secret}@127.0.0.1:1/?maxPoolSize=-1`, {}],
      [`mongodb://alice:${secret}@127.0.0.1:1/?bogus=1`, {}],
      [`mongodb://alice:${secret}@127.0.0.1:1/`, { minPoolSize: 9, maxPoolSize: 1 }],
      [`mongodb://alice:${secret}@127.0.0.1:1/`, { srvMaxHosts: 3 }],
      [`mongodb://alice:${secret}@127.0.0.1:1/`, { proxyPassword: secret }],
      [`mongodb://alice:${secret}@127.0.0.1:1/?authMechanism=PLAINN`, {}],
      [`mongodb://alice:${secret}@/`, {}],
      [`mongodb://alice:${secret}@host@127.0.0.1:1/`, {}],
      [`mongodb://alice:${encodeURIComponent(secret + '@x')}@127.0.0.1:1/?maxPoolSize=x`, {}],
      [URI, { auth: { username: 'alice', password: secret }, authMechanism: 'NOPE' }],
      [URI, { pasword: secret }],
      [URI, { auth: { username: 5, password: secret } }],
      [URI, { auth: { username: 'alice', password: 7, extra: secret } }],
      [URI, { auth: { usernme: 'alice', password: secret } }],
      [URI, { auth: { username: '', password: secret } }],
      [URI, { auth: { username: 'alice', password: [secret] } }],
      [URI, { authMechanismProperties: `AWS_SESSION_TOKEN:${secret}`, authMechanism: 'PLAIN' }],
      [URI, { replicaSet: `mongodb://alice:${secret}@elsewhere/`, directConnection: 'sure' }],
      [`mongodb://alice:${secret}@127.0.0.1:1/?tlsCertificateKeyFilePassword=${secret}&tls=false&ssl=true`, {}],
      [`mongodb://alice:${secret}@127.0.0.1:1/?authMechanismProperties=%zz${secret}`, {}],
    ];
    for (const [uri, options] of cases) {
      const error = configError(uri, options);
      assert.ok(!error.message.includes(secret), `password leaked: ${error.message}`);
      assert.ok(!error.message.includes('Pa55'), `part of the password leaked: ${error.message}`);
      assert.ok(!String(error.stack).includes(secret), 'password leaked in the stack');
      assert.ok(!JSON.stringify(error.value ?? null).includes(secret), 'password leaked in error.value');
    }
  });
});

describe('createClient presets and warnings', () => {
  it('the seed preset holds exactly the seed values', () => {
    const client = createClient(URI, { ...quiet, preset: 'seed' });
    const o = client.options;
    assert.deepEqual(
      [o.maxPoolSize, o.minPoolSize, o.maxIdleTimeMS, o.waitQueueTimeoutMS, o.connectTimeoutMS, o.socketTimeoutMS, o.retryWrites, o.retryReads, o.heartbeatFrequencyMS, o.serverSelectionTimeoutMS],
      [50, 10, 30000, 5000, 10000, 20000, true, true, 10000, 30000],
    );
  });

  it('without a preset the driver defaults apply', () => {
    const client = createClient(URI, quiet);
    assert.equal(client.options.maxPoolSize, 100);
    assert.equal(client.options.minPoolSize, 0);
    assert.equal(client.options.waitQueueTimeoutMS, 0);
  });

  it('every preset is valid, warning-free, documented, and yields to the URI and the options', () => {
    for (const preset of Object.values(PRESETS)) {
      const warnings: ConfigWarning[] = [];
      const client = createClient(`${URI}?maxPoolSize=3`, { preset: preset.name, minPoolSize: 1, onWarning: (w) => warnings.push(w) });
      assert.deepEqual(warnings, [], `${preset.name} warns`);
      assert.equal(client.options.maxPoolSize, 3, `${preset.name}: the URI wins over the preset`);
      assert.equal(client.options.minPoolSize, 1, `${preset.name}: the options win over the preset`);
      for (const [name, { why }] of Object.entries(preset.options)) {
        assert.ok(why.length > 10, `${preset.name}.${name} has no reasoning`);
        assert.ok(CLIENT_OPTIONS.some((spec) => spec.name === name), `${preset.name}.${name} is not in the schema`);
      }
    }
  });

  it('warns about doubtful combinations through onWarning', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ maxPoolSize: 0 }, 'POOLKIT_WARN_UNBOUNDED_POOL'],
      [{ maxPoolSize: 2000 }, 'POOLKIT_WARN_LARGE_POOL'],
      [{ waitQueueTimeoutMS: 30000, serverSelectionTimeoutMS: 10000 }, 'POOLKIT_WARN_WAIT_QUEUE_TIMEOUT'],
      [{ socketTimeoutMS: 500 }, 'POOLKIT_WARN_SHORT_SOCKET_TIMEOUT'],
      [{ connectTimeoutMS: 0 }, 'POOLKIT_WARN_NO_CONNECT_TIMEOUT'],
      [{ connectTimeoutMS: 20000, serverSelectionTimeoutMS: 5000 }, 'POOLKIT_WARN_CONNECT_TIMEOUT'],
      [{ maxPoolSize: 2, maxConnecting: 5 }, 'POOLKIT_WARN_MAX_CONNECTING'],
      [{ tlsAllowInvalidCertificates: true }, 'POOLKIT_WARN_TLS_INSECURE'],
      [{ w: 0 }, 'POOLKIT_WARN_UNACKNOWLEDGED_WRITES'],
    ];
    for (const [options, code] of cases) {
      const warnings: ConfigWarning[] = [];
      createClient(URI, { ...options, onWarning: (w) => warnings.push(w) });
      assert.deepEqual(warnings.map((w) => w.code), [code], JSON.stringify(options));
      assert.ok(warnings[0].message.length > 20);
    }
    const overridden: ConfigWarning[] = [];
    createClient(`${URI}?maxPoolSize=5`, { maxPoolSize: 8, onWarning: (w) => overridden.push(w) });
    assert.equal(overridden[0].code, 'POOLKIT_WARN_OPTION_OVERRIDDEN');
    assert.match(overridden[0].message, /connection string \(5\).*options \(8\); the options value wins/);
  });

  it('warns that timeoutMS does nothing with the installed driver (a no-op from 6.22 and 7.8)', async () => {
    // The driver warns too (a process warning on the next tick): wait for both of its warnings.
    const driverWarned = new Promise<void>((resolve) => {
      let seen = 0;
      const onWarning = (warning: Error) => {
        if (!/timeoutMS is a deprecated option/.test(warning.message) || ++seen < 2) return;
        process.off('warning', onWarning);
        resolve();
      };
      process.on('warning', onWarning);
    });
    for (const [uri, options] of [
      [URI, { timeoutMS: 100 }],
      [`${URI}?timeoutMS=100`, {}],
    ] as const) {
      const warnings: ConfigWarning[] = [];
      const client = createClient(uri, { ...options, onWarning: (w) => warnings.push(w) });
      assert.deepEqual(warnings.map((w) => [w.code, w.option]), [['POOLKIT_WARN_TIMEOUT_MS', 'timeoutMS']], uri);
      assert.match(warnings[0].message, /timeoutMS has no effect with the installed mongodb driver 7\.\d+\.\d+/);
      assert.equal((client.options as { timeoutMS?: unknown }).timeoutMS, undefined, 'the driver really drops it');
    }
    await driverWarned;
  });

  it('emits a process warning with a POOLKIT code by default', async () => {
    const emitted = once(process, 'warning');
    createClient(URI, { maxPoolSize: 0 });
    const [warning] = (await emitted) as [Error & { code?: string }];
    assert.equal(warning.name, 'PoolkitWarning');
    assert.equal(warning.code, 'POOLKIT_WARN_UNBOUNDED_POOL');
  });

  it('tracks in-flight operations from birth', () => {
    const client = createClient(URI, quiet);
    const tracker = getInflightTracker(client);
    assert.ok(tracker);
    assert.equal(tracker.inflight, 0);
    assert.equal(tracker.shuttingDown, false);
  });

  it('validateClientOptions reports sources and effective values without creating a client', () => {
    const result = validateClientOptions(`${URI}?maxPoolSize=8`, { preset: 'web', socketTimeoutMS: 45000 });
    assert.equal(result.effective.maxPoolSize, 8);
    assert.equal(result.sources.maxPoolSize, 'uri');
    assert.equal(result.sources.socketTimeoutMS, 'options');
    assert.equal(result.sources.waitQueueTimeoutMS, 'preset');
    assert.equal('maxPoolSize' in result.driverOptions, false, 'the URI value is left to the driver');
  });
});
