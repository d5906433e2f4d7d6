import { randomBytes } from 'node:crypto';
import { Binary, type Document } from 'bson';
import { PoolConfigError } from '../../errors.js';
import { CommandError } from '../errors.js';
import {
  SCRAM_MECHANISMS,
  ScramConversation,
  authenticationFailed,
  deriveScramCredential,
  isScramMechanism,
  type ScramCredential,
  type ScramMechanism,
} from './scram.js';

/**
 * The users of one server and the SASL exchanges of its connections. Users live in the `admin`
 * database (as with mongod's `--auth` and a root user); each gets SCRAM-SHA-1 and SCRAM-SHA-256
 * credentials derived once, here, so the plain password is not kept.
 */

export interface AuthUser {
  user: string;
  password: string;
  /** Mechanisms this user may use (default both SCRAM mechanisms). */
  mechanisms?: ScramMechanism[];
}

export interface AuthOptions {
  users: AuthUser[];
  /** PBKDF2 iteration counts (default mongod's: SHA-1 10000, SHA-256 15000; minimum 4096). */
  iterations?: Partial<Record<ScramMechanism, number>>;
}

/** The part of a connection's state authentication reads and writes. */
export interface AuthSession {
  readonly authenticatedUsers: Set<string>;
  readonly saslConversations: Map<number, unknown>;
}

/** The database users are defined in. */
export const AUTH_DB = 'admin';
/** mongod numbers each connection's conversations from 1; one at a time is enough for drivers. */
const CONVERSATION_ID = 1;

interface Exchange {
  conversation: ScramConversation;
  db: string;
  skipEmptyExchange: boolean;
  /** The proof was accepted but the client still owes the empty final saslContinue. */
  awaitingEmpty: boolean;
}

export class Authenticator {
  private readonly credentials = new Map<string, Map<ScramMechanism, ScramCredential>>();
  private readonly decoySecret = randomBytes(32);
  /** The iteration counts real users get, which unknown users are offered too. */
  private readonly iterations: Partial<Record<ScramMechanism, number>>;

  constructor(options: AuthOptions) {
    if (!options || !Array.isArray(options.users) || options.users.length === 0) {
      throw new PoolConfigError('auth.users', options?.users, 'must be a non-empty array of { user, password }');
    }
    this.iterations = { ...options.iterations };
    options.users.forEach((entry, i) => {
      if (!entry || typeof entry.user !== 'string' || entry.user === '') throw new PoolConfigError(`auth.users[${i}].user`, entry?.user, 'must be a non-empty string');
      if (typeof entry.password !== 'string' || entry.password === '') throw new PoolConfigError(`auth.users[${i}].password`, '<hidden>', 'must be a non-empty string');
      const mechanisms = entry.mechanisms ?? SCRAM_MECHANISMS;
      if (!Array.isArray(mechanisms) || mechanisms.length === 0 || !mechanisms.every(isScramMechanism)) {
        throw new PoolConfigError(`auth.users[${i}].mechanisms`, mechanisms, 'must list "SCRAM-SHA-1" and/or "SCRAM-SHA-256"');
      }
      const byMechanism = new Map<ScramMechanism, ScramCredential>();
      for (const mechanism of mechanisms) {
        const iterations = options.iterations?.[mechanism];
        try {
          byMechanism.set(mechanism, deriveScramCredential(mechanism, entry.user, entry.password, { iterations }));
        } catch (err) {
          throw new PoolConfigError(`auth.iterations.${mechanism}`, iterations, (err as Error).message);
        }
      }
      this.credentials.set(entry.user, byMechanism);
    });
  }

  /** Whether the connection has authenticated (any user). */
  isAuthenticated(session: AuthSession): boolean {
    return session.authenticatedUsers.size > 0;
  }

  /** Mechanisms for hello's `saslSupportedMechs: "db.user"`; undefined for an unknown user (the field is then omitted). */
  supportedMechanisms(dbDotUser: unknown): ScramMechanism[] | undefined {
    if (typeof dbDotUser !== 'string') return undefined;
    const dot = dbDotUser.indexOf('.');
    if (dot === -1 || dbDotUser.slice(0, dot) !== AUTH_DB) return undefined;
    const mechanisms = this.credentials.get(dbDotUser.slice(dot + 1));
    return mechanisms ? [...mechanisms.keys()] : undefined;
  }

  /** `saslStart` on database `db`: the reply body (without ok). */
  saslStart(session: AuthSession, db: string, body: Document): Document {
    const mechanism = body.mechanism;
    if (typeof mechanism !== 'string') throw CommandError.of('BadValue', "BSON field 'saslStart.mechanism' is missing but a required field");
    if (!isScramMechanism(mechanism)) {
      throw new CommandError(334, `Received authentication for mechanism ${mechanism} which is not enabled`, { codeName: 'MechanismUnavailable' });
    }
    const conversation = new ScramConversation(mechanism, {
      lookup: (user, mech) => (db === AUTH_DB ? this.credentials.get(user)?.get(mech) : undefined),
      decoySecret: this.decoySecret,
      decoyIterations: this.iterations,
    });
    const serverFirst = conversation.start(payloadBytes(body.payload));
    const options = body.options as Document | undefined;
    const exchange: Exchange = { conversation, db, skipEmptyExchange: options?.skipEmptyExchange === true, awaitingEmpty: false };
    session.saslConversations.set(CONVERSATION_ID, exchange);
    return { conversationId: CONVERSATION_ID, done: false, payload: new Binary(serverFirst) };
  }

  /** `saslContinue`: the reply body (without ok). */
  saslContinue(session: AuthSession, body: Document): Document {
    const id = Number(body.conversationId?.valueOf?.() ?? body.conversationId);
    const exchange = session.saslConversations.get(id) as Exchange | undefined;
    if (!exchange) throw CommandError.of('ProtocolError', 'No SASL session state found');
    try {
      if (exchange.awaitingEmpty) {
        session.saslConversations.delete(id);
        this.markAuthenticated(session, exchange);
        return { conversationId: id, done: true, payload: new Binary(Buffer.alloc(0)) };
      }
      const serverFinal = exchange.conversation.finish(payloadBytes(body.payload));
      if (exchange.skipEmptyExchange) {
        session.saslConversations.delete(id);
        this.markAuthenticated(session, exchange);
        return { conversationId: id, done: true, payload: new Binary(serverFinal) };
      }
      exchange.awaitingEmpty = true;
      return { conversationId: id, done: false, payload: new Binary(serverFinal) };
    } catch (err) {
      session.saslConversations.delete(id);
      throw err;
    }
  }

  /**
   * hello's `speculativeAuthenticate: { saslStart: 1, mechanism, payload, db, ... }`: the saslStart
   * reply to embed in hello, or undefined (field omitted; the client then runs a normal saslStart).
   */
  speculativeAuthenticate(session: AuthSession, request: unknown): Document | undefined {
    if (!request || typeof request !== 'object') return undefined;
    const doc = request as Document;
    if (doc.saslStart === undefined || typeof doc.db !== 'string' || !isScramMechanism(doc.mechanism)) return undefined;
    try {
      return this.saslStart(session, doc.db, doc);
    } catch {
      return undefined;
    }
  }

  private markAuthenticated(session: AuthSession, exchange: Exchange): void {
    if (!exchange.conversation.authenticated) throw authenticationFailed();
    session.authenticatedUsers.add(`${exchange.conversation.user}@${exchange.db}`);
  }
}

function payloadBytes(payload: unknown): Buffer {
  if (payload instanceof Binary) return Buffer.from(payload.value());
  if (payload instanceof Uint8Array) return Buffer.from(payload);
  if (typeof payload === 'string') return Buffer.from(payload, 'utf8');
  throw authenticationFailed();
}
