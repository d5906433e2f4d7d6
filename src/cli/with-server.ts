import { startServer, type EmbeddedServer, type ServerOptions } from '../server/index.js';

/** Runs `fn` against `--uri`, or against an embedded server on an ephemeral port when no URI is given. */
export async function withTargetServer<T>(uri: string | undefined, serverOptions: ServerOptions, fn: (uri: string, embedded: EmbeddedServer | undefined) => Promise<T>): Promise<T> {
  if (uri) return fn(uri, undefined);
  const server = await startServer({ ...serverOptions, port: 0 });
  try {
    return await fn(server.uri, server);
  } finally {
    await server.stop();
  }
}
