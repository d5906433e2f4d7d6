import os from 'node:os';
import { Long, type Document } from 'bson';
import type { CommandContext, CommandTable } from './types.js';
import { CommandError } from '../errors.js';
import { getString } from './params.js';
import { lsidKeyOf } from '../sessions.js';
import { replicaMemberOf } from '../topology/state.js';

/** Server-wide administrative and diagnostic commands (what drivers, mongosh and PyMongo send). */

function latencySection(section: { ops: number; latencyMicros: number }): Document {
  return { latency: Long.fromNumber(section.latencyMicros), ops: Long.fromNumber(section.ops) };
}

function serverStatus(ctx: CommandContext): Document {
  const { server } = ctx;
  const now = Date.now();
  const uptimeMillis = now - server.startedAt;
  const current = server.connections.size;
  const mem = process.memoryUsage();
  return {
    host: os.hostname(),
    version: server.options.version,
    process: 'mongod',
    pid: Long.fromNumber(process.pid),
    uptime: uptimeMillis / 1000,
    uptimeMillis: Long.fromNumber(uptimeMillis),
    uptimeEstimate: Long.fromNumber(Math.floor(uptimeMillis / 1000)),
    localTime: new Date(now),
    connections: {
      current,
      available: Math.max(0, server.options.maxIncomingConnections - current),
      totalCreated: server.stats.connections.totalCreated,
      rejected: server.stats.connections.rejected,
      active: server.activeConnections,
      threaded: current,
    },
    opcounters: { ...server.stats.opcounters },
    // mongod's shape: summed latency in microseconds and the operations it covers, per class.
    opLatencies: {
      reads: latencySection(server.stats.opLatencies.reads),
      writes: latencySection(server.stats.opLatencies.writes),
      commands: latencySection(server.stats.opLatencies.commands),
      transactions: latencySection({ ops: 0, latencyMicros: 0 }), // no transactions are timed
    },
    network: {
      bytesIn: Long.fromNumber(server.stats.network.bytesIn),
      bytesOut: Long.fromNumber(server.stats.network.bytesOut),
      numRequests: Long.fromNumber(server.stats.network.numRequests),
    },
    mem: {
      bits: 64,
      resident: Math.round(mem.rss / 1048576),
      virtual: Math.round((mem.rss + mem.external) / 1048576),
      supported: true,
    },
    metrics: {
      cursor: {
        open: { total: Long.fromNumber(server.cursors.size) },
        timedOut: Long.fromNumber(server.cursors.totalTimedOut),
        totalOpened: Long.fromNumber(server.cursors.totalOpened),
      },
    },
    storageEngine: { name: 'poolkit-memory', supportsCommittedReads: true, persistent: false },
    ok: 1,
  };
}

function buildInfo(ctx: CommandContext): Document {
  const version = ctx.server.options.version;
  return {
    version,
    gitVersion: 'mongo-poolkit-embedded',
    versionArray: [...version.split('.').map((n) => Number(n)), 0],
    modules: [],
    allocator: 'system',
    javascriptEngine: 'none',
    sysInfo: 'deprecated',
    bits: 64,
    debug: false,
    maxBsonObjectSize: 16777216,
    buildEnvironment: { target_os: process.platform, target_arch: process.arch },
    storageEngines: ['poolkit-memory'],
    ok: 1,
  };
}

function hostInfo(): Document {
  return {
    system: {
      currentTime: new Date(),
      hostname: os.hostname(),
      cpuAddrSize: 64,
      memSizeMB: Long.fromNumber(Math.round(os.totalmem() / 1048576)),
      memLimitMB: Long.fromNumber(Math.round(os.totalmem() / 1048576)),
      numCores: os.cpus().length,
      cpuArch: os.arch(),
      numaEnabled: false,
    },
    os: { type: os.type(), name: os.type(), version: os.release() },
    extra: {},
    ok: 1,
  };
}

const PARAMETERS = (ctx: CommandContext): Document => ({
  featureCompatibilityVersion: { version: ctx.server.options.version.split('.').slice(0, 2).join('.') },
  maxIncomingConnections: ctx.server.options.maxIncomingConnections,
  cursorTimeoutMillis: Long.fromNumber(ctx.server.options.cursorTimeoutMS),
  enableTestCommands: ctx.server.options.testCommands,
  authenticationMechanisms: ['SCRAM-SHA-1', 'SCRAM-SHA-256'],
});

function getParameter(ctx: CommandContext): Document {
  const all = PARAMETERS(ctx);
  if (ctx.body.getParameter === '*') return { ...all, ok: 1 };
  const out: Document = {};
  for (const key of Object.keys(ctx.body)) {
    if (key === 'getParameter' || key.startsWith('$') || key === 'lsid') continue;
    if (key in all) out[key] = all[key];
  }
  if (Object.keys(out).length === 0) throw CommandError.of('InvalidOptions', 'no option found to get');
  return { ...out, ok: 1 };
}

function getCmdLineOpts(ctx: CommandContext): Document {
  const { host, port } = ctx.server.options;
  return {
    argv: ['poolkit', 'server', '--host', host, '--port', String(port)],
    parsed: { net: { bindIp: host, port } },
    ok: 1,
  };
}

function getLog(ctx: CommandContext): Document {
  const which = getString(ctx.body, 'getLog', 'getLog');
  const { log } = ctx.server;
  if (which === '*') return { names: ['global', 'startupWarnings'], ok: 1 };
  if (which === 'startupWarnings') return { totalLinesWritten: log.startupWarnings.length, log: [...log.startupWarnings], ok: 1 };
  if (which === 'global') return { totalLinesWritten: log.lines.length, log: [...log.lines], ok: 1 };
  throw CommandError.of('InvalidOptions', `No log named '${which}'`);
}

function endSessions(ctx: CommandContext): Document {
  const lsids = ctx.body.endSessions;
  if (!Array.isArray(lsids)) throw CommandError.of('TypeMismatch', `BSON field 'endSessions.endSessions' must be an array`);
  // On a replica set the retryable-write table is shared by the members: forget the sessions there too.
  const retryableWrites = replicaMemberOf(ctx.server)?.set.retryableWrites;
  for (const lsid of lsids) {
    const key = lsidKeyOf(lsid);
    if (!key) continue;
    ctx.server.cursors.killSessionCursors(key);
    retryableWrites?.forget(key);
  }
  return { ok: 1 };
}

function killAllSessions(ctx: CommandContext): Document {
  ctx.server.cursors.killAllSessionCursors();
  return { ok: 1 };
}

function connectionStatus(ctx: CommandContext): Document {
  const users = [...ctx.connection.authenticatedUsers].map((u) => {
    const at = u.lastIndexOf('@');
    return { user: u.slice(0, at), db: u.slice(at + 1) };
  });
  return {
    authInfo: {
      authenticatedUsers: users,
      authenticatedUserRoles: users.map((u) => ({ role: 'root', db: u.db })),
    },
    ok: 1,
  };
}

function configureFailPoint(ctx: CommandContext): Document {
  if (ctx.db !== 'admin') throw CommandError.of('Unauthorized', 'configureFailPoint may only be run against the admin database.');
  const name = getString(ctx.body, 'configureFailPoint', 'configureFailPoint') ?? '';
  const count = ctx.server.failPoints.configure(name, ctx.body.mode, ctx.body.data);
  return { count, ok: 1 };
}

export const commands: CommandTable = {
  ping: { handler: () => ({ ok: 1 }), noAuth: true, help: 'a no-op to test whether the server is responding' },
  buildInfo: { handler: buildInfo, noAuth: true, help: 'server version and build details' },
  buildinfo: { handler: buildInfo, noAuth: true, help: 'alias of buildInfo' },
  serverStatus: { handler: serverStatus, help: 'connections, opcounters, opLatencies, memory and uptime' },
  hostInfo: { handler: hostInfo, help: 'host system information' },
  getParameter: { handler: getParameter, help: 'server parameters (featureCompatibilityVersion...)' },
  getCmdLineOpts: { handler: getCmdLineOpts, help: 'command line the server was started with' },
  whatsmyuri: { handler: (ctx) => ({ you: ctx.connection.remoteAddress, ok: 1 }), noAuth: true, help: "the client's address as the server sees it" },
  connectionStatus: { handler: connectionStatus, noAuth: true, help: 'authenticated users of this connection' },
  getLog: { handler: getLog, help: 'recent log lines' },
  endSessions: { handler: endSessions, loadExempt: true, help: 'ends logical sessions and kills their cursors' },
  killAllSessions: { handler: killAllSessions, help: 'kills every session and its cursors' },
  configureFailPoint: { handler: configureFailPoint, testOnly: true, loadExempt: true, help: 'failCommand fail point (test command)' },
};
