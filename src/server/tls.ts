import net from 'node:net';
import tls from 'node:tls';
import { PoolConfigError } from '../errors.js';

/** `startServer({ tls })`: PEM contents (read the files yourself, or use the CLI's --tls-* flags). */
export interface ServerTlsOptions {
  /** Private key of the server certificate (PEM). */
  key: string | Buffer;
  /** Server certificate chain (PEM). */
  cert: string | Buffer;
  /** Passphrase of an encrypted key. */
  passphrase?: string;
  /**
   * CA that signs client certificates (PEM). As with mongod's `--tlsCAFile`, clients must then
   * present a certificate it signed, unless `allowConnectionsWithoutCertificates` is true.
   */
  ca?: string | Buffer;
  allowConnectionsWithoutCertificates?: boolean;
}

/**
 * The listening socket server: plain TCP, or TLS when `options` is given (a plain-text client then
 * fails the TLS handshake and is disconnected before any command runs). `onSocket` receives
 * sockets ready for the wire protocol (after the TLS handshake).
 */
export function createTransportServer(options: ServerTlsOptions | undefined, onSocket: (socket: net.Socket) => void): net.Server {
  if (!options) return net.createServer(onSocket);
  const server = tls.createServer(secureContextOptions(options), onSocket);
  server.on('tlsClientError', () => {
    /* handshake failures (plain-text clients, untrusted certificates) only concern that socket */
  });
  return server;
}

/** Validates `tls` (errors name the option and never show key material) and builds tls.createServer options. */
export function secureContextOptions(options: ServerTlsOptions): tls.TlsOptions {
  if (!options || typeof options !== 'object') throw new PoolConfigError('tls', options, 'must be { key, cert, ca? } (PEM contents)');
  for (const field of ['key', 'cert'] as const) {
    const v = options[field];
    if (!(typeof v === 'string' || Buffer.isBuffer(v)) || v.length === 0) {
      throw new PoolConfigError(`tls.${field}`, typeof v, 'must be PEM contents (string or Buffer), not a path');
    }
  }
  const requestCert = options.ca !== undefined;
  const result: tls.TlsOptions = {
    key: options.key,
    cert: options.cert,
    passphrase: options.passphrase,
    ca: options.ca,
    requestCert,
    rejectUnauthorized: requestCert && options.allowConnectionsWithoutCertificates !== true,
  };
  try {
    tls.createSecureContext(result);
  } catch (err) {
    throw new PoolConfigError('tls', '<PEM>', `key/certificate rejected by OpenSSL: ${(err as Error).message}`);
  }
  return result;
}
