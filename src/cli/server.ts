import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { startServer, startReplicaSet, type ServerOptions } from '../server/index.js';
import { parseServiceTime } from '../server/faults/load-model.js';
import { UsageError } from '../errors.js';
import { redactUri } from '../util/redact.js';
import { parseIntegerFlag, parseNumberFlag } from './common.js';

/**
 * Flags shared by every command that can start the embedded server (server, demo, bench, advise).
 * Auth and TLS flags only make sense for `poolkit server`: the other commands' own clients could
 * not reach a server they secured, so they take `--uri` for secured deployments instead.
 */
export function addServerFlags(command: Command, { security = false }: { security?: boolean } = {}): Command {
  command
    .addOption(new Option('--max-incoming-connections <n>', 'close connections beyond this many at once').argParser(parseIntegerFlag(1)))
    .addOption(new Option('--max-memory-bytes <n>', 'cap the bytes of stored documents').argParser(parseIntegerFlag(1)))
    .addOption(new Option('--seed <seed>', 'seed for fail point probabilities and latency distributions'))
    .addOption(
      new Option('--latency-ms <time>', 'service time per operation: ms, lognormal:MEDIAN:P99, uniform:MIN:MAX or exponential:MEAN').argParser(parseServiceTimeFlag),
    )
    .addOption(new Option('--max-concurrent-ops <n>', 'at most n operations execute at once; the rest queue (0 = unlimited)').argParser(parseIntegerFlag(0)))
    .addOption(new Option('--handshake-delay-ms <time>', "delay of each connection's first hello (slow connection establishment)").argParser(parseServiceTimeFlag))
    .option('--no-test-commands', 'disable configureFailPoint and other test commands (they then fail with code 59, as on mongod)');
  if (security) {
    command
      .addOption(new Option('--auth <user:password>', 'require SCRAM authentication as this admin user (prefer the POOLKIT_AUTH environment variable: flags show in process listings)'))
      .addOption(new Option('--tls-cert <file>', 'serve TLS with this certificate (PEM); needs --tls-key'))
      .addOption(new Option('--tls-key <file>', 'private key of --tls-cert (PEM)'))
      .addOption(new Option('--tls-ca <file>', 'CA certificates (PEM) completing the server certificate chain and trusted for client certificates'))
      .option('--tls-require-client-cert', 'mutual TLS: clients must present a certificate signed by --tls-ca');
  }
  return command;
}

/** Server options from parsed flags (shared by the commands that start an embedded server). */
export function serverOptionsFrom(opts: Record<string, unknown>): ServerOptions {
  return {
    maxIncomingConnections: opts.maxIncomingConnections as number | undefined,
    maxMemoryBytes: opts.maxMemoryBytes as number | undefined,
    seed: opts.seed as string | undefined,
    testCommands: opts.testCommands as boolean | undefined,
    latencyMS: opts.latencyMs as ServerOptions['latencyMS'],
    maxConcurrentOps: opts.maxConcurrentOps as number | undefined,
    handshakeDelayMS: opts.handshakeDelayMs as ServerOptions['handshakeDelayMS'],
    auth: authFrom(opts.auth as string | undefined),
    tls: tlsFrom(opts),
  };
}

function parseServiceTimeFlag(value: string) {
  try {
    return parseServiceTime(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/**
 * `--auth user:password`, else (for `poolkit server` only) POOLKIT_AUTH in the same form, which keeps
 * the password out of process listings. The password is split at the first ':'.
 */
export function authFrom(flag: string | undefined, env?: string): ServerOptions['auth'] {
  const fromEnv = flag === undefined;
  const text = flag ?? env;
  if (text === undefined || text === '') return undefined;
  const colon = text.indexOf(':');
  if (colon <= 0 || colon === text.length - 1) {
    throw new UsageError(`${fromEnv ? 'POOLKIT_AUTH' : '--auth'} must be user:password`);
  }
  return { users: [{ user: text.slice(0, colon), password: text.slice(colon + 1) }] };
}

function tlsFrom(opts: Record<string, unknown>): ServerOptions['tls'] {
  const { tlsCert, tlsKey, tlsCa, tlsRequireClientCert } = opts as { tlsCert?: string; tlsKey?: string; tlsCa?: string; tlsRequireClientCert?: boolean };
  if (tlsCert === undefined && tlsKey === undefined && tlsCa === undefined && !tlsRequireClientCert) return undefined;
  if (tlsCert === undefined || tlsKey === undefined) throw new UsageError('--tls-cert and --tls-key go together');
  if (tlsRequireClientCert && tlsCa === undefined) throw new UsageError('--tls-require-client-cert needs --tls-ca (the CA that signs client certificates)');
  const read = (flag: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new UsageError(`${flag}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  return {
    cert: read('--tls-cert', tlsCert),
    key: read('--tls-key', tlsKey),
    ca: tlsCa === undefined ? undefined : read('--tls-ca', tlsCa),
    requireClientCertificate: tlsRequireClientCert === true ? true : undefined,
  };
}

/**
 * The URI to print. With --auth it names the user and shows the password as **** (never the
 * password itself): the user substitutes the password they chose, which is where it goes.
 */
function printableUri(uri: string, auth: ServerOptions['auth']): string {
  const user = auth?.users[0]?.user;
  if (!user) return uri;
  return redactUri(uri.replace('mongodb://', `mongodb://${encodeURIComponent(user)}:password@`));
}

export function serverCommand(): Command {
  const command = new Command('server')
    .description('run the embedded MongoDB-wire-compatible server (in memory) until SIGINT/SIGTERM; prints its URI as the first line')
    .addOption(new Option('--port <port>', 'TCP port (0 picks a free one)').default(27017).argParser(parseIntegerFlag(0, 65535)))
    .option('--host <host>', 'interface to bind', '127.0.0.1')
    .option('--advertise-host <host>', 'host name clients dial, in the URI and the replica set\'s hosts (default: --host, or the machine\'s host name for 0.0.0.0 / ::)')
    .option('--json', 'print {"uri","port","host"} as one JSON line instead of the bare URI')
    .addOption(new Option('--replset <n>', 'run a replica set of n members (ports: --port 0 picks free ones, --port P uses P, P+1, ...)').argParser(parseIntegerFlag(1, 50)))
    .addOption(new Option('--replication-lag-ms <ms>', 'with --replset: writes reach the secondaries this much later').argParser(parseNumberFlag(0)));
  addServerFlags(command, { security: true });
  command.action(async (opts) => {
    const options = {
      ...serverOptionsFrom(opts),
      auth: authFrom(opts.auth, process.env.POOLKIT_AUTH),
      port: opts.port,
      host: opts.host,
      advertiseHost: opts.advertiseHost as string | undefined,
    };
    const server = opts.replset === undefined
      ? await startServer(options)
      : await startReplicaSet({ ...options, nodes: opts.replset, replicationLagMS: opts.replicationLagMs });
    const uri = printableUri(server.uri, options.auth);
    if ('members' in server) {
      const members = server.members.map((m) => ({ host: m.host, port: m.port }));
      process.stdout.write(opts.json ? `${JSON.stringify({ uri, setName: server.setName, members })}\n` : `${uri}\n`);
      process.stderr.write(`poolkit replica set ${server.setName} listening on ports ${members.map((m) => m.port).join(', ')} (in-memory; Ctrl-C to stop)\n`);
    } else {
      process.stdout.write(opts.json ? `${JSON.stringify({ uri, host: server.host, port: server.port })}\n` : `${uri}\n`);
      process.stderr.write(`poolkit server listening on ${server.host}:${server.port} (in-memory; Ctrl-C to stop)\n`);
    }
    if (options.auth) process.stderr.write(`authentication required: replace **** in the URI with the password from --auth / POOLKIT_AUTH\n`);
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
