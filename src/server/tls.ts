import net from 'node:net';
import tls from 'node:tls';
import { PoolConfigError } from '../errors.js';

/**
 * `startServer({ tls })`: PEM contents (read the files yourself, or use the CLI's --tls-* flags).
 * Clients connect with `tls=true&tlsCAFile=<the CA that signed cert>`.
 */
export interface ServerTlsOptions {
  /** Private key of the server certificate (PEM). */
  key: string | Buffer;
  /** Server certificate, optionally followed by its intermediate certificates (PEM). */
  cert: string | Buffer;
  /** Passphrase of an encrypted key. */
  passphrase?: string;
  /**
   * CA certificates (PEM). The server completes its certificate chain from them, and they are the
   * trust anchors for client certificates. On its own `ca` requires nothing of clients: a client
   * that trusts the CA (`tlsCAFile`) connects without a certificate of its own. Ask for client
   * certificates with `requireClientCertificate` or `allowConnectionsWithoutCertificates`.
   */
  ca?: string | Buffer;
  /**
   * Mutual TLS: every client must present a certificate signed by `ca` (mongod's `--tlsCAFile`
   * without `--tlsAllowConnectionsWithoutCertificates`); others fail the TLS handshake. Needs `ca`.
   */
  requireClientCertificate?: boolean;
  /**
   * Client certificates are optional but, when presented, must be signed by `ca` (mongod's
   * `--tlsAllowConnectionsWithoutCertificates`). Needs `ca`; contradicts `requireClientCertificate`.
   */
  allowConnectionsWithoutCertificates?: boolean;
}


/** Checks the key and certificate (PEM contents accepted by OpenSSL; errors never show key material). */
function keyAndCertificate(options: Pick<ServerTlsOptions, 'key' | 'cert' | 'passphrase'>): tls.TlsOptions {
  if (!options || typeof options !== 'object') throw new PoolConfigError('tls', options, 'must be { key, cert, ca? } (PEM contents)');
  for (const field of ['key', 'cert'] as const) {
    const v = options[field];
    if (!(typeof v === 'string' || Buffer.isBuffer(v)) || v.length === 0) {
      throw new PoolConfigError(`tls.${field}`, typeof v, 'must be PEM contents (string or Buffer), not a path');
    }
  }
  const result: tls.TlsOptions = { key: options.key, cert: options.cert, passphrase: options.passphrase };
  try {
    tls.createSecureContext(result);
  } catch (err) {
    throw new PoolConfigError('tls', '<PEM>', `key/certificate rejected by OpenSSL: ${(err as Error).message}`);
  }
  return result;
}

export interface TransportOptions {
  tls: tls.TlsOptions;
  /** Client certificates are optional, but a presented one must verify (allowConnectionsWithoutCertificates). */
  verifyPresentedCertificates: boolean;
}

/** Validates `tls` (errors name the option and never show key material) and builds the tls.createServer options. */
export function transportOptions(options: ServerTlsOptions | undefined): TransportOptions | undefined {
  if (options === undefined) return undefined;
  const base = keyAndCertificate(options && typeof options === 'object' ? { key: options.key, cert: options.cert, passphrase: options.passphrase } : options);
  const { ca, requireClientCertificate = false, allowConnectionsWithoutCertificates = false } = options;
  if (ca !== undefined && !((typeof ca === 'string' || Buffer.isBuffer(ca)) && ca.includes('-----BEGIN CERTIFICATE-----'))) {
    throw new PoolConfigError('tls.ca', typeof ca, 'must be PEM certificates (string or Buffer contents), not a path');
  }
  for (const [name, value] of [['requireClientCertificate', requireClientCertificate], ['allowConnectionsWithoutCertificates', allowConnectionsWithoutCertificates]] as const) {
    if (typeof value !== 'boolean') throw new PoolConfigError(`tls.${name}`, value, 'must be a boolean');
    if (value && ca === undefined) throw new PoolConfigError('tls.ca', undefined, `is needed to verify client certificates (tls.${name})`);
  }
  if (requireClientCertificate && allowConnectionsWithoutCertificates) {
    throw new PoolConfigError('tls.allowConnectionsWithoutCertificates', true, 'contradicts tls.requireClientCertificate');
  }
  const requestCert = requireClientCertificate || allowConnectionsWithoutCertificates;
  const result: tls.TlsOptions = { ...base, ca, requestCert, rejectUnauthorized: requireClientCertificate };
  if (ca !== undefined) {
    try {
      tls.createSecureContext(result);
    } catch (err) {
      throw new PoolConfigError('tls.ca', '<PEM>', `rejected by OpenSSL: ${(err as Error).message}`);
    }
  }
  return { tls: result, verifyPresentedCertificates: allowConnectionsWithoutCertificates };
}

/**
 * The listening socket server: plain TCP, or TLS (a plain-text client then fails the TLS handshake
 * and is disconnected before any command runs). `onSocket` receives sockets ready for the wire
 * protocol (after the TLS handshake).
 */
export function createTransportServer(transport: TransportOptions | undefined, onSocket: (socket: net.Socket) => void): net.Server {
  if (!transport) return net.createServer(onSocket);
  const server = tls.createServer(transport.tls, (socket) => {
    if (transport.verifyPresentedCertificates && !socket.authorized && Object.keys(socket.getPeerCertificate()).length > 0) {
      socket.destroy(); // a certificate was presented and `ca` did not sign it
      return;
    }
    onSocket(socket);
  });
  server.on('tlsClientError', () => {
    /* handshake failures (plain-text clients, untrusted certificates) only concern that socket */
  });
  return server;
}
