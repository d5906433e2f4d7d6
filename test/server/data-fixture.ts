import { after, before } from 'node:test';
import * as mongodb7 from 'mongodb';
import * as mongodb6 from 'mongodb6';
import { startServer, type EmbeddedServer, type ServerOptions } from '../../src/server/index.js';

/** The driver module a suite runs with (driver 6 is typed as 7: the suites use the common API). */
export type Driver = typeof mongodb7;

/** Every data suite runs against both supported driver majors. */
export const drivers: readonly (readonly [string, Driver])[] = [
  ['driver 7', mongodb7],
  ['driver 6', mongodb6 as unknown as Driver],
];

/** A server for the data suites (ephemeral port; the registry serves the data commands). */
export function startDataServer(options: ServerOptions = {}): Promise<EmbeddedServer> {
  return startServer({ port: 0, ...options });
}

export interface DataFixture {
  server(): EmbeddedServer;
  client(): mongodb7.MongoClient;
  /** A database no other test uses. */
  freshDb(): mongodb7.Db;
}

/** One server and one connected client for the enclosing `describe`, closed afterwards. */
export function useDataServer(driver: Driver, options: ServerOptions = {}, clientOptions: mongodb7.MongoClientOptions = {}): DataFixture {
  let server: EmbeddedServer | undefined;
  let client: mongodb7.MongoClient | undefined;
  let n = 0;
  before(async () => {
    server = await startDataServer(options);
    client = new driver.MongoClient(server.uri, { maxPoolSize: 4, ...clientOptions });
    await client.connect();
  });
  after(async () => {
    await client?.close();
    await server?.stop();
  });
  return {
    server: () => server!,
    client: () => client!,
    freshDb: () => client!.db(`t${++n}`),
  };
}

/** Runs `fn` and returns the error it rejects with (fails when it resolves). */
export async function rejection(fn: () => Promise<unknown>): Promise<any> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection, but the operation succeeded');
}

/** The BSON type tag of a value read with promoteValues: false. */
export function bsonTag(v: unknown): string {
  if (v instanceof Date) return 'Date';
  if (Array.isArray(v)) return 'Array';
  if (v === null) return 'null';
  return (v as { _bsontype?: string })?._bsontype ?? typeof v;
}
