import { PoolConfigError } from '../errors.js';
import { REDACTED, redactUri } from '../util/redact.js';

/**
 * Just enough connection-string parsing to validate options before the driver sees them:
 * scheme, hosts and the query string. The driver still does the real parsing.
 */
export interface ParsedUri {
  srv: boolean;
  hosts: string[];
  /** Query options in order, keys and values percent-decoded. */
  query: Array<[key: string, value: string]>;
}

export function parseUri(uri: unknown): ParsedUri {
  if (typeof uri !== 'string' || uri.length === 0) {
    throw new PoolConfigError('uri', typeof uri === 'string' ? uri : typeof uri, 'must be a mongodb:// or mongodb+srv:// connection string');
  }
  const scheme = /^(mongodb(\+srv)?):\/\//i.exec(uri);
  if (!scheme) throw new PoolConfigError('uri', redactUri(uri), 'must start with mongodb:// or mongodb+srv://');
  const rest = uri.slice(scheme[0].length);
  const queryAt = rest.indexOf('?');
  const beforeQuery = queryAt === -1 ? rest : rest.slice(0, queryAt);
  const at = beforeQuery.lastIndexOf('@');
  if (at !== -1 && beforeQuery.indexOf('@') !== at) {
    // An unescaped '@' in the password: never echo any of the credentials part.
    throw new PoolConfigError('uri', `${scheme[0]}${REDACTED}@${beforeQuery.slice(at + 1)}`, 'the credentials contain an unescaped "@"; percent-encode the username and password (encodeURIComponent)');
  }
  const afterCredentials = beforeQuery.slice(at + 1);
  const slash = afterCredentials.indexOf('/');
  const hostList = slash === -1 ? afterCredentials : afterCredentials.slice(0, slash);
  const hosts = hostList.split(',').filter((host) => host.length > 0);
  if (hosts.length === 0) throw new PoolConfigError('uri', redactUri(uri), 'must name at least one host');

  const query: Array<[string, string]> = [];
  if (queryAt !== -1) {
    const hash = rest.indexOf('#', queryAt);
    const text = rest.slice(queryAt + 1, hash === -1 ? undefined : hash);
    for (const pair of text.split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      const key = decode(eq === -1 ? pair : pair.slice(0, eq), uri, 'an option name');
      const value = eq === -1 ? '' : decode(pair.slice(eq + 1), uri, `the value of ${key}`);
      query.push([key, value]);
    }
  }
  return { srv: scheme[2] !== undefined, hosts, query };
}

function decode(text: string, uri: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    // Name the place, never the text: it may be a secret.
    throw new PoolConfigError('uri', redactUri(uri), `invalid percent-encoding in ${what} of the query string`);
  }
}
