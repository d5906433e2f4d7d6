import { after, before } from 'node:test';
import { startServer, type EmbeddedServer, type ServerOptions } from '../../src/server/index.js';

/**
 * Starts one embedded server for the enclosing `describe` (or file) and stops it afterwards.
 * Usage: `const srv = useServer(); ... srv().uri`.
 */
export function useServer(options: ServerOptions = {}): () => EmbeddedServer {
  let server: EmbeddedServer | undefined;
  before(async () => {
    server = await startServer({ port: 0, ...options });
  });
  after(async () => {
    await server?.stop();
  });
  return () => {
    if (!server) throw new Error('server not started yet (use it inside a test)');
    return server;
  };
}
