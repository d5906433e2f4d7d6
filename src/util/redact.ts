/**
 * Hides credentials in a MongoDB connection string (or any URL): the password always, and
 * secret-bearing query options (e.g. `authMechanismProperties`, `tlsCertificateKeyFilePassword`).
 * Never throws: input that is not a URI is returned with anything that looks like `user:pass@` masked.
 */
const SECRET_OPTIONS = new Set([
  'password',
  'authmechanismproperties',
  'tlscertificatekeyfilepassword',
  'sslpass',
  'proxypassword',
]);

export const REDACTED = '****';

export function redactUri(uri: string): string {
  if (typeof uri !== 'string') return String(uri);
  // user:password@ before the hosts. The userinfo ends at the LAST '@' before the query, so a
  // password with a raw '@' or '/' (invalid, but seen in practice) is still hidden entirely.
  let out = uri;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(uri);
  if (scheme) {
    const start = scheme[0].length;
    const queryAt = uri.indexOf('?', start);
    const at = uri.lastIndexOf('@', queryAt === -1 ? uri.length - 1 : queryAt - 1);
    if (at >= start) {
      const userinfo = uri.slice(start, at);
      const colon = userinfo.indexOf(':');
      if (colon !== -1) out = `${uri.slice(0, start)}${userinfo.slice(0, colon)}:${REDACTED}${uri.slice(at)}`;
    }
  }
  const q = out.indexOf('?');
  if (q !== -1) {
    const hashAt = out.indexOf('#', q);
    const query = out.slice(q + 1, hashAt === -1 ? undefined : hashAt);
    const rest = hashAt === -1 ? '' : out.slice(hashAt);
    const parts = query.split('&').map((pair) => {
      const eq = pair.indexOf('=');
      const key = eq === -1 ? pair : pair.slice(0, eq);
      return eq !== -1 && SECRET_OPTIONS.has(decodeSafe(key).toLowerCase()) ? `${key}=${REDACTED}` : pair;
    });
    out = `${out.slice(0, q)}?${parts.join('&')}${rest}`;
  }
  return out;
}

/** Redacts every URI-looking substring of a free text (error messages, logs). */
export function redactText(text: string): string {
  return text.replace(/mongodb(\+srv)?:\/\/[^\s'"`]+/gi, (m) => redactUri(m));
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
