import { Command, Option } from 'commander';
import { startServer, type ServerOptions } from '../server/index.js';
import { parseIntegerFlag } from './common.js';

/** Flags shared by every command that can start the embedded server (server, demo, bench, advise). */
export function addServerFlags(command: Command): Command {
  return command
    .addOption(new Option('--max-incoming-connections <n>', 'close connections beyond this many at once').argParser(parseIntegerFlag(1)))
    .addOption(new Option('--max-memory-bytes <n>', 'cap the bytes of stored documents').argParser(parseIntegerFlag(1)))
    .addOption(new Option('--seed <seed>', 'seed for fail point probabilities and latency distributions'))
    .option('--no-test-commands', 'disable configureFailPoint and other test commands (they then fail with code 59, as on mongod)');
}

/** Server options from parsed flags (shared by the commands that start an embedded server). */
export function serverOptionsFrom(opts: Record<string, unknown>): ServerOptions {
  return {
    maxIncomingConnections: opts.maxIncomingConnections as number | undefined,
    maxMemoryBytes: opts.maxMemoryBytes as number | undefined,
    seed: opts.seed as string | undefined,
    testCommands: opts.testCommands as boolean | undefined,
  };
}

export function serverCommand(): Command {
  const command = new Command('server')
    .description('run the embedded MongoDB-wire-compatible server (in memory) until SIGINT/SIGTERM; prints its URI as the first line')
    .addOption(new Option('--port <port>', 'TCP port (0 picks a free one)').default(27017).argParser(parseIntegerFlag(0, 65535)))
    .option('--host <host>', 'interface to bind', '127.0.0.1')
    .option('--json', 'print {"uri","port","host"} as one JSON line instead of the bare URI');
  addServerFlags(command);
  command.action(async (opts) => {
    const server = await startServer({ ...serverOptionsFrom(opts), port: opts.port, host: opts.host });
    process.stdout.write(opts.json ? `${JSON.stringify({ uri: server.uri, host: server.host, port: server.port })}\n` : `${server.uri}\n`);
    process.stderr.write(`poolkit server listening on ${server.host}:${server.port} (in-memory; Ctrl-C to stop)\n`);
    await new Promise<void>((resolve) => {
      const stop = (signal: NodeJS.Signals) => {
        process.stderr.write(`received ${signal}, stopping\n`);
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    await server.stop();
  });
  return command;
}
