import { startServer, type EmbeddedServer } from '../server/index.js';
import { MongoClient } from 'mongodb';
import { DemoReporter } from './reporter.js';
import * as sections from './sections.js';
import type { DemoContext } from './sections.js';
import { redactUri } from '../util/redact.js';

export interface DemoOptions {
  /** Run against this deployment instead of a fresh embedded server. */
  uri?: string;
  reporter: DemoReporter;
}

/** The embedded server's load model in the demo: 5 ms per operation, at most 8 at once. */
const DEMO_LATENCY_MS = 5;
const DEMO_CAPACITY = 8;

/** Walks through every section of the seed guide with real results. Returns the per-section results. */
export async function runDemo({ uri, reporter: out }: DemoOptions): Promise<Record<string, unknown>> {
  const started = performance.now();
  let embedded: EmbeddedServer | undefined;
  if (!uri) {
    embedded = await startServer({ port: 0, latencyMS: DEMO_LATENCY_MS, maxConcurrentOps: DEMO_CAPACITY, seed: 1 });
    out.line(out.style.bold(`poolkit demo: embedded server at ${embedded.uri} (in memory; ${DEMO_LATENCY_MS} ms per operation, at most ${DEMO_CAPACITY} at once)`));
  } else {
    out.line(out.style.bold(`poolkit demo: ${redactUri(uri)}`));
  }
  const ctx: DemoContext = {
    uri: embedded?.uri ?? uri!,
    embedded,
    serverCapacity: embedded ? DEMO_CAPACITY : undefined,
    failPoints: embedded ? true : await hasFailPoints(uri!),
    out,
  };
  if (!ctx.failPoints) out.note('this server has no test commands: the steps that inject failures are skipped');
  try {
    await sections.configuration(ctx);
    await sections.poolStatistics(ctx);
    await sections.healthCheck(ctx);
    await sections.reconnection(ctx);
    const comparison = await sections.poolSizeComparison(ctx);
    await sections.poolSizeAdvice(ctx, comparison);
    await sections.retry(ctx);
    await sections.bestPractices(ctx);
    await sections.shutdown(ctx);
  } finally {
    await ctx.client?.close().catch(() => {});
    await embedded?.stop();
  }
  const seconds = (performance.now() - started) / 1000;
  out.line(`\n${out.style.green('✔')} demo finished in ${seconds.toFixed(1)} s`);
  out.record('elapsedS', seconds);
  return out.results;
}

async function hasFailPoints(uri: string): Promise<boolean> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 5000 });
  try {
    // Turning an absent fail point off is harmless; CommandNotFound means no test commands.
    await client.db('admin').command({ configureFailPoint: 'failCommand', mode: 'off' });
    return true;
  } catch {
    return false;
  } finally {
    await client.close();
  }
}
