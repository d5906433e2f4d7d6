// One variant of the monitor benchmark in its own process: a client set up as the variant says
// (bare, PoolMonitor, Prometheus, command monitoring, the peer exporter), kept for the whole
// benchmark, running `findOne({ _id })` from N closed-loop callers (or at a fixed rate) each
// time the parent asks.
// Reports completed operations and this process's CPU time (process.cpuUsage) for the window.
import { MongoClient } from 'mongodb';
import { Registry } from 'prom-client';
import { monitorMongoDBDriver } from '@christiangalsterer/mongodb-driver-prometheus-exporter';
import { PoolMonitor } from '../../src/monitor/index.js';
import { registerPrometheus } from '../../src/exporters/prometheus.js';
import { trackInflight } from '../../src/client/inflight.js';

export const MONITOR_BENCH_DOCS = 1000;

export interface MonitorVariant {
  id: string;
  label: string;
  monitorCommands: boolean;
  setup(client: MongoClient): { scrape?: () => Promise<unknown> };
}

export const MONITOR_VARIANTS: MonitorVariant[] = [
  { id: 'a', label: 'bare driver', monitorCommands: false, setup: () => ({}) },
  // The control: (a) again in another process. Its ratio to (a) shows what the method resolves.
  { id: 'a0', label: 'bare driver (control: should be 1)', monitorCommands: false, setup: () => ({}) },
  {
    // What merely listening costs: one empty listener on each of the four per-operation pool events.
    id: 'n',
    label: 'no-op listeners on the 4 pool events',
    monitorCommands: false,
    setup(client) {
      for (const event of ['connectionCheckOutStarted', 'connectionCheckedOut', 'connectionCheckedIn', 'connectionCheckOutFailed']) client.on(event as any, () => {});
      return {};
    },
  },
  {
    // A floor for any exact monitor: count every per-operation event and keep each connection's
    // check-out time and one duration sample per check-out and check-in (in typed arrays, no
    // histogram, no per-server state). What (b) costs above this is its own design.
    id: 'z',
    label: 'floor: counters and a sample per event',
    monitorCommands: false,
    setup(client) {
      const counts = new Float64Array(4);
      const outAt = new Float64Array(1 << 16);
      const samples = new Float64Array(4096);
      let next = 0;
      const sample = (ms: number) => {
        samples[next] = ms;
        next = (next + 1) & 4095;
      };
      client.on('connectionCheckOutStarted', () => {
        counts[0]++;
      });
      client.on('connectionCheckedOut', (e) => {
        counts[0]--;
        counts[1]++;
        outAt[Number(e.connectionId) & 0xffff] = performance.now();
        sample(e.durationMS);
      });
      client.on('connectionCheckedIn', (e) => {
        counts[1]--;
        sample(performance.now() - outAt[Number(e.connectionId) & 0xffff]);
      });
      client.on('connectionCheckOutFailed', () => {
        counts[0]--;
      });
      return {};
    },
  },
  {
    // The in-flight tracker alone (createClient's; PoolMonitor holds it too).
    id: 't',
    label: 'in-flight tracker only',
    monitorCommands: false,
    setup(client) {
      trackInflight(client);
      return {};
    },
  },
  {
    id: 'b',
    label: 'PoolMonitor (pool events)',
    monitorCommands: false,
    setup(client) {
      PoolMonitor.attach(client, { name: 'bench-b' });
      return {};
    },
  },
  {
    id: 'c',
    label: 'PoolMonitor + Prometheus',
    monitorCommands: false,
    setup(client) {
      const registry = new Registry();
      registerPrometheus(PoolMonitor.attach(client, { name: 'bench-c' }), { registry });
      return { scrape: () => registry.metrics() };
    },
  },
  // Calibration: a known CPU cost per operation (a busy loop in the checked-out listener). What the
  // method reports for them shows whether it measures a cost in proportion.
  ...[1, 3, 10].map(
    (micros): MonitorVariant => ({
      id: `x${micros}`,
      label: `calibration: ${micros} µs busy loop per operation`,
      monitorCommands: false,
      setup(client) {
        client.on('connectionCheckedOut', () => {
          const end = performance.now() + micros / 1000;
          while (performance.now() < end);
        });
        return {};
      },
    }),
  ),
  { id: 'd', label: 'driver monitorCommands, no listener', monitorCommands: true, setup: () => ({}) },
  {
    id: 'e',
    label: 'PoolMonitor commands: true',
    monitorCommands: false, // the monitor turns it on
    setup(client) {
      PoolMonitor.attach(client, { name: 'bench-e', commands: true });
      return {};
    },
  },
  {
    id: 'f',
    label: 'mongodb-driver-prometheus-exporter',
    monitorCommands: true,
    setup(client) {
      const registry = new Registry();
      monitorMongoDBDriver(client as any, registry as any);
      return { scrape: () => registry.metrics() };
    },
  },
];

interface Start {
  type: 'start';
  uri: string;
  variant: string;
  concurrency: number;
  poolSize: number;
  /** Operations per second (open loop, at most `concurrency` in flight), or 0 for a closed loop. */
  rate: number;
}
interface Run {
  type: 'run';
  warmupMS: number;
  durationMS: number;
}

/** `concurrency` closed-loop callers until the deadline; returns completed operations. */
async function load(client: MongoClient, concurrency: number, durationMS: number, counter: { next: number }): Promise<number> {
  const items = client.db('bench').collection<{ _id: number }>('items');
  const deadline = performance.now() + durationMS;
  let done = 0;
  const caller = async () => {
    while (performance.now() < deadline) {
      await items.findOne({ _id: counter.next++ % MONITOR_BENCH_DOCS });
      done++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, caller));
  return done;
}

/**
 * Open loop: one operation every 1/rate s (at most `maxInFlight` at a time; a late one starts as
 * soon as a slot frees) until the deadline; returns completed operations. Both processes of a
 * pair then do the same work, so neither's cost feeds back into the other's share of the CPU.
 */
function loadAtRate(client: MongoClient, rate: number, maxInFlight: number, durationMS: number, counter: { next: number }): Promise<number> {
  const items = client.db('bench').collection<{ _id: number }>('items');
  const start = performance.now();
  const intervalMS = 1000 / rate;
  let issued = 0;
  let inFlight = 0;
  let done = 0;
  let stopped = false;
  return new Promise((resolve, reject) => {
    const settle = () => {
      if (stopped && inFlight === 0) resolve(done);
    };
    const completed = () => {
      done++;
      inFlight--;
      if (!stopped) issue();
      settle();
    };
    const issue = () => {
      const due = Math.min(Math.floor((performance.now() - start) / intervalMS) + 1, Math.ceil(durationMS / intervalMS));
      while (issued < due && inFlight < maxInFlight) {
        issued++;
        inFlight++;
        items.findOne({ _id: counter.next++ % MONITOR_BENCH_DOCS }).then(completed, reject);
      }
    };
    const tick = () => {
      if (performance.now() - start >= durationMS) {
        stopped = true;
        settle();
        return;
      }
      issue();
      setTimeout(tick, Math.max(0, start + issued * intervalMS - performance.now()));
    };
    tick();
  });
}

let client: MongoClient | undefined;
let scraper: NodeJS.Timeout | undefined;
let settings: Start | undefined;
const counter = { next: 0 };

process.on('message', (message: Start | Run | { type: 'stop' }) => {
  void (async () => {
    if (message.type === 'start') {
      settings = message;
      const variant = MONITOR_VARIANTS.find((v) => v.id === message.variant);
      if (!variant) throw new Error(`unknown variant ${message.variant}`);
      client = new MongoClient(message.uri, { maxPoolSize: message.poolSize, monitorCommands: variant.monitorCommands });
      const { scrape } = variant.setup(client); // before connect, as the monitor requires
      await client.connect();
      // Prometheus is scraped every second, as a real server would be.
      if (scrape) scraper = setInterval(() => void scrape(), 1000);
      process.send?.({ type: 'ready' });
    } else if (message.type === 'run') {
      if (!client || !settings) throw new Error('run before start');
      const { concurrency, rate } = settings;
      const work = (ms: number) => (rate > 0 ? loadAtRate(client!, rate, concurrency, ms, counter) : load(client!, concurrency, ms, counter));
      await work(message.warmupMS);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const ops = await work(message.durationMS);
      const elapsedMS = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      process.send?.({ type: 'result', ops, elapsedMS, cpuUS: cpu.user + cpu.system });
    } else if (message.type === 'stop') {
      if (scraper) clearInterval(scraper);
      await client?.close();
      process.disconnect();
    }
  })().catch((error: unknown) => {
    process.stderr.write(`monitor-load: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
});
