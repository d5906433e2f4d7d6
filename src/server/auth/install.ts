import type { ServerCore } from '../core.js';
import { CommandError } from '../errors.js';
import type { Authenticator } from './authenticator.js';

const AUTHENTICATORS = new WeakMap<ServerCore, Authenticator>();

/** The authenticator of a server started with `auth`, or undefined (no users: every SASL attempt fails with 18). */
export function authenticatorOf(core: ServerCore): Authenticator | undefined {
  return AUTHENTICATORS.get(core);
}

/**
 * Turns authentication on for `core`: commands not marked `noAuth` fail with Unauthorized (13)
 * until the connection authenticates, and hello answers `saslSupportedMechs` and
 * `speculativeAuthenticate` (step 1 of SCRAM embedded in the handshake).
 */
export function installAuth(core: ServerCore, authenticator: Authenticator): void {
  AUTHENTICATORS.set(core, authenticator);
  core.middleware.auth = (ctx, spec, next) => {
    if (!spec.noAuth && !authenticator.isAuthenticated(ctx.connection)) {
      return Promise.reject(CommandError.of('Unauthorized', `Command ${ctx.commandName} requires authentication`));
    }
    return next();
  };
  core.helloHooks.push((ctx, reply) => {
    const { body } = ctx;
    if (body.saslSupportedMechs !== undefined) {
      const mechanisms = authenticator.supportedMechanisms(body.saslSupportedMechs);
      if (mechanisms) reply.saslSupportedMechs = mechanisms;
    }
    if (body.speculativeAuthenticate !== undefined) {
      const step = authenticator.speculativeAuthenticate(ctx.connection, body.speculativeAuthenticate);
      if (step) reply.speculativeAuthenticate = step;
    }
  });
}
