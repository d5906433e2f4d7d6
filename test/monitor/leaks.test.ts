import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MongoClient } from 'mongodb';
import { PoolMonitor, type CheckoutFailedReport, type LeakReport, type SaturatedReport } from '../../src/monitor/index.js';
import { useServer } from '../helpers/server.js';
import { EventTally } from './tally.js';
import { once, sumFailed } from './helpers.js';

const THIS_FILE = 'leaks.test.ts';

describe('leak detection, timeouts and saturation', () => {
  const srv = useServer();
  const address = () => `${srv().host}:${srv().port}`;

  /** An operation that holds its connection for `ms` on the server: a findOne the server blocks. */
  async function holdConnectionFor(client: MongoClient, ms: number) {
    srv().failCommand({ mode: { times: 1 }, data: { failCommands: ['find'], blockConnection: true, blockTimeMS: ms } });
    return await client.db('app').collection('orders').findOne({ _id: 1 } as any);
  }

  test('commands + captureStacks: leak names the command and the test file, then released', async () => {
    const client = new MongoClient(srv().uri, { maxPoolSize: 2 });
    const monitor = PoolMonitor.attach(client, { leakThresholdMS: 60, commands: true, captureStacks: true });
    let held: Promise<unknown> | undefined;
    try {
      await client.db('app').command({ ping: 1 }); // connect first: the leak is the held operation only
      const leak = once(monitor, 'leak');
      held = holdConnectionFor(client, 400);
      const [report] = (await leak) as [LeakReport];
      assert.equal(report.server, address());
      assert.equal(typeof report.connectionId, 'number');
      assert.ok(report.heldMS >= 60, `heldMS ${report.heldMS}`);
      assert.deepEqual(report.commands, [{ name: 'find', database: 'app', collection: 'orders' }]);
      assert.ok(report.stack?.includes(THIS_FILE), report.stack);
      assert.ok(report.stack?.includes('holdConnectionFor'), report.stack);
      assert.doesNotMatch(report.stack ?? '', /node_modules[\\/]mongodb/);
      assert.deepEqual(JSON.parse(JSON.stringify(report)), report, 'payload is plain JSON');

      const during = monitor.snapshot();
      assert.equal(during.leaks.length, 1);
      assert.equal(during.leaks[0].connectionId, report.connectionId);
      assert.ok(during.leaks[0].heldMS >= report.heldMS);

      const released = once(monitor, 'released');
      await held;
      const [done] = await released;
      assert.equal(done.connectionId, report.connectionId);
      assert.ok(done.heldMS >= 300, `heldMS ${done.heldMS}`);
      assert.equal(monitor.snapshot().leaks.length, 0);
    } finally {
      await held?.catch(() => {}); // never close under a running operation, even after a failed assertion
      await client.close();
      monitor.detach();
    }
  });

  test('default mode + captureStacks: the stack is paired with the connection from the pool events alone', async () => {
    const client = new MongoClient(srv().uri, { maxPoolSize: 4 });
    const monitor = PoolMonitor.attach(client, { leakThresholdMS: 60, captureStacks: true });
    let held: Promise<unknown> | undefined;
    let others: Promise<unknown> | undefined;
    try {
      await client.db('app').command({ ping: 1 });
      const leak = once(monitor, 'leak');
      held = holdConnectionFor(client, 300);
      // Unrelated short operations at the same time, from another function.
      others = Promise.all(Array.from({ length: 20 }, () => client.db('app').command({ ping: 1 })));
      const [report] = (await leak) as [LeakReport];
      assert.equal(report.commands, undefined, 'no command names without commands: true');
      assert.ok(report.stack?.includes('holdConnectionFor'), report.stack);
      await Promise.all([held, others, once(monitor, 'released')]);
    } finally {
      await Promise.allSettled([held, others]);
      await client.close();
      monitor.detach();
    }
  });

  test('no leak below the threshold, and none without leakThresholdMS', async () => {
    const client = new MongoClient(srv().uri, { maxPoolSize: 2 });
    const monitor = PoolMonitor.attach(client, { leakThresholdMS: 5_000 });
    const quiet = PoolMonitor.attach(client);
    const leaks: unknown[] = [];
    monitor.on('leak', (r) => leaks.push(r));
    quiet.on('leak', (r) => leaks.push(r));
    try {
      await holdConnectionFor(client, 100);
      assert.deepEqual(leaks, []);
      assert.equal(monitor.snapshot().leaks.length, 0);
    } finally {
      await client.close();
      monitor.detach();
      quiet.detach();
    }
  });

  test('saturated (waitTime) is reported while the operation still waits, on a pool that is not full', async () => {
    // One operation holds the only connection (the server blocks its find) and a second one waits
    // for a new connection whose handshake the server holds too: the pool is far from full (1 of
    // 5 in use), so only the wait time reveals the trouble, and it must be seen before the wait
    // ends. The driver's monitor polls with no heartbeat during the test, so both blocks go to
    // the find and the pool's handshake, in whichever order they reach the server.
    const client = new MongoClient(srv().uri, { maxPoolSize: 5, heartbeatFrequencyMS: 60_000, serverMonitoringMode: 'poll' });
    const monitor = PoolMonitor.attach(client, { saturationThresholdMS: 50 });
    const reports: Array<{ report: SaturatedReport; pending: number; inUse: number; checkedOut: number }> = [];
    monitor.on('saturated', (report) => {
      const s = monitor.snapshot().servers[report.server];
      reports.push({ report, pending: s.pending, inUse: s.inUse, checkedOut: s.checkedOut });
    });
    let find: Promise<unknown> | undefined;
    let ping: Promise<unknown> | undefined;
    try {
      await client.connect(); // leaves one idle connection in the pool
      const before = monitor.snapshot().servers[address()];
      assert.deepEqual([before.idle, before.inUse, before.pending], [1, 0, 0]);
      srv().failCommand({
        mode: { times: 2 },
        data: { failCommands: ['find', 'hello', 'ismaster', 'isMaster'], blockConnection: true, blockTimeMS: 1500 },
      });
      const saturated = once(monitor, 'saturated');
      const findCheckedOut = once(client, 'connectionCheckedOut');
      find = client.db('app').collection('orders').findOne({ _id: 1 } as any);
      await findCheckedOut;
      ping = client.db('app').command({ ping: 1 });
      const [report] = (await saturated) as [SaturatedReport];
      assert.deepEqual(
        { ...report, waitedMS: undefined },
        { pool: monitor.name, server: address(), reason: 'waitTime', inUse: 1, pending: 1, maxPoolSize: 5, waitedMS: undefined },
      );
      assert.ok(report.waitedMS! > 50, `waitedMS ${report.waitedMS}`);
      assert.equal(reports[0].pending, 1, 'reported while the check-out is still waiting');
      assert.equal(reports[0].checkedOut, before.checkedOut + 1, 'only the find has been served');
      assert.deepEqual(JSON.parse(JSON.stringify(report)), report, 'payload is plain JSON');
      await Promise.all([find, ping]);
      assert.equal(reports.length, 1, 'the end of the same wait does not report the episode again');
      const s = monitor.snapshot().servers[address()];
      assert.ok(s.waitTime.max >= 1000, `the ping did wait for a held connection: ${s.waitTime.max} ms`);
    } finally {
      srv().failCommand({ mode: 'off' });
      await Promise.allSettled([find, ping]);
      await client.close();
      monitor.detach();
    }
  });

  test('short waits never raise saturated (waitTime), and nothing is left watched afterwards', async () => {
    const client = new MongoClient(srv().uri, { maxPoolSize: 50 });
    const monitor = PoolMonitor.attach(client, { saturationThresholdMS: 2_000 });
    const saturated: SaturatedReport[] = [];
    monitor.on('saturated', (r) => saturated.push(r));
    try {
      await client.connect();
      for (let round = 0; round < 3; round++) {
        await Promise.all(Array.from({ length: 200 }, () => client.db('app').command({ ping: 1 })));
      }
      const state = monitor.serverStates().get(address())!;
      assert.equal(state.pending, 0);
      assert.equal(state.pendingStarts?.size, 0, 'every finished check-out left the wait clock');
      assert.deepEqual(saturated.filter((r) => r.reason === 'waitTime'), []);
    } finally {
      await client.close();
      monitor.detach();
    }
  });

  test('timeout storm: every MongoWaitQueueTimeoutError is counted, saturation is reported', async () => {
    const client = new MongoClient(srv().uri, { maxPoolSize: 2, waitQueueTimeoutMS: 100 });
    const monitor = PoolMonitor.attach(client, { saturationThresholdMS: 20 });
    const tally = new EventTally(client);
    const failures: CheckoutFailedReport[] = [];
    const saturated: SaturatedReport[] = [];
    monitor.on('checkoutFailed', (r) => failures.push(r));
    monitor.on('saturated', (r) => saturated.push(r));
    try {
      srv().failCommand({ mode: { times: 2 }, data: { failCommands: ['ping'], blockConnection: true, blockTimeMS: 600 } });
      const outcomes = await Promise.allSettled(Array.from({ length: 32 }, () => client.db('app').command({ ping: 1 })));
      // The driver does not export the class; its name is public.
      const isWaitQueueTimeout = (o: PromiseSettledResult<unknown>) => o.status === 'rejected' && o.reason?.name === 'MongoWaitQueueTimeoutError';
      const timeouts = outcomes.filter(isWaitQueueTimeout);
      const other = outcomes.filter((o) => o.status === 'rejected' && !isWaitQueueTimeout(o));
      assert.deepEqual(other, []);
      assert.ok(timeouts.length >= 20, `only ${timeouts.length} timeouts`);

      const s = monitor.snapshot().servers[address()];
      assert.equal(s.checkoutFailed.timeout, timeouts.length);
      assert.equal(s.checkoutFailed.timeout, tally.failedByReason.timeout);
      assert.equal(sumFailed(s), tally.n('connectionCheckOutFailed'));
      assert.equal(failures.filter((f) => f.reason === 'timeout').length, timeouts.length);
      assert.ok(failures.every((f) => f.server === address() && f.waitedMS >= 99), 'waited about waitQueueTimeoutMS');
      assert.equal(s.inUse, 0);
      assert.equal(s.pending, 0);
      assert.equal(s.cleared.count, 0, 'wait-queue timeouts never clear the pool');
      assert.ok(saturated.length >= 1);
      assert.equal(saturated[0].server, address());
      assert.equal(saturated[0].maxPoolSize, 2);
      assert.equal(saturated.length, 1, 'one saturation episode is reported once');
    } finally {
      srv().failCommand({ mode: 'off' });
      tally.stop();
      await client.close();
      monitor.detach();
    }
  });
});
