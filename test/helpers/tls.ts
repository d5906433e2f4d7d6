import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCertificates {
  dir: string;
  /** PEM files, for `tlsCAFile=` and `--tls-cert/--tls-key/--tls-ca`. */
  caFile: string;
  certFile: string;
  keyFile: string;
  /** The same PEM contents, for `startServer({ tls: { key, cert } })`. */
  ca: string;
  cert: string;
  key: string;
  /** Removes the directory. */
  cleanup(): Promise<void>;
}

/**
 * Creates a throwaway CA and a server certificate it signed (CN=localhost, SAN localhost /
 * 127.0.0.1 / ::1) in a fresh temp dir, with the `openssl` CLI (Debian package `openssl`).
 * EC P-256 keys keep generation fast; certificates are valid for one day.
 */
export async function createTestCertificates(): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), 'poolkit-tls-'));
  const file = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  try {
    await run('openssl', [
      'req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '1', '-subj', '/CN=poolkit test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    await run('openssl', ['req', ...ec, '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=localhost']);
    await writeFile(
      file('server.ext'),
      'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n',
    );
    await run('openssl', [
      'x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial',
      '-out', file('server.pem'), '-days', '1', '-extfile', file('server.ext'),
    ]);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new Error('the openssl CLI is needed to generate test certificates (apt-get install openssl)');
    throw err;
  }
  const [ca, cert, key] = await Promise.all([readFile(file('ca.pem'), 'utf8'), readFile(file('server.pem'), 'utf8'), readFile(file('server.key'), 'utf8')]);
  return {
    dir,
    caFile: file('ca.pem'),
    certFile: file('server.pem'),
    keyFile: file('server.key'),
    ca,
    cert,
    key,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
