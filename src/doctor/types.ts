export type CheckStatus = 'pass' | 'warn' | 'fail';

/** One doctor finding: a one-line reason and, unless it passed, a fix. */
export interface CheckResult {
  id: string;
  title: string;
  status: CheckStatus;
  reason: string;
  fix?: string;
  /** Measured values behind the verdict (latencies, counts, versions). */
  data?: Record<string, unknown>;
}

export interface DoctorReport {
  uri: string;
  at: string;
  ok: boolean;
  summary: Record<CheckStatus, number>;
  checks: CheckResult[];
}
