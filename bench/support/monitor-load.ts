// One variant of the monitor benchmark in its own process: a client set up as the variant says
// (bare, PoolMonitor, Prometheus, command monitoring, the peer exporter), kept for the whole
// benchmark, running `findOne({ _id })` from N closed-loop callers (or at a fixed rate) each
// time the parent asks.
// Reports completed operations and this process's CPU time (process.cpuUsage) for the window.
// With `startPair` (the benchmark's `--method interleaved`) the process holds two clients, the
// baseline's and the variant's, and measures them in turn in short slices (`interleave`).
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
/** `--method interleaved`: two clients in this one process (the baseline's and the variant's, in either order). */
interface StartPair extends Omit<Start, 'type' | 'variant'> {
  type: 'startPair';
  variants: [string, string];
}
/** Warm both clients up, then measure them in turn: slices A B B A, `blocks` times. */
interface Interleave {
  type: 'interleave';
  warmupMS: number;
  sliceMS: number;
  blocks: number;
}
interface Totals {
  ops: number;
  elapsedMS: number;
  cpuUS: number;
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

/** A client set up as its variant says, connected, with its scrape (Prometheus variants) if any. */
interface Loaded {
  client: MongoClient;
  scrape: (() => Promise<unknown>) | undefined;
}

async function startClient(uri: string, id: string, poolSize: number): Promise<Loaded> {
  const variant = MONITOR_VARIANTS.find((v) => v.id === id);
  if (!variant) throw new Error(`unknown variant ${id}`);
  const client = new MongoClient(uri, { maxPoolSize: poolSize, monitorCommands: variant.monitorCommands });
  const { scrape } = variant.setup(client); // before connect, as the monitor requires
  await client.connect();
  return { client, scrape };
}

let single: Loaded | undefined;
let pair: [Loaded, Loaded] | undefined;
let scraper: NodeJS.Timeout | undefined;
let settings: Omit<Start, 'type' | 'variant'> | undefined;
const counter = { next: 0 };

const work = (client: MongoClient, ms: number) => {
  const { concurrency, rate } = settings!;
  return rate > 0 ? loadAtRate(client, rate, concurrency, ms, counter) : load(client, concurrency, ms, counter);
};

/** `ms` of load on `client`: its completed operations, the time taken and this process's CPU time meanwhile. */
async function measure(client: MongoClient, ms: number): Promise<Totals> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const ops = await work(client, ms);
  const elapsedMS = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { ops, elapsedMS, cpuUS: cpu.user + cpu.system };
}

/**
 * One measured stretch of `loaded` alone: its operations and this process's CPU time meanwhile.
 * A client's Prometheus registry is scraped once per second of the client's own active time,
 * inside its own slices, so the other client is never charged for it.
 */
async function measureSlice(loaded: Loaded, active: { ms: number; nextScrapeMS: number }, sliceMS: number): Promise<Totals> {
  let timer: NodeJS.Timeout | undefined;
  const due = active.nextScrapeMS - active.ms;
  if (loaded.scrape && due < sliceMS) {
    timer = setTimeout(() => {
      active.nextScrapeMS += 1000;
      void loaded.scrape!();
    }, Math.max(0, due));
  }
  const slice = await measure(loaded.client, sliceMS);
  if (timer) clearTimeout(timer);
  active.ms += slice.elapsedMS;
  return slice;
}

/** Totals of the two clients, in the order of `startPair`'s `variants`. */
async function interleave(clients: [Loaded, Loaded], message: Interleave): Promise<[Totals, Totals]> {
  const active = [
    { ms: 0, nextScrapeMS: 1000 },
    { ms: 0, nextScrapeMS: 1000 },
  ];
  // Warm-up in the same alternation, so both clients' code is compiled for the other's presence too.
  for (let warmed = 0; warmed < message.warmupMS; warmed += 2 * message.sliceMS) {
    for (const which of [0, 1]) await measureSlice(clients[which], active[which], message.sliceMS);
  }
  const totals: [Totals, Totals] = [
    { ops: 0, elapsedMS: 0, cpuUS: 0 },
    { ops: 0, elapsedMS: 0, cpuUS: 0 },
  ];
  for (let block = 0; block < message.blocks; block++) {
    // A B B A: a drift of the machine's speed within a block weighs on both alike.
    for (const which of [0, 1, 1, 0]) {
      const slice = await measureSlice(clients[which], active[which], message.sliceMS);
      totals[which].ops += slice.ops;
      totals[which].elapsedMS += slice.elapsedMS;
      totals[which].cpuUS += slice.cpuUS;
    }
  }
  return totals;
}

process.on('message', (message: Start | Run | StartPair | Interleave | { type: 'stop' }) => {
  void (async () => {
    if (message.type === 'start') {
      settings = message;
      single = await startClient(message.uri, message.variant, message.poolSize);
      // Prometheus is scraped every second, as a real server would be.
      const { scrape } = single;
      if (scrape) scraper = setInterval(() => void scrape(), 1000);
      process.send?.({ type: 'ready' });
    } else if (message.type === 'startPair') {
      settings = message;
      pair = [await startClient(message.uri, message.variants[0], message.poolSize), await startClient(message.uri, message.variants[1], message.poolSize)];
      process.send?.({ type: 'ready' });
    } else if (message.type === 'run') {
      if (!single || !settings) throw new Error('run before start');
      await work(single.client, message.warmupMS);
      process.send?.({ type: 'result', ...(await measure(single.client, message.durationMS)) });
    } else if (message.type === 'interleave') {
      if (!pair || !settings) throw new Error('interleave before startPair');
      process.send?.({ type: 'interleaved', totals: await interleave(pair, message) });
    } else if (message.type === 'stop') {
      if (scraper) clearInterval(scraper);
      await single?.client.close();
      if (pair) await Promise.all(pair.map((loaded) => loaded.client.close()));
      process.disconnect();
    }
  })().catch((error: unknown) => {
    process.stderr.write(`monitor-load: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
});
