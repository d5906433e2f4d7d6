// Public API of src/monitor: the pool monitor and its snapshot/event types.
export { PoolMonitor } from './pool-monitor.js';
export type { PoolMonitorOptions } from './options.js';
export type { HistogramSettings, LatencySummary } from './latency.js';
export type {
  PoolSnapshot,
  ServerPoolSnapshot,
  CommandSnapshot,
  ClosedCounts,
  CheckoutFailedCounts,
  LeakReport,
  LeakCommand,
  ReleasedReport,
  SaturatedReport,
  ClearedReport,
  CheckoutFailedReport,
  ServerConnections,
  PoolMonitorEvents,
} from './types.js';
