/**
 * Named option sets for `createClient`. Precedence: options object > URI query string > preset,
 * so a preset never overrides anything the user wrote. Each value carries its reason; the
 * docs (docs/configuration.md) print the same reasoning.
 */
export type PresetName = 'seed' | 'web' | 'batch' | 'serverless';

export interface PresetValue {
  value: number | boolean | string;
  why: string;
}

export interface Preset {
  name: PresetName;
  summary: string;
  options: Readonly<Record<string, PresetValue>>;
}

export const PRESETS: Readonly<Record<PresetName, Preset>> = {
  seed: {
    name: 'seed',
    summary: "Exactly the values of the PyMongo guide's create_optimized_client(), for comparison and migration.",
    options: {
      maxPoolSize: { value: 50, why: 'seed: "Up to 50 connections"' },
      minPoolSize: { value: 10, why: 'seed: "At least 10 connections"' },
      maxIdleTimeMS: { value: 30000, why: 'seed: "30s idle before closing"' },
      waitQueueTimeoutMS: { value: 5000, why: 'seed: "5s wait for a connection"' },
      connectTimeoutMS: { value: 10000, why: 'seed: "10s to connect"' },
      socketTimeoutMS: { value: 20000, why: 'seed: "20s for read/write"' },
      retryWrites: { value: true, why: 'seed: retryWrites=True' },
      retryReads: { value: true, why: 'seed: retryReads=True' },
      heartbeatFrequencyMS: { value: 10000, why: 'seed: "Check every 10s"' },
      serverSelectionTimeoutMS: { value: 30000, why: 'seed: "30s server selection timeout"' },
    },
  },
  web: {
    name: 'web',
    summary: 'Latency-sensitive HTTP API: small warm pool, fail fast, shed load instead of queueing.',
    options: {
      maxPoolSize: {
        value: 20,
        why: "A Node process runs one event loop; busy connections = request rate x query time (Little's law), e.g. 2,000 ops/s x 5 ms = 10. 20 leaves headroom without letting one instance flood the server.",
      },
      minPoolSize: { value: 2, why: 'Keeps a couple of connections warm so the first requests after a quiet period skip the TCP+TLS+auth handshake.' },
      maxIdleTimeMS: {
        value: 60000,
        why: 'Retires idle sockets well before load balancers and NAT gateways silently drop them (Azure: 240 s, AWS NLB: 350 s), so no request lands on a dead socket.',
      },
      waitQueueTimeoutMS: {
        value: 1000,
        why: 'A request that cannot get a connection within 1 s is better answered with 503 than queued: queueing behind a saturated pool only adds latency to every request.',
      },
      connectTimeoutMS: { value: 5000, why: 'A healthy server accepts a connection in milliseconds; 5 s covers TLS and auth on a slow network without hanging a request.' },
      socketTimeoutMS: {
        value: 30000,
        why: 'A backstop against sockets that hang forever (half-open TCP). Bound individual queries with maxTimeMS; this must stay longer than the slowest legitimate query.',
      },
      serverSelectionTimeoutMS: {
        value: 10000,
        why: 'Rides through a typical replica-set election (electionTimeoutMillis 10 s) while still failing requests long before a client or proxy gives up at 30-60 s.',
      },
      retryWrites: { value: true, why: "The driver's single retry covers a primary stepdown transparently." },
      retryReads: { value: true, why: "The driver's single retry covers a dropped connection transparently." },
    },
  },
  batch: {
    name: 'batch',
    summary: 'Throughput jobs (imports, migrations, reports): few long operations, waiting is acceptable, failing is expensive.',
    options: {
      maxPoolSize: {
        value: 10,
        why: 'Throughput is bounded by the server (about 2 x its cores active operations); more connections only queue inside the server. Run a sweep (poolkit bench) to find the knee.',
      },
      minPoolSize: { value: 0, why: 'A job ramps up once; there is no cold-start latency to hide.' },
      maxIdleTimeMS: { value: 300000, why: 'Keeps connections between batches and pauses of a few minutes instead of reconnecting.' },
      waitQueueTimeoutMS: { value: 0, why: 'Waiting for a connection is natural backpressure for a job; failing a batch because the pool is busy wastes work.' },
      connectTimeoutMS: { value: 10000, why: 'Generous enough for a busy server or a distant region.' },
      socketTimeoutMS: { value: 0, why: 'Long aggregations and bulk writes legitimately keep a socket quiet for minutes; bound them with maxTimeMS instead.' },
      serverSelectionTimeoutMS: { value: 60000, why: 'A job would rather wait out a failover or a rolling restart than fail.' },
      retryWrites: { value: true, why: "The driver's single retry keeps a stepdown from failing a bulk write." },
      retryReads: { value: true, why: "The driver's single retry keeps a dropped connection from failing a long read." },
    },
  },
  serverless: {
    name: 'serverless',
    summary: 'AWS Lambda, Cloud Functions and the like: many short-lived instances, each handling one request at a time.',
    options: {
      maxPoolSize: {
        value: 5,
        why: 'Each instance serves one request at a time but the platform runs hundreds of instances: the fleet holds instances x maxPoolSize connections (plus monitors), so small pools prevent connection storms.',
      },
      minPoolSize: { value: 0, why: 'Frozen instances should not pin connections on the server.' },
      maxIdleTimeMS: { value: 10000, why: 'Sockets of an instance that was frozen between invocations are often dead; retiring idle ones quickly avoids using them.' },
      waitQueueTimeoutMS: { value: 2000, why: 'Fail well inside the function timeout instead of burning billed time waiting.' },
      connectTimeoutMS: { value: 5000, why: 'Cold starts connect on the request path; a slow connect must fail within the function timeout.' },
      serverSelectionTimeoutMS: { value: 5000, why: "Function timeouts are short (often 10-30 s); the driver's 30 s default would outlive the invocation." },
      serverMonitoringMode: {
        value: 'poll',
        why: 'One polling monitor socket per server instead of two streaming ones, and no long-lived awaited hello broken by freezes (what the driver picks itself when it detects FaaS).',
      },
      retryWrites: { value: true, why: "The driver's single retry hides a dropped connection after a thaw." },
      retryReads: { value: true, why: "The driver's single retry hides a dropped connection after a thaw." },
    },
  },
};

export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

/** The plain option values of a preset. */
export function presetOptions(name: PresetName): Record<string, number | boolean | string> {
  return Object.fromEntries(Object.entries(PRESETS[name].options).map(([key, { value }]) => [key, value]));
}
