import { createRequire } from 'node:module';

/**
 * The option names the installed `mongodb` driver accepts, read from its own option table, so
 * that a real option of a newer driver is never rejected and an option the installed driver
 * dropped is reported before the driver's terser error. Read through an internal module: when
 * that is not possible the schema alone decides (undefined).
 */
export interface InstalledDriver {
  version: string;
  /** Lower-cased option names. */
  options: ReadonlySet<string>;
  /**
   * Lower-cased names the driver accepts but marks `ignored` (it parses them and does nothing):
   * `timeoutMS` in 6.22 and 7.x.
   */
  ignored: ReadonlySet<string>;
}

let cached: InstalledDriver | null | undefined;

export function installedDriver(): InstalledDriver | undefined {
  if (cached === undefined) cached = load();
  return cached ?? undefined;
}

function load(): InstalledDriver | null {
  try {
    const require = createRequire(import.meta.url);
    const table = (require('mongodb/lib/connection_string.js') as { OPTIONS?: Record<string, unknown> }).OPTIONS;
    const version = (require('mongodb/package.json') as { version?: string }).version ?? 'unknown';
    if (!table || typeof table !== 'object') return null;
    const ignored = Object.entries(table).filter(([, descriptor]) => (descriptor as { ignored?: unknown } | null)?.ignored === true);
    return {
      version,
      options: new Set(Object.keys(table).map((name) => name.toLowerCase())),
      ignored: new Set(ignored.map(([name]) => name.toLowerCase())),
    };
  } catch {
    return null;
  }
}
