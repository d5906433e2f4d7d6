import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import { CommandError } from '../errors.js';

/**
 * Server side of SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802 / RFC 7677) as mongod speaks it:
 * credentials are derived once per user (salt, iteration count, StoredKey, ServerKey; the password
 * itself is not kept), and a conversation checks the client's proof in two steps. Every failure
 * is the same AuthenticationFailed (18) "Authentication failed.", and an unknown user runs a
 * conversation with a made-up salt that fails at the proof, exactly like a wrong password, so
 * replies never reveal whether a user exists.
 */

export type ScramMechanism = 'SCRAM-SHA-1' | 'SCRAM-SHA-256';
export const SCRAM_MECHANISMS: readonly ScramMechanism[] = ['SCRAM-SHA-1', 'SCRAM-SHA-256'];

/** mongod's default iteration counts (scramIterationCount, scramSHA256IterationCount). */
export const DEFAULT_ITERATIONS: Readonly<Record<ScramMechanism, number>> = { 'SCRAM-SHA-1': 10_000, 'SCRAM-SHA-256': 15_000 };
/** Salt lengths mongod uses (and so do the decoys of unknown users). */
const SALT_BYTES: Readonly<Record<ScramMechanism, number>> = { 'SCRAM-SHA-1': 16, 'SCRAM-SHA-256': 28 };
/** Clients refuse fewer iterations (Node driver, RFC 7677 recommendation). */
export const MIN_ITERATIONS = 4096;

export interface ScramCredential {
  readonly mechanism: ScramMechanism;
  readonly salt: Buffer;
  readonly iterations: number;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

type Hash = 'sha1' | 'sha256';

const HASH: Record<ScramMechanism, { name: Hash; bytes: number }> = {
  'SCRAM-SHA-1': { name: 'sha1', bytes: 20 },
  'SCRAM-SHA-256': { name: 'sha256', bytes: 32 },
};

export function isScramMechanism(name: unknown): name is ScramMechanism {
  return name === 'SCRAM-SHA-1' || name === 'SCRAM-SHA-256';
}

export function authenticationFailed(): CommandError {
  return CommandError.of('AuthenticationFailed', 'Authentication failed.');
}

/**
 * The password as the mechanism feeds it to PBKDF2: SCRAM-SHA-1 uses mongod's legacy digest
 * hex(MD5(user + ":mongo:" + password)); SCRAM-SHA-256 uses SASLprep(password). User names are
 * never SASLprep'd.
 */
export function preparePassword(mechanism: ScramMechanism, user: string, password: string): string {
  if (mechanism === 'SCRAM-SHA-1') return createHash('md5').update(`${user}:mongo:${password}`, 'utf8').digest('hex');
  return saslprep(password);
}

/** StoredKey and ServerKey for an already prepared password (RFC 5802 section 3). */
export function computeScramKeys(mechanism: ScramMechanism, preparedPassword: string, salt: Buffer, iterations: number): { storedKey: Buffer; serverKey: Buffer } {
  const { name, bytes } = HASH[mechanism];
  const salted = pbkdf2Sync(Buffer.from(preparedPassword, 'utf8'), salt, iterations, bytes, name);
  const clientKey = hmac(name, salted, 'Client Key');
  return { storedKey: createHash(name).update(clientKey).digest(), serverKey: hmac(name, salted, 'Server Key') };
}

/** Derives the stored credential of one user for one mechanism (done once, at startup). */
export function deriveScramCredential(
  mechanism: ScramMechanism,
  user: string,
  password: string,
  options: { iterations?: number; salt?: Buffer } = {},
): ScramCredential {
  const iterations = options.iterations ?? DEFAULT_ITERATIONS[mechanism];
  if (!Number.isInteger(iterations) || iterations < MIN_ITERATIONS) {
    throw new RangeError(`SCRAM iteration count must be an integer >= ${MIN_ITERATIONS} (got ${iterations})`);
  }
  const salt = options.salt ?? randomBytes(SALT_BYTES[mechanism]);
  const keys = computeScramKeys(mechanism, preparePassword(mechanism, user, password), salt, iterations);
  return { mechanism, salt, iterations, ...keys };
}

export interface ScramConversationOptions {
  /** Looks a user's credential for this mechanism up; undefined = unknown (the conversation then fails at the proof). */
  lookup: (user: string, mechanism: ScramMechanism) => ScramCredential | undefined;
  /** Secret that makes the fake salt of unknown users stable per server (so probing twice shows the same salt). */
  decoySecret: Buffer;
  /**
   * Iteration counts real users have (the server's configured ones): an unknown user is offered
   * the same, so `i=` does not tell them apart. Default mongod's (DEFAULT_ITERATIONS).
   */
  decoyIterations?: Partial<Record<ScramMechanism, number>>;
  /** Server nonce part (default: 24 random bytes, base64). Injectable for test vectors. */
  serverNonce?: string;
}

/**
 * One SCRAM exchange. `start(clientFirst)` returns server-first-message; `finish(clientFinal)`
 * checks the proof and returns server-final-message (`v=...`). Any protocol or proof failure
 * throws AuthenticationFailed.
 */
export class ScramConversation {
  readonly mechanism: ScramMechanism;
  /** The user named in client-first (decoded), once `start` ran. */
  user = '';
  /** True once the proof was verified. */
  authenticated = false;
  private readonly options: ScramConversationOptions;
  private credential: ScramCredential | undefined;
  private known = false;
  private gs2Header = '';
  private clientFirstBare = '';
  private serverFirst = '';
  private nonce = '';
  private step = 0;

  constructor(mechanism: ScramMechanism, options: ScramConversationOptions) {
    this.mechanism = mechanism;
    this.options = options;
  }

  start(clientFirst: Buffer | string): Buffer {
    if (this.step !== 0) throw authenticationFailed();
    this.step = 1;
    const text = payloadText(clientFirst);
    // gs2-header = gs2-cbind-flag "," [ authzid ] ","  — no channel binding ("p=") is offered.
    const m = /^([ny]),(a=[^,]*)?,(.*)$/s.exec(text);
    if (!m) throw authenticationFailed();
    this.gs2Header = `${m[1]},${m[2] ?? ''},`;
    this.clientFirstBare = m[3];
    const attrs = parseAttributes(this.clientFirstBare);
    if (!attrs || attrs[0]?.[0] !== 'n' || attrs[1]?.[0] !== 'r' || attrs.some(([k]) => k === 'm')) throw authenticationFailed();
    const user = decodeSaslName(attrs[0][1]);
    const clientNonce = attrs[1][1];
    if (user === undefined || user === '' || clientNonce === '' || /[^\x21-\x2b\x2d-\x7e]/.test(clientNonce)) throw authenticationFailed();
    if (m[2] && decodeSaslName(m[2].slice(2)) !== user) throw authenticationFailed();
    this.user = user;
    const credential = this.options.lookup(user, this.mechanism);
    this.known = credential !== undefined && credential.mechanism === this.mechanism;
    this.credential = this.known ? credential : this.decoy(user);
    this.nonce = clientNonce + (this.options.serverNonce ?? randomBytes(24).toString('base64'));
    this.serverFirst = `r=${this.nonce},s=${this.credential!.salt.toString('base64')},i=${this.credential!.iterations}`;
    return Buffer.from(this.serverFirst, 'utf8');
  }

  finish(clientFinal: Buffer | string): Buffer {
    if (this.step !== 1) throw authenticationFailed();
    this.step = 2;
    const text = payloadText(clientFinal);
    const proofAt = text.lastIndexOf(',p=');
    if (proofAt === -1) throw authenticationFailed();
    const withoutProof = text.slice(0, proofAt);
    const attrs = parseAttributes(withoutProof);
    if (!attrs || attrs[0]?.[0] !== 'c' || attrs[1]?.[0] !== 'r') throw authenticationFailed();
    if (Buffer.from(attrs[0][1], 'base64').toString('utf8') !== this.gs2Header) throw authenticationFailed();
    if (attrs[1][1] !== this.nonce) throw authenticationFailed();
    const { name, bytes } = HASH[this.mechanism];
    const proof = Buffer.from(text.slice(proofAt + 3), 'base64');
    const credential = this.credential!;
    if (proof.length !== bytes) throw authenticationFailed();
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const clientSignature = hmac(name, credential.storedKey, authMessage);
    const clientKey = xor(proof, clientSignature);
    const computed = createHash(name).update(clientKey).digest();
    if (!timingSafeEqual(computed, credential.storedKey) || !this.known) throw authenticationFailed();
    this.authenticated = true;
    return Buffer.from(`v=${hmac(name, credential.serverKey, authMessage).toString('base64')}`, 'utf8');
  }

  /**
   * A credential for an unknown user that looks real and verifies nothing: a salt of the real
   * length derived from the user name and the server's secret (the same on every probe, different
   * per user and per server), and the iteration count real users have.
   */
  private decoy(user: string): ScramCredential {
    const { bytes } = HASH[this.mechanism];
    const seed = hmac('sha256', this.options.decoySecret, `${this.mechanism}\0${user}`);
    return {
      mechanism: this.mechanism,
      salt: seed.subarray(0, SALT_BYTES[this.mechanism]),
      iterations: this.options.decoyIterations?.[this.mechanism] ?? DEFAULT_ITERATIONS[this.mechanism],
      storedKey: randomBytes(bytes),
      serverKey: randomBytes(bytes),
    };
  }
}

function hmac(hash: Hash, key: Buffer, data: string): Buffer {
  return createHmac(hash, key).update(data, 'utf8').digest();
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] ^ b[i];
  return out;
}

function payloadText(payload: Buffer | string): string {
  return typeof payload === 'string' ? payload : payload.toString('utf8');
}

/** `k=v,k=v` → [[k, v], ...]; undefined if malformed. Values may contain '='. */
function parseAttributes(text: string): Array<[string, string]> | undefined {
  const out: Array<[string, string]> = [];
  for (const part of text.split(',')) {
    if (!/^[A-Za-z]=/.test(part)) return undefined;
    out.push([part[0], part.slice(2)]);
  }
  return out;
}

/** RFC 5802 saslname: "=2C" is ',', "=3D" is '='; any other '=' is invalid. */
function decodeSaslName(text: string): string | undefined {
  if (/=(?!2C|3D)/.test(text)) return undefined;
  return text.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

type Saslprep = (input: string) => string;
let saslprepImpl: Saslprep | undefined;

/**
 * SASLprep (RFC 4013). Uses `@mongodb-js/saslprep`, the implementation the Node driver itself
 * uses (installed with `mongodb`), so both sides prepare exotic passwords identically; without it,
 * falls back to the common part of the profile (non-ASCII spaces → space, "mapped to nothing"
 * characters removed, NFKC).
 */
export function saslprep(input: string): string {
  if (!saslprepImpl) {
    try {
      const mod = createRequire(import.meta.url)('@mongodb-js/saslprep') as Saslprep | { saslprep: Saslprep };
      saslprepImpl = typeof mod === 'function' ? mod : mod.saslprep;
    } catch {
      saslprepImpl = basicSaslprep;
    }
  }
  return saslprepImpl(input);
}

/** RFC 3454 C.1.2 (non-ASCII spaces, mapped to space) and B.1 (mapped to nothing), by code point. */
const NON_ASCII_SPACES = new Set([0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x200b, 0x202f, 0x205f, 0x3000]);
const MAPPED_TO_NOTHING = new Set([0xad, 0x34f, 0x1806, 0x180b, 0x180c, 0x180d, 0x200c, 0x200d, 0x2060, 0xfeff, ...Array.from({ length: 16 }, (_, i) => 0xfe00 + i)]);

function basicSaslprep(input: string): string {
  let out = '';
  for (const ch of input) {
    const cp = ch.codePointAt(0)!;
    if (NON_ASCII_SPACES.has(cp)) out += ' ';
    else if (!MAPPED_TO_NOTHING.has(cp)) out += ch;
  }
  return out.normalize('NFKC');
}
