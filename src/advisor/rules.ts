import os from 'node:os';
import type { MongoClient } from 'mongodb';
import { coresRule, seedFormulaPoolSize } from '../sizing/rules.js';
import type { LoadShape } from '../bench/sweep.js';
import type { WorkloadMeasurement } from './measure.js';

/** The node driver's maxPoolSize when none is set. */
export const DRIVER_DEFAULT_POOL_SIZE = 100;

/** What the usual rules of thumb answer for the same workload, shown beside the advice. */
export interface RuleAnswers {
  /** The seed guide's int(concurrent requests × mean duration in s × 1.5), clamped to 10..100. */
  seedFormula: { maxPoolSize: number; concurrentRequests: number; avgDurationS: number };
  driverDefault: { maxPoolSize: number };
  /** HikariCP's server-side cores × 2 + 1; cores from the server's hostInfo, else this machine's. */
  coresRule: { maxPoolSize: number; cores: number; coresFrom: 'server' | 'local' };
}

/**
 * The seed formula gets the workload's concurrency as it would be written down: the callers of a
 * closed loop, or the requests in flight of an open one (rate × mean latency, Little's law), and
 * the measured mean latency in seconds.
 */
export function ruleAnswers(load: LoadShape, measurement: WorkloadMeasurement, cores: { cores: number; coresFrom: 'server' | 'local' }): RuleAnswers {
  const avgDurationS = Math.max(measurement.latencyMS.mean, 1e-3) / 1000;
  const concurrentRequests = load.mode === 'closed' ? load.concurrency : Math.max(1, Math.ceil(measurement.throughput * avgDurationS));
  return {
    seedFormula: { maxPoolSize: seedFormulaPoolSize({ concurrentRequests, avgDurationS }), concurrentRequests, avgDurationS },
    driverDefault: { maxPoolSize: DRIVER_DEFAULT_POOL_SIZE },
    coresRule: { maxPoolSize: coresRule(cores.cores), ...cores },
  };
}

/** The server's core count from `hostInfo` (mongod and the embedded server answer it; it may need privileges). */
export async function serverCores(client: MongoClient): Promise<{ cores: number; coresFrom: 'server' | 'local' }> {
  try {
    const info = await client.db('admin').command({ hostInfo: 1 });
    const cores = Number(info?.system?.numCores);
    if (Number.isSafeInteger(cores) && cores > 0) return { cores, coresFrom: 'server' };
  } catch {
    // Not allowed or not supported: fall back to this machine.
  }
  return { cores: os.availableParallelism(), coresFrom: 'local' };
}
