import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MongoClient } from 'mongodb';
import { getInflightTracker } from '../client/inflight.js';
import { redactText } from '../util/redact.js';
import { checkNonNegative } from './backoff.js';
import { checkHealth, knownWritability, pingWithin, poolHealth, type HealthReport, type PoolHealth } from './health.js';

export type ProbeKind = 'liveness' | 'readiness';

export interface HealthHandlerOptions {
  /**
   * true: this is a readiness probe; false: a liveness probe; 'auto' (default): decided per
   * request by its path: a path containing "ready" is readiness, anything else liveness.
   */
  readiness?: boolean | 'auto';
  /**
   * Readiness fails when in-flight operations reach this fraction of maxPoolSize
   * (1 = every connection busy; above 1 operations are queueing). Default: not checked.
   */
  saturation?: number;
  /** Ping limit (default 2,000 ms). */
  timeoutMS?: number;
  /** Reuse a result this long (default 0); concurrent probes always share one ping. */
  cacheMS?: number;
  /** Put the full HealthReport (topology, server addresses, pool) in the body. Default false: probes are often public. */
  details?: boolean;
}

export interface ProbeResult {
  status: 200 | 503;
  body: {
    status: 'ok' | 'fail';
    probe: ProbeKind;
    /** Why the probe fails (empty when it passes). */
    reasons: string[];
    latencyMS?: number;
    report?: HealthReport;
  };
}

type NodeHandler = (req: IncomingMessage, res: ServerResponse, next?: unknown) => Promise<void>;

interface FastifyRequestLike {
  url?: string;
  raw?: { url?: string };
  method?: string;
}
interface FastifyReplyLike {
  code(status: number): FastifyReplyLike;
  header(name: string, value: string): FastifyReplyLike;
  send(payload?: unknown): unknown;
}
type FastifyHandler = (request: FastifyRequestLike, reply: FastifyReplyLike) => Promise<FastifyReplyLike>;

/**
 * Builds the probe logic shared by the Node and Fastify handlers.
 *
 * Liveness answers 200 while the process can answer at all: a database outage must not make an
 * orchestrator restart every instance (that turns an outage into a restart storm). Its body still
 * reports the ping (primaryPreferred: any member answers during an election). Readiness answers
 * 503 when the ping fails, when no writable server is known, when the pool is saturated (if
 * `saturation` is set) and as soon as gracefulShutdown has begun, so load balancers stop sending
 * traffic to this instance. Shutdown, saturation and a connected client's "no writable server"
 * are decided from local state, at once and without a ping.
 */
export function createProbe(client: MongoClient, options: HealthHandlerOptions = {}): (kind: ProbeKind) => Promise<ProbeResult> {
  const timeoutMS = checkNonNegative('healthHandler: timeoutMS', options.timeoutMS, 2000);
  const cacheMS = checkNonNegative('healthHandler: cacheMS', options.cacheMS, 0);
  const { saturation, details = false } = options;
  if (saturation !== undefined && !(typeof saturation === 'number' && saturation > 0 && Number.isFinite(saturation))) {
    throw new TypeError(`healthHandler: saturation must be a number > 0, a fraction of maxPoolSize (got ${String(saturation)})`);
  }
  let pending: Promise<HealthReport> | undefined;
  let cached: { at: number; report: HealthReport } | undefined;
  let lookingForPrimary: Promise<void> | undefined;

  const report = (): Promise<HealthReport> => {
    if (cached && performance.now() - cached.at < cacheMS) return Promise.resolve(cached.report);
    pending ??= checkHealth(client, { timeoutMS }).then((result) => {
      cached = { at: performance.now(), report: result };
      pending = undefined;
      return result;
    });
    return pending;
  };

  const saturatedBy = (pool: PoolHealth | undefined): string | undefined =>
    saturation !== undefined && pool && pool.maxPoolSize > 0 && pool.utilization >= saturation
      ? `pool saturated: ${pool.inflight} operations for ${pool.maxPoolSize} connections (${pool.waiting} waiting)`
      : undefined;
  const fail = (kind: ProbeKind, reasons: string[]): ProbeResult => ({ status: 503, body: { status: 'fail', probe: kind, reasons } });

  return async (kind) => {
    if (kind === 'readiness') {
      // Decided without a ping: shutdown must fail readiness at once, and a ping on a saturated
      // pool would only queue behind the work that saturates it.
      if (getInflightTracker(client)?.shuttingDown) return fail(kind, ['shutting down']);
      const saturated = saturatedBy(poolHealth(client));
      if (saturated) return fail(kind, [saturated]);
      // During an election (or with every server down) SDAM already knows: answer now instead of
      // after a ping timeout. A primary ping keeps running in the background (one at a time, bounded
      // by timeoutMS): while it waits in server selection the driver re-checks every server (at most
      // every minHeartbeatFrequencyMS), so a new primary is found before the next heartbeat.
      const known = knownWritability(client);
      if (known && !known.writable) {
        lookingForPrimary ??= pingWithin(client, timeoutMS, 'primary')
          .catch(() => {})
          .finally(() => (lookingForPrimary = undefined));
        return fail(kind, [noWritable(known.topology)]);
      }
    }
    const result = await report();
    const reasons: string[] = [];
    if (kind === 'readiness') {
      if (result.shuttingDown) reasons.push('shutting down');
      if (!result.ok) reasons.push(`ping failed: ${result.error?.message ?? 'unknown error'}`);
      else if (!result.writable) reasons.push(noWritable(result.topology));
      const saturated = saturatedBy(result.pool);
      if (saturated) reasons.push(saturated);
    }
    const body: ProbeResult['body'] = { status: reasons.length === 0 ? 'ok' : 'fail', probe: kind, reasons, latencyMS: result.latencyMS };
    if (details) body.report = result;
    return { status: reasons.length === 0 ? 200 : 503, body };
  };
}

function noWritable(topology: string): string {
  return `no writable server (topology ${topology})`;
}

/** Node `(req, res)` handler for `http.createServer` or Express (`app.get('/ready', handler)`). */
export function healthHandler(client: MongoClient, options: HealthHandlerOptions = {}): NodeHandler {
  const probe = createProbe(client, options);
  const mode = options.readiness ?? 'auto';
  return async (req, res) => {
    const kind = probeKind(mode, req.url);
    // http ignores the handler's promise: never let a failure escape as an unhandled rejection.
    const { status, body } = await probe(kind).catch(
      (error: unknown): ProbeResult => ({ status: 503, body: { status: 'fail', probe: kind, reasons: [`health check failed: ${redactText(String((error as Error)?.message ?? error))}`] } }),
    );
    const payload = JSON.stringify(body);
    res.statusCode = status;
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.setHeader('cache-control', 'no-store');
    res.setHeader('content-length', Buffer.byteLength(payload));
    res.end(req.method === 'HEAD' ? undefined : payload);
  };
}

/** Fastify-style `(request, reply)` handler: `fastify.get('/ready', healthHandler.fastify(client, { readiness: true }))`. */
function fastifyHealthHandler(client: MongoClient, options: HealthHandlerOptions = {}): FastifyHandler {
  const probe = createProbe(client, options);
  const mode = options.readiness ?? 'auto';
  return async (request, reply) => {
    const { status, body } = await probe(probeKind(mode, request.url ?? request.raw?.url));
    reply.code(status).header('cache-control', 'no-store').header('content-type', 'application/json; charset=utf-8');
    reply.send(body);
    return reply;
  };
}

healthHandler.fastify = fastifyHealthHandler;

function probeKind(mode: boolean | 'auto', url: string | undefined): ProbeKind {
  if (mode === true) return 'readiness';
  if (mode === false) return 'liveness';
  const path = (url ?? '').split('?')[0].toLowerCase();
  return path.includes('ready') ? 'readiness' : 'liveness';
}
