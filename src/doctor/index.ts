import { checkConfiguration } from './config-checks.js';
import { checkDeployment } from './live-checks.js';
import type { DoctorReport, CheckStatus } from './types.js';
import { redactUri } from '../util/redact.js';

export type { CheckResult, CheckStatus, DoctorReport } from './types.js';
export { checkConfiguration } from './config-checks.js';

export interface DoctorOptions {
  /** The client options the application uses (as given to `createClient`/`MongoClient`). */
  options?: Record<string, unknown>;
  /** Processes sharing the deployment (connection budget). Default 1. */
  processes?: number;
  /** Per-step timeout for reaching the deployment. Default 5000. */
  timeoutMS?: number;
  /** Pings measured. Default 10. */
  pings?: number;
}

/** Checks a live deployment and a client configuration against pooling best practices. */
export async function runDoctor(uri: string, { options = {}, processes = 1, timeoutMS = 5000, pings = 10 }: DoctorOptions = {}): Promise<DoctorReport> {
  const config = checkConfiguration(uri, options);
  const checks = [...config.checks];
  // Invalid application options must not hide the deployment's state: check it with the URI's
  // own options then (unless the URI itself is what is invalid).
  const connectWith = config.validated ?? checkConfiguration(uri, {}).validated;
  if (connectWith) {
    const maxPoolSize = typeof connectWith.effective.maxPoolSize === 'number' ? (connectWith.effective.maxPoolSize as number) : 100;
    checks.unshift(...(await checkDeployment(uri, { driverOptions: connectWith.driverOptions, maxPoolSize, processes, timeoutMS, pings })));
  }
  const summary: Record<CheckStatus, number> = { pass: 0, warn: 0, fail: 0 };
  for (const c of checks) summary[c.status]++;
  return { uri: redactUri(uri), at: new Date().toISOString(), ok: summary.fail === 0, summary, checks };
}
