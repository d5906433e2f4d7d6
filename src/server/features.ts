import type { LatencySpec, ServiceTime } from './faults/load-model.js';
import type { AuthOptions } from './auth/authenticator.js';
import type { ServerTlsOptions } from './tls.js';

/** The startServer options for the load model, auth and TLS (installed by server.ts), and the insecure-bind warning. */
export interface FeatureOptions {
  /** Service time per operation: ms, a distribution, or per-command overrides (see docs/fault-injection.md). */
  latencyMS?: LatencySpec;
  /** At most this many operations execute at once; the rest queue in arrival order (0 = unlimited). */
  maxConcurrentOps?: number;
  /** Delay of the reply to each connection's first hello (slow connection establishment). */
  handshakeDelayMS?: ServiceTime;
  seed?: number | string;
  /** Users (in the `admin` database) and SCRAM settings; without it, no authentication is required. */
  auth?: AuthOptions;
  tls?: ServerTlsOptions;
}

/** A warning when a non-loopback address is bound without authentication or without TLS. */
export function insecureBindWarning(host: string, auth: boolean, tls: boolean): string | undefined {
  if (isLoopback(host) || (auth && tls)) return undefined;
  const missing = [auth ? '' : 'authentication', tls ? '' : 'TLS'].filter(Boolean).join(' or ');
  return `The embedded server is listening on ${host}, which other machines may reach, without ${missing}: anyone who can connect can ${auth ? 'read the traffic' : 'read and change its data'}. Bind to 127.0.0.1, or use --auth and --tls-cert/--tls-key.`;
}

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::ffff:127.0.0.1';
}
