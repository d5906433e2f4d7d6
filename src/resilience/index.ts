// Public API of src/resilience: health, startup waiting, retries and graceful shutdown.
export { checkHealth, type CheckHealthOptions, type HealthReport, type PoolHealth, type ServerHealth } from './health.js';
export { healthHandler, createProbe, type HealthHandlerOptions, type ProbeKind, type ProbeResult } from './health-handler.js';
export { waitForServer, type WaitForServerOptions, type WaitForServerResult } from './wait-for-server.js';
export { withRetry, type WithRetryOptions, type RetryContext, type RetryEvent } from './retry.js';
export { classifyError, classifyAttempt, type ErrorClassification, type Retryability } from './classify.js';
export { RetryBudget, defaultRetryBudget, type RetryBudgetOptions, type RetryBudgetStats } from './budget.js';
export { fullJitterDelay } from './backoff.js';
export { gracefulShutdown, type GracefulShutdownOptions, type ShutdownResult } from './shutdown.js';
