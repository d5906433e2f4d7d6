import type { Document } from 'bson';
import type { CommandContext, CommandTable } from './types.js';
import { authenticatorOf } from '../auth/install.js';
import { authenticationFailed } from '../auth/scram.js';

/** SASL authentication commands (SCRAM-SHA-1 / SCRAM-SHA-256); see src/server/auth/. */

function saslStart(ctx: CommandContext): Document {
  const authenticator = authenticatorOf(ctx.server);
  // A server without users knows no one: the same failure as a wrong password.
  if (!authenticator) throw authenticationFailed();
  return { ...authenticator.saslStart(ctx.connection, ctx.db, ctx.body), ok: 1 };
}

function saslContinue(ctx: CommandContext): Document {
  const authenticator = authenticatorOf(ctx.server);
  if (!authenticator) throw authenticationFailed();
  return { ...authenticator.saslContinue(ctx.connection, ctx.body), ok: 1 };
}

function logout(ctx: CommandContext): Document {
  ctx.connection.authenticatedUsers.clear();
  ctx.connection.saslConversations.clear();
  return { ok: 1 };
}

export const commands: CommandTable = {
  saslStart: { handler: saslStart, noAuth: true, loadExempt: true, help: 'starts a SASL (SCRAM) authentication conversation' },
  saslContinue: { handler: saslContinue, noAuth: true, loadExempt: true, help: 'continues a SASL (SCRAM) authentication conversation' },
  logout: { handler: logout, noAuth: true, loadExempt: true, help: 'forgets the users authenticated on this connection (deprecated in mongod)' },
};
