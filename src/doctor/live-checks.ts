import { MongoClient, type Document, type MongoClientOptions } from 'mongodb';
import type { CheckResult } from './types.js';
import { redactText } from '../util/redact.js';

export interface LiveCheckOptions {
  /** Driver options the application would use (validated); doctor only shortens timeouts. */
  driverOptions: Record<string, unknown>;
  /** maxPoolSize the application would use (for the headroom check). */
  maxPoolSize: number;
  /** How many processes of the application share the server. */
  processes: number;
  timeoutMS: number;
  pings: number;
}

/** Checks that need the live deployment: reachability, latency, version, topology, auth, retryability, headroom. */
export async function checkDeployment(uri: string, options: LiveCheckOptions): Promise<CheckResult[]> {
  const checks: CheckResult[] = [];
  const establishMS: number[] = [];
  const client = new MongoClient(uri, {
    ...(options.driverOptions as MongoClientOptions),
    serverSelectionTimeoutMS: options.timeoutMS,
    connectTimeoutMS: options.timeoutMS,
    minPoolSize: 0,
    maxPoolSize: 2,
  });
  client.on('connectionReady', (e: { durationMS?: number }) => {
    if (typeof e.durationMS === 'number') establishMS.push(e.durationMS);
  });
  try {
    const t0 = performance.now();
    try {
      await client.connect();
    } catch (err) {
      checks.push({ id: 'reachable', title: 'Deployment is reachable', status: 'fail', reason: redactText((err as Error).message), fix: 'check the host/port, that the server runs, firewalls, TLS and credentials' });
      return checks;
    }
    const connectMS = performance.now() - t0;
    const admin = client.db('admin');
    const hello = await admin.command({ hello: 1 });
    checks.push({ id: 'reachable', title: 'Deployment is reachable', status: 'pass', reason: `connected in ${connectMS.toFixed(1)} ms`, data: { connectMS } });

    const pings: number[] = [];
    for (let i = 0; i < options.pings; i++) {
      const s = performance.now();
      await admin.command({ ping: 1 });
      pings.push(performance.now() - s);
    }
    pings.sort((a, b) => a - b);
    const pingMedian = pings[Math.floor(pings.length / 2)];
    const handshake = establishMS.length ? Math.max(...establishMS) : undefined;
    const slow = pingMedian > 50 || (handshake ?? 0) > 500;
    checks.push({
      id: 'latency',
      title: 'Handshake and ping latency',
      status: slow ? 'warn' : 'pass',
      reason: `ping median ${pingMedian.toFixed(2)} ms (max ${pings[pings.length - 1].toFixed(2)} ms over ${pings.length})${handshake !== undefined ? `, connection establishment ${handshake.toFixed(1)} ms` : ''}`,
      fix: slow ? 'run the application close to the database; keep warm connections (minPoolSize) if establishment is slow' : undefined,
      data: { pingMedianMS: pingMedian, pingMaxMS: pings[pings.length - 1], establishmentMS: handshake },
    });

    const build = await admin.command({ buildInfo: 1 }).catch(() => undefined);
    const version = typeof build?.version === 'string' ? build.version : 'unknown';
    const major = Number(version.split('.')[0]);
    checks.push({
      id: 'version',
      title: 'Server and wire version',
      status: Number.isFinite(major) && major < 6 ? 'warn' : 'pass',
      reason: `server ${version}, wire versions ${hello.minWireVersion}-${hello.maxWireVersion}`,
      fix: Number.isFinite(major) && major < 6 ? 'upgrade: this MongoDB version is past its end of life' : undefined,
      data: { version, minWireVersion: hello.minWireVersion, maxWireVersion: hello.maxWireVersion },
    });

    const topology = hello.setName ? `replica set '${hello.setName}' (${(hello.hosts ?? []).length} members)` : hello.msg === 'isdbgrid' ? 'sharded cluster (mongos)' : 'standalone';
    checks.push({
      id: 'topology',
      title: 'Topology gives failover',
      status: topology === 'standalone' ? 'warn' : 'pass',
      reason: topology === 'standalone' ? 'standalone: no failover, no retryable writes, no transactions' : topology,
      fix: topology === 'standalone' ? 'run a replica set in production (even a single-node one enables retryable writes and transactions)' : undefined,
      data: { topology, setName: hello.setName },
    });

    checks.push(await checkAuth(client, uri));

    const sessions = typeof hello.logicalSessionTimeoutMinutes === 'number';
    checks.push({
      id: 'retryable-writes',
      title: 'Retryable writes are supported',
      status: sessions && topology !== 'standalone' ? 'pass' : 'warn',
      reason: !sessions ? 'the server does not support sessions' : topology === 'standalone' ? 'standalone servers do not support retryable writes: a write failing during a network error is not retried by the driver' : 'sessions and a replica set/sharded topology: the driver retries writes once',
      fix: sessions && topology !== 'standalone' ? undefined : 'use a replica set',
    });

    checks.push(await checkHeadroom(admin.command({ serverStatus: 1 }), options));
  } finally {
    await client.close().catch(() => {});
  }
  return checks;
}

async function checkAuth(client: MongoClient, uri: string): Promise<CheckResult> {
  const hasCredentials = /^[a-z+]+:\/\/[^/@]+@/i.test(uri);
  const status = await client.db('admin').command({ connectionStatus: 1 }).catch(() => undefined);
  const users: Document[] = status?.authInfo?.authenticatedUsers ?? [];
  if (hasCredentials) {
    return users.length > 0
      ? { id: 'auth', title: 'Authentication', status: 'pass', reason: `authenticated as ${users.map((u) => `${u.user}@${u.db}`).join(', ')}` }
      : { id: 'auth', title: 'Authentication', status: 'fail', reason: 'credentials were given but the connection is not authenticated', fix: 'check authSource and the user' };
  }
  // Unauthorized (13) proves access control; success proves its absence; anything else proves nothing.
  const probe = await client.db('admin').command({ listDatabases: 1, nameOnly: true }).then(() => 'open', (err: { code?: number; message?: string }) => (err.code === 13 ? 'closed' : err.message ?? 'unknown error'));
  if (probe === 'open') return { id: 'auth', title: 'Authentication', status: 'warn', reason: 'the server accepts unauthenticated clients', fix: 'enable access control (users + SCRAM) on anything beyond a local test server' };
  if (probe === 'closed') return { id: 'auth', title: 'Authentication', status: 'pass', reason: 'the server requires authentication' };
  return { id: 'auth', title: 'Authentication', status: 'warn', reason: `could not tell whether access control is on (listDatabases: ${redactText(probe)})`, fix: 'connect with credentials to check' };
}

async function checkHeadroom(statusPromise: Promise<Document>, options: LiveCheckOptions): Promise<CheckResult> {
  let status: Document;
  try {
    status = await statusPromise;
  } catch (err) {
    return { id: 'headroom', title: 'Connection headroom', status: 'warn', reason: `serverStatus is not readable: ${redactText((err as Error).message)}`, fix: 'grant clusterMonitor to read connection counts' };
  }
  const { current, available } = status.connections ?? {};
  // Each process opens up to maxPoolSize connections per server plus 1-2 monitoring sockets.
  const needed = options.processes * (options.maxPoolSize + 2);
  const data = { current, available, needed, processes: options.processes, maxPoolSize: options.maxPoolSize };
  if (typeof available !== 'number') return { id: 'headroom', title: 'Connection headroom', status: 'warn', reason: 'serverStatus has no connections.available', data };
  if (available < needed) {
    return { id: 'headroom', title: 'Connection headroom', status: 'fail', reason: `${available} connections available, but ${options.processes} process(es) × (maxPoolSize ${options.maxPoolSize} + 2 monitoring) need ${needed}`, fix: 'lower maxPoolSize, share one client per process, or raise the server limit', data };
  }
  if (available < 2 * needed) {
    return { id: 'headroom', title: 'Connection headroom', status: 'warn', reason: `${available} available vs ${needed} needed: a blue-green deploy (twice the processes) would not fit`, fix: 'keep twice the fleet budget free', data };
  }
  return { id: 'headroom', title: 'Connection headroom', status: 'pass', reason: `${available} available, ${current} in use; the fleet needs at most ${needed}`, data };
}
