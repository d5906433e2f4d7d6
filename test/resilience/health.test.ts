import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import { checkHealth, createClient, createProbe, getInflightTracker, healthHandler } from '../../src/index.js';
import { readTopology } from '../../src/resilience/health.js';
import { startReplicaSet, startServer, type EmbeddedServer } from '../../src/server/index.js';

const quiet = { onWarning: () => {} };

/** Resolves once the client's SDAM state satisfies `test` (checked now, then on every description change). */
async function untilTopology(client: MongoClient, test: (topology: ReturnType<typeof readTopology>) => boolean, limitMS = 5000): Promise<void> {
  const deadline = performance.now() + limitMS;
  while (!test(readTopology(client))) {
    const remaining = deadline - performance.now();
    assert.ok(remaining > 0, `topology still ${JSON.stringify(readTopology(client))}`);
    await Promise.race([once(client, 'serverDescriptionChanged'), new Promise((resolve) => setTimeout(resolve, remaining))]);
  }
}
const hasType = (type: string) => (t: ReturnType<typeof readTopology>) => t.servers.some((server) => server.type === type);

describe('checkHealth', () => {
  let server: EmbeddedServer;
  let client: MongoClient;
  before(async () => {
    server = await startServer({ port: 0 });
    client = createClient(server.uri, { ...quiet, appName: 'health-test', serverSelectionTimeoutMS: 5000 });
  });
  after(async () => {
    await client.close();
    await server.stop();
  });

  it('reports latency, topology, servers and pool load', async () => {
    const report = await checkHealth(client, { timeoutMS: 2000 });
    assert.equal(report.ok, true, JSON.stringify(report.error));
    assert.equal(report.topology, 'Single');
    assert.equal(report.writable, true);
    assert.deepEqual(report.servers.map((s) => [s.address, s.type]), [[`127.0.0.1:${server.port}`, 'Standalone']]);
    assert.ok(report.latencyMS > 0);
    assert.deepEqual(report.pool, { inflight: 0, waiting: 0, maxPoolSize: 100, utilization: 0 });
    assert.equal(report.shuttingDown, false);
    assert.equal(report.error, undefined);
  });

  it('measures the ping: a 150 ms server delay shows in latencyMS', async () => {
    server.failCommand({ mode: { times: 1 }, data: { failCommands: ['ping'], blockConnection: true, blockTimeMS: 150, appName: 'health-test' } });
    const report = await checkHealth(client, { timeoutMS: 2000 });
    assert.equal(report.ok, true);
    assert.ok(report.latencyMS >= 145, `latency ${report.latencyMS}`);
  });

  it('fails within timeoutMS when the server does not answer, without throwing', async () => {
    server.failCommand({ mode: { times: 1 }, data: { failCommands: ['ping'], blockConnection: true, blockTimeMS: 1500, appName: 'health-test' } });
    const report = await checkHealth(client, { timeoutMS: 200 });
    assert.equal(report.ok, false);
    assert.ok(report.latencyMS >= 195 && report.latencyMS < 1000, `latency ${report.latencyMS}`);
    assert.match(report.error!.message, /within 200 ms/);
  });

  it('turns unhealthy when the server goes away and healthy when it returns', async () => {
    assert.equal((await checkHealth(client)).ok, true);
    const restarted = server.restart({ downtimeMS: 600 }); // drops every connection and stops listening at once
    const down = await checkHealth(client, { timeoutMS: 300 });
    assert.equal(down.ok, false);
    assert.ok(down.error && /ECONNREFUSED|closed|within 300 ms/.test(down.error.message), down.error?.message);
    await restarted;
    const up = await checkHealth(client, { timeoutMS: 3000 });
    assert.equal(up.ok, true, JSON.stringify(up.error));
  });

  it('recovers a client whose first connect failed, once the server is up', async () => {
    const placeholder = await startServer({ port: 0 });
    const port = placeholder.port;
    await placeholder.stop(); // nothing listens on the port yet
    const late = createClient(`mongodb://127.0.0.1:${port}/`, { ...quiet, serverSelectionTimeoutMS: 200 });
    let started: EmbeddedServer | undefined;
    try {
      const first = await checkHealth(late, { timeoutMS: 1000 });
      assert.equal(first.ok, false);
      assert.equal(first.error?.name, 'MongoServerSelectionError', 'the first connect failed');
      const second = await checkHealth(late, { timeoutMS: 1000 });
      assert.equal(second.ok, false);
      assert.equal(second.error?.name, 'MongoServerSelectionError', 'connected again, not "Topology is closed"');
      started = await startServer({ port });
      const up = await checkHealth(late, { timeoutMS: 2000 });
      assert.equal(up.ok, true, JSON.stringify(up.error));
      assert.equal(up.writable, true);
    } finally {
      await late.close();
      await started?.stop();
    }
  });

  it('does not reopen a client closed by the application', async () => {
    const closing = createClient(server.uri, quiet);
    await closing.db('admin').command({ ping: 1 });
    await closing.close();
    const report = await checkHealth(closing, { timeoutMS: 1000 });
    assert.equal(report.ok, false);
    assert.equal(report.error?.name, 'MongoNotConnectedError');
    assert.equal((closing as unknown as { topology?: unknown }).topology, undefined, 'still closed');
  });

  it('never shows a password from the connection string', async () => {
    const secret = 'Pa55-w0rd-xyz';
    const dead = await startServer({ port: 0 });
    await dead.stop();
    const other = createClient(`mongodb://alice:${secret}@127.0.0.1:${dead.port}/?authSource=admin`, { ...quiet, serverSelectionTimeoutMS: 300 });
    try {
      const report = await checkHealth(other, { timeoutMS: 500 });
      assert.equal(report.ok, false);
      assert.ok(!JSON.stringify(report).includes(secret));
    } finally {
      await other.close();
    }
  });

  it('works on any MongoClient (no pool section without tracking)', async () => {
    const plain = new MongoClient(server.uri);
    try {
      const report = await checkHealth(plain);
      assert.equal(report.ok, true);
      assert.equal(report.pool, undefined);
    } finally {
      await plain.close();
    }
  });
});

describe('healthHandler', () => {
  let server: EmbeddedServer;
  let client: MongoClient;
  let http1: http.Server;
  let base: string;
  before(async () => {
    server = await startServer({ port: 0 });
    client = createClient(server.uri, { ...quiet, appName: 'probe-test', maxPoolSize: 2, serverSelectionTimeoutMS: 5000 });
    http1 = http.createServer(healthHandler(client, { saturation: 1, timeoutMS: 500 }));
    http1.listen(0, '127.0.0.1');
    await once(http1, 'listening');
    base = `http://127.0.0.1:${(http1.address() as AddressInfo).port}`;
  });
  after(async () => {
    http1.close();
    await client.close();
    await server.stop();
  });

  const probe = async (path: string) => {
    const response = await fetch(base + path);
    return { status: response.status, body: (await response.json()) as { status: string; probe: string; reasons: string[] }, cache: response.headers.get('cache-control') };
  };

  it('answers liveness and readiness by path over real HTTP', async () => {
    const live = await probe('/livez');
    assert.deepEqual([live.status, live.body.probe, live.body.status], [200, 'liveness', 'ok']);
    const ready = await probe('/readyz');
    assert.deepEqual([ready.status, ready.body.probe, ready.body.status, ready.body.reasons], [200, 'readiness', 'ok', []]);
    assert.equal(ready.cache, 'no-store');
  });

  it('readiness fails while the server is down; liveness does not (no restart storm)', async () => {
    const restarted = server.restart({ downtimeMS: 500 });
    const ready = await probe('/ready');
    assert.equal(ready.status, 503);
    // The ping fails, or the driver has already marked the server Unknown (then answered at once).
    assert.match(ready.body.reasons.join(), /ping failed|no writable server \(topology Single\)/);
    const live = await probe('/live');
    assert.equal(live.status, 200);
    await restarted;
    // A probe finding no writable server leaves a ping looking for one: the driver re-checks the server now.
    if ((await probe('/ready')).status !== 200) await untilTopology(client, hasType('Standalone'));
    assert.equal((await probe('/ready')).status, 200);
  });

  it('readiness fails while the pool is saturated, if asked to', async () => {
    // Two slow operations occupy both connections (maxPoolSize 2, saturation 1).
    server.failCommand({ mode: { times: 2 }, data: { failCommands: ['ping'], blockConnection: true, blockTimeMS: 400, appName: 'probe-test' } });
    const tracker = getInflightTracker(client)!;
    const slow = [client.db('admin').command({ ping: 1 }), client.db('admin').command({ ping: 1 })];
    while (tracker.inflight < 2) await once(client, 'connectionCheckOutStarted');
    const ready = await probe('/ready');
    assert.equal(ready.status, 503);
    assert.match(ready.body.reasons.join(), /pool saturated: 2 operations for 2 connections/);
    await Promise.all(slow);
    assert.equal((await probe('/ready')).status, 200);
  });

  it('a Fastify-style handler answers the same way', async () => {
    const handler = healthHandler.fastify(client, { readiness: true, details: true });
    const sent: { status?: number; headers: Record<string, string>; body?: unknown } = { headers: {} };
    const reply = {
      code(status: number) {
        sent.status = status;
        return reply;
      },
      header(name: string, value: string) {
        sent.headers[name] = value;
        return reply;
      },
      send(body: unknown) {
        sent.body = body;
        return reply;
      },
    };
    await handler({ url: '/anything' }, reply);
    assert.equal(sent.status, 200);
    assert.equal(sent.headers['cache-control'], 'no-store');
    const body = sent.body as { probe: string; report: { topology: string; pool: { maxPoolSize: number } } };
    assert.equal(body.probe, 'readiness');
    assert.equal(body.report.topology, 'Single');
    assert.equal(body.report.pool.maxPoolSize, 2);
  });

  it('readiness fails as soon as shutdown begins', async () => {
    getInflightTracker(client)!.markShuttingDown();
    const ready = await probe('/ready');
    assert.equal(ready.status, 503);
    assert.deepEqual(ready.body.reasons, ['shutting down']);
    assert.equal((await probe('/live')).status, 200);
  });
});

describe('healthHandler on a replica set during an election', () => {
  it('readiness says "no writable server" at once, liveness still pings a member, and the new primary is found', async () => {
    const rs = await startReplicaSet({ nodes: 3 });
    // Default heartbeat (10 s): without help the driver would notice the new primary only at its next check.
    const client = createClient(rs.uri, { ...quiet, retryWrites: false, minHeartbeatFrequencyMS: 20, serverSelectionTimeoutMS: 5000 });
    const probe = createProbe(client, { timeoutMS: 2000, details: true });
    try {
      await client.db('admin').command({ ping: 1 });
      await untilTopology(client, hasType('RSSecondary'));
      assert.equal((await probe('readiness')).status, 200);

      const election = rs.stepDown({ electionDelayMS: 1500 });
      // A write refused with NotWritablePrimary makes the driver re-check at once: no primary now.
      await assert.rejects(client.db('shop').collection('orders').insertOne({}), (error: { code?: number }) => error.code === 10107);
      await untilTopology(client, (t) => !hasType('RSPrimary')(t) && t.servers.length === 3 && !hasType('Unknown')(t));

      let t0 = performance.now();
      const ready = await probe('readiness');
      const readyMS = performance.now() - t0;
      assert.equal(ready.status, 503);
      assert.deepEqual(ready.body.reasons, ['no writable server (topology ReplicaSetNoPrimary)']);
      assert.ok(readyMS < 500, `answered from SDAM, not after the 2000 ms ping limit: ${readyMS} ms`);

      t0 = performance.now();
      const live = await probe('liveness');
      assert.equal(live.status, 200);
      assert.equal(live.body.report?.ok, true, `a secondary answered the ping: ${JSON.stringify(live.body.report?.error)}`);
      assert.equal(live.body.report?.writable, false);
      assert.ok(performance.now() - t0 < 1000);

      await election;
      // Found through the re-checks of the ping readiness left running, well before the 10 s heartbeat.
      await untilTopology(client, hasType('RSPrimary'), 3000);
      assert.equal((await probe('readiness')).status, 200);
    } finally {
      await client.close();
      await rs.stop();
    }
  });
});
