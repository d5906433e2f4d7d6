import { PoolConfigError } from '../../errors.js';
import { CommandRegistry } from '../commands/registry.js';
import { startServerInternal, type EmbeddedServer, type ServerOptions } from '../server.js';
import { insecureBindWarning } from '../features.js';
import { memberHelloHook, memberMiddleware } from './member.js';
import { ReplicaMember, ReplicaSetState, registerMember, type StepDownOptions } from './state.js';
export type { StepDownOptions } from './state.js';

export interface ReplicaSetOptions extends Omit<ServerOptions, 'port'> {
  /** Number of members (default 3). */
  nodes?: number;
  /** Replica set name, `replicaSet=` in the URI (default "rs0"). */
  setName?: string;
  /** 0 (default): every member gets a free port; P: members listen on P, P+1, ... */
  port?: number;
  /** Writes reach the other members this long after the primary applied them (default 0: before the primary replies). */
  replicationLagMS?: number;
}

export interface ReplicaSet {
  /** `mongodb://h1:p1,h2:p2,h3:p3/?replicaSet=<name>`: every member, as the driver expects. */
  readonly uri: string;
  readonly setName: string;
  /** Every member's server handle (own port, load model, fail points), in `hosts` order. */
  readonly members: readonly EmbeddedServer[];
  /** The current primary, or undefined during an election. */
  primary(): EmbeddedServer | undefined;
  secondaries(): EmbeddedServer[];
  /**
   * Steps the primary down, as `replSetStepDown` does: its in-flight writes fail with
   * InterruptedDueToReplStateChange (11602), later writes with NotWritablePrimary (10107); the
   * other members catch up, and a new primary is elected with a higher electionId. Resolves with it.
   */
  stepDown(options?: StepDownOptions): Promise<EmbeddedServer>;
  /** Stops every member. Idempotent. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts an in-memory replica set: `nodes` members, each its own server (port, data, load model,
 * fail points), the first one primary. Members replicate every write (see replication.ts).
 */
export async function startReplicaSet(options: ReplicaSetOptions = {}): Promise<ReplicaSet> {
  const { nodes = 3, setName = 'rs0', port = 0, replicationLagMS = 0, ...serverOptions } = options;
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 50) throw new PoolConfigError('nodes', nodes, 'must be an integer from 1 to 50');
  if (typeof setName !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(setName)) throw new PoolConfigError('setName', setName, 'must be letters, digits, "_", "-" or "."');
  if (!Number.isInteger(port) || port < 0 || port + nodes - 1 > 65535) throw new PoolConfigError('port', port, `must be 0 or a port with room for ${nodes} members`);
  if (typeof replicationLagMS !== 'number' || !Number.isFinite(replicationLagMS) || replicationLagMS < 0) {
    throw new PoolConfigError('replicationLagMS', replicationLagMS, 'must be a finite number >= 0');
  }
  const servers: EmbeddedServer[] = [];
  try {
    for (let i = 0; i < nodes; i++) {
      const seed = serverOptions.seed === undefined ? undefined : `${serverOptions.seed}/member${i}`;
      // Each member logs the insecure-bind warning in its startupWarnings; the process warning is emitted once, below.
      servers.push(await startServerInternal({ ...serverOptions, seed, port: port === 0 ? 0 : port + i }, { emitInsecureBindWarning: false }));
    }
  } catch (err) {
    await Promise.all(servers.map((s) => s.stop()));
    throw err;
  }
  const warning = insecureBindWarning(servers[0].host, serverOptions.auth !== undefined, serverOptions.tls !== undefined);
  if (warning) process.emitWarning(warning, { code: 'POOLKIT_INSECURE_BIND' });
  // The members' handlers, to apply replicated writes (same command table as the servers).
  const registry = new CommandRegistry(serverOptions.commands ? [serverOptions.commands] : []);
  const set = new ReplicaSetState(setName, replicationLagMS);
  for (const [i, server] of servers.entries()) {
    const member = new ReplicaMember(i, server, registry, set);
    set.members.push(member);
    registerMember(member);
    server.core.acceptsTxnNumbers = true;
    server.core.middleware.topology = memberMiddleware(set, member);
    server.core.helloHooks.push(memberHelloHook(set, member));
  }
  set.elect(set.members[0]);

  const query = [`replicaSet=${encodeURIComponent(setName)}`, ...(serverOptions.tls ? ['tls=true'] : [])].join('&');
  let stopped = false;
  const handle: ReplicaSet = {
    uri: `mongodb://${set.hosts().join(',')}/?${query}`,
    setName,
    members: servers,
    primary: () => set.primary?.server,
    secondaries: () => set.members.filter((m) => !m.isPrimary).map((m) => m.server),
    async stepDown(stepOptions) {
      return (await set.stepDown(stepOptions)).server;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      set.close();
      await Promise.all(servers.map((s) => s.stop()));
    },
    [Symbol.asyncDispose]() {
      return handle.stop();
    },
  };
  return handle;
}

