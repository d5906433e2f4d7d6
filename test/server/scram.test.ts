import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { Binary } from 'bson';
import { ScramConversation, computeScramKeys, preparePassword, type ScramCredential, type ScramMechanism } from '../../src/server/auth/scram.js';
import { Authenticator, type AuthSession } from '../../src/server/auth/authenticator.js';
import { CommandError } from '../../src/server/errors.js';
import { PoolConfigError } from '../../src/errors.js';

// Pure unit tests: RFC test vectors and a reference client written from the RFC. The driver-level
// tests (the real `mongodb` client authenticating) are in auth.test.ts.

const isAuthFailed = (err: unknown) => err instanceof CommandError && err.code === 18 && err.message === 'Authentication failed.';

function vectorConversation(mechanism: ScramMechanism, salt: string, serverNonce: string) {
  const keys = computeScramKeys(mechanism, 'pencil', Buffer.from(salt, 'base64'), 4096);
  const credential: ScramCredential = { mechanism, salt: Buffer.from(salt, 'base64'), iterations: 4096, ...keys };
  return new ScramConversation(mechanism, { lookup: (user) => (user === 'user' ? credential : undefined), decoySecret: Buffer.alloc(32), serverNonce });
}

test('RFC 7677 SCRAM-SHA-256 test vector', () => {
  const conv = vectorConversation('SCRAM-SHA-256', 'W22ZaJ0SNY7soEsUEjb6gQ==', '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0');
  assert.equal(
    conv.start('n,,n=user,r=rOprNGfwEbeRWgbNEkqO').toString(),
    'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  );
  const final = conv.finish('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=');
  assert.equal(final.toString(), 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
  assert.equal(conv.authenticated, true);
});

test('RFC 5802 SCRAM-SHA-1 test vector', () => {
  const conv = vectorConversation('SCRAM-SHA-1', 'QSXCR+Q6sek8bf92', '3rfcNHYJY1ZVvWVs7j');
  assert.equal(conv.start('n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL').toString(), 'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096');
  const final = conv.finish('c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=');
  assert.equal(final.toString(), 'v=rmF9pqV8S7suAoZWja4dJRkFsKQ=');
});

test('a wrong proof, a tampered nonce or channel binding fail with 18', () => {
  const proof = 'p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=';
  const nonce = 'rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
  const fresh = () => {
    const conv = vectorConversation('SCRAM-SHA-256', 'W22ZaJ0SNY7soEsUEjb6gQ==', '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0');
    conv.start('n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
    return conv;
  };
  assert.throws(() => fresh().finish(`c=biws,r=${nonce},p=${Buffer.alloc(32).toString('base64')}`), isAuthFailed);
  assert.throws(() => fresh().finish(`c=biws,r=${nonce}x,${proof}`), isAuthFailed);
  assert.throws(() => fresh().finish(`c=eSws,r=${nonce},${proof}`), isAuthFailed);
  assert.throws(() => vectorConversation('SCRAM-SHA-256', 'AA==', 'x').start('p=tls-unique,,n=user,r=abc'), isAuthFailed);
  assert.throws(() => vectorConversation('SCRAM-SHA-256', 'AA==', 'x').start('garbage'), isAuthFailed);
});

test('mongod password preparation: SHA-1 uses the MD5 digest, SHA-256 uses SASLprep', () => {
  assert.equal(preparePassword('SCRAM-SHA-1', 'user', 'pencil'), createHash('md5').update('user:mongo:pencil').digest('hex'));
  assert.equal(preparePassword('SCRAM-SHA-256', 'user', 'I\u00ADX'), 'IX', 'soft hyphen is mapped to nothing');
  assert.equal(preparePassword('SCRAM-SHA-256', 'user', '\u2168'), 'IX', 'NFKC');
});

/** A SCRAM client written from RFC 5802 (mongod's variant: SHA-1 hashes the MD5 digest). */
function clientProof(mechanism: ScramMechanism, user: string, password: string, clientFirstBare: string, serverFirst: string) {
  const hash = mechanism === 'SCRAM-SHA-1' ? 'sha1' : 'sha256';
  const attrs = Object.fromEntries(serverFirst.split(',').map((p) => [p[0], p.slice(2)]));
  const prepared = mechanism === 'SCRAM-SHA-1' ? createHash('md5').update(`${user}:mongo:${password}`).digest('hex') : password;
  const salted = pbkdf2Sync(prepared, Buffer.from(attrs.s, 'base64'), Number(attrs.i), hash === 'sha1' ? 20 : 32, hash);
  const clientKey = createHmac(hash, salted).update('Client Key').digest();
  const storedKey = createHash(hash).update(clientKey).digest();
  const withoutProof = `c=biws,r=${attrs.r}`;
  const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
  const signature = createHmac(hash, storedKey).update(authMessage).digest();
  const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]));
  const serverKey = createHmac(hash, salted).update('Server Key').digest();
  return {
    final: `${withoutProof},p=${proof.toString('base64')}`,
    expectedServerFinal: `v=${createHmac(hash, serverKey).update(authMessage).digest('base64')}`,
    iterations: Number(attrs.i),
  };
}

const session = (): AuthSession => ({ authenticatedUsers: new Set(), saslConversations: new Map() });

function converse(auth: Authenticator, s: AuthSession, mechanism: ScramMechanism, user: string, password: string, db = 'admin', skipEmptyExchange = true) {
  const bare = `n=${user.replace(/=/g, '=3D').replace(/,/g, '=2C')},r=${randomBytes(18).toString('base64')}`;
  const first = auth.saslStart(s, db, { saslStart: 1, mechanism, payload: new Binary(Buffer.from(`n,,${bare}`)), options: { skipEmptyExchange } });
  const serverFirst = Buffer.from((first.payload as Binary).value()).toString();
  const { final, expectedServerFinal, iterations } = clientProof(mechanism, user, password, bare, serverFirst);
  const second = auth.saslContinue(s, { saslContinue: 1, conversationId: first.conversationId, payload: new Binary(Buffer.from(final)) });
  assert.equal(Buffer.from((second.payload as Binary).value()).toString(), expectedServerFinal, 'server proves it knows the password');
  return { first, second, serverFirst, iterations };
}

const auth = new Authenticator({ users: [{ user: 'app', password: 'secret' }, { user: 'we,ird=name', password: 'pässwörd' }] });

test('Authenticator: both mechanisms authenticate with mongod default iteration counts', () => {
  for (const [mechanism, iterations] of [['SCRAM-SHA-1', 10000], ['SCRAM-SHA-256', 15000]] as const) {
    const s = session();
    const { second, iterations: seen } = converse(auth, s, mechanism, 'app', 'secret');
    assert.equal(seen, iterations);
    assert.equal(second.done, true);
    assert.equal(auth.isAuthenticated(s), true);
    assert.deepEqual([...s.authenticatedUsers], ['app@admin']);
    assert.equal(s.saslConversations.size, 0);
  }
  const s = session();
  converse(auth, s, 'SCRAM-SHA-256', 'we,ird=name', 'pässwörd');
  assert.deepEqual([...s.authenticatedUsers], ['we,ird=name@admin'], 'escaped user names are decoded');
});

test('Authenticator: without skipEmptyExchange the client finishes with an empty saslContinue', () => {
  const s = session();
  const { second } = converse(auth, s, 'SCRAM-SHA-256', 'app', 'secret', 'admin', false);
  assert.equal(second.done, false);
  assert.equal(auth.isAuthenticated(s), false, 'not yet');
  const third = auth.saslContinue(s, { saslContinue: 1, conversationId: 1, payload: new Binary(Buffer.alloc(0)) });
  assert.equal(third.done, true);
  assert.equal(auth.isAuthenticated(s), true);
});

test('Authenticator: wrong password and unknown user fail identically (no enumeration)', () => {
  const attempt = (user: string, password: string, db = 'admin') => {
    const s = session();
    let serverFirst = '';
    assert.throws(() => ({ serverFirst } = converse(auth, s, 'SCRAM-SHA-256', user, password, db)), isAuthFailed);
    assert.equal(auth.isAuthenticated(s), false);
    assert.equal(s.saslConversations.size, 0, 'failed conversation discarded');
    return serverFirst;
  };
  attempt('app', 'wrong');
  attempt('ghost', 'secret');
  attempt('app', 'secret', 'test');
  // An unknown user gets a plausible, stable salt and mongod's iteration count at step 1.
  const probe = (user: string) => {
    const s = session();
    const r = auth.saslStart(s, 'admin', { saslStart: 1, mechanism: 'SCRAM-SHA-256', payload: new Binary(Buffer.from(`n,,n=${user},r=abcdef`)) });
    return Buffer.from((r.payload as Binary).value()).toString().replace(/^r=[^,]*,/, '');
  };
  assert.equal(probe('ghost'), probe('ghost'));
  assert.match(probe('ghost'), /^s=[A-Za-z0-9+/=]{20,},i=15000$/);
});

test('Authenticator: saslSupportedMechs, bad conversation id, unsupported mechanism', () => {
  assert.deepEqual(auth.supportedMechanisms('admin.app'), ['SCRAM-SHA-1', 'SCRAM-SHA-256']);
  assert.equal(auth.supportedMechanisms('admin.ghost'), undefined);
  assert.equal(auth.supportedMechanisms('test.app'), undefined);
  assert.throws(() => auth.saslContinue(session(), { saslContinue: 1, conversationId: 7, payload: new Binary(Buffer.alloc(0)) }), (e: unknown) => e instanceof CommandError && e.code === 17);
  assert.throws(() => auth.saslStart(session(), 'admin', { saslStart: 1, mechanism: 'PLAIN', payload: '' }), (e: unknown) => e instanceof CommandError && e.code === 334);
  const onlySha256 = new Authenticator({ users: [{ user: 'u', password: 'p', mechanisms: ['SCRAM-SHA-256'] }] });
  assert.deepEqual(onlySha256.supportedMechanisms('admin.u'), ['SCRAM-SHA-256']);
  assert.throws(() => converse(onlySha256, session(), 'SCRAM-SHA-1', 'u', 'p'), isAuthFailed);
});

test('Authenticator: speculative authentication returns step 1, or nothing on a bad request', () => {
  const s = session();
  const reply = auth.speculativeAuthenticate(s, { saslStart: 1, mechanism: 'SCRAM-SHA-256', payload: new Binary(Buffer.from('n,,n=app,r=nonce123')), db: 'admin' });
  assert.equal(reply?.conversationId, 1);
  assert.match(Buffer.from((reply!.payload as Binary).value()).toString(), /^r=nonce123.+,s=.+,i=15000$/);
  assert.equal(s.saslConversations.size, 1);
  assert.equal(auth.speculativeAuthenticate(session(), { authenticate: 1, mechanism: 'MONGODB-X509', db: '$external' }), undefined);
  assert.equal(auth.speculativeAuthenticate(session(), { saslStart: 1, mechanism: 'SCRAM-SHA-256', payload: new Binary(Buffer.from('junk')), db: 'admin' }), undefined);
});

test('Authenticator: bad options name the option and never show the password', () => {
  assert.throws(() => new Authenticator({ users: [] }), (e: unknown) => e instanceof PoolConfigError && e.option === 'auth.users');
  assert.throws(
    () => new Authenticator({ users: [{ user: 'a', password: '' }] }),
    (e: unknown) => e instanceof PoolConfigError && e.option === 'auth.users[0].password',
  );
  assert.throws(
    () => new Authenticator({ users: [{ user: 'a', password: 'topsecret' }], iterations: { 'SCRAM-SHA-256': 100 } }),
    (e: unknown) => e instanceof PoolConfigError && e.option === 'auth.iterations.SCRAM-SHA-256' && !e.message.includes('topsecret'),
  );
});

test('Authenticator: with custom iteration counts an unknown user is offered the same count and a salt of the same length', () => {
  const custom = new Authenticator({ users: [{ user: 'app', password: 'secret' }], iterations: { 'SCRAM-SHA-256': 4096, 'SCRAM-SHA-1': 5000 } });
  const serverFirst = (auth: Authenticator, mechanism: ScramMechanism, user: string) => {
    const r = auth.saslStart(session(), 'admin', { saslStart: 1, mechanism, payload: new Binary(Buffer.from(`n,,n=${user},r=abcdef`)) });
    const attrs = Object.fromEntries(Buffer.from((r.payload as Binary).value()).toString().split(',').map((p) => [p[0], p.slice(2)]));
    return { salt: attrs.s, saltBytes: Buffer.from(attrs.s, 'base64').length, iterations: Number(attrs.i) };
  };
  for (const [mechanism, iterations, saltBytes] of [['SCRAM-SHA-256', 4096, 28], ['SCRAM-SHA-1', 5000, 16]] as const) {
    const known = serverFirst(custom, mechanism, 'app');
    const ghost = serverFirst(custom, mechanism, 'ghost');
    assert.deepEqual([known.iterations, known.saltBytes], [iterations, saltBytes]);
    assert.deepEqual([ghost.iterations, ghost.saltBytes], [iterations, saltBytes], `${mechanism}: the unknown user looks the same`);
    assert.equal(serverFirst(custom, mechanism, 'ghost').salt, ghost.salt, 'repeated probes see a stable salt');
    assert.notEqual(serverFirst(custom, mechanism, 'ghost2').salt, ghost.salt, 'derived from the user name');
  }
  const otherServer = new Authenticator({ users: [{ user: 'app', password: 'secret' }], iterations: { 'SCRAM-SHA-256': 4096 } });
  assert.notEqual(serverFirst(otherServer, 'SCRAM-SHA-256', 'ghost').salt, serverFirst(custom, 'SCRAM-SHA-256', 'ghost').salt, "and from the server's secret");
  assert.equal(serverFirst(otherServer, 'SCRAM-SHA-1', 'ghost').iterations, 10000, "defaults stay mongod's");
});
