import { PoolConfigError } from '../errors.js';
import { rejectUnknownKeys, requireNonNegativeInteger, requireObject, requirePositiveInteger } from './validate.js';

export interface FleetBudgetOptions {
  /** Application processes (instances × workers) connecting to the server. */
  processes: number;
  /** maxPoolSize of each process's client (0 = unlimited cannot be budgeted). */
  maxPoolSize: number;
  /** Monitoring sockets per process per server: 2 with streaming SDAM (default), 1 when polling, 0 behind a load balancer. */
  monitoringConnections?: number;
  /** Connections the server can still accept for this fleet (serverStatus `connections.available`). */
  serverAvailable: number;
}

export interface FleetBudget {
  fits: boolean;
  /** processes × (maxPoolSize + monitoringConnections): the worst case, every pool full. */
  required: number;
  available: number;
  /** available − required; negative when the fleet does not fit. */
  headroom: number;
  perProcess: number;
  /** required / available (Infinity when nothing is available). */
  utilisation: number;
  /** Largest maxPoolSize that fits for this many processes (0 if even monitoring does not fit). */
  maxPoolSizeThatFits: number;
  /** Most processes that fit with this maxPoolSize. */
  maxProcessesThatFit: number;
  reasoning: string[];
}

const DEFAULT_MONITORING_CONNECTIONS = 2;

/**
 * Whether a fleet of clients fits in one server's connection limit when every pool is full.
 * Each process opens up to maxPoolSize pooled connections plus its monitoring sockets to every
 * server it talks to, so the budget is per server. Throws PoolConfigError naming the field.
 */
export function fleetBudget(options: FleetBudgetOptions): FleetBudget {
  const raw = requireObject('options', options);
  rejectUnknownKeys('', raw, ['processes', 'maxPoolSize', 'monitoringConnections', 'serverAvailable']);
  const processes = requirePositiveInteger('processes', raw.processes);
  if (raw.maxPoolSize === 0) {
    throw new PoolConfigError('maxPoolSize', 0, 'is unlimited (0), so no connection budget can hold it; set a limit');
  }
  const maxPoolSize = requirePositiveInteger('maxPoolSize', raw.maxPoolSize);
  const monitoringConnections =
    raw.monitoringConnections === undefined
      ? DEFAULT_MONITORING_CONNECTIONS
      : requireNonNegativeInteger('monitoringConnections', raw.monitoringConnections);
  const available = requireNonNegativeInteger('serverAvailable', raw.serverAvailable);

  const perProcess = maxPoolSize + monitoringConnections;
  const required = processes * perProcess;
  const headroom = available - required;
  const fits = headroom >= 0;
  const maxPoolSizeThatFits = Math.max(0, Math.floor(available / processes) - monitoringConnections);
  const maxProcessesThatFit = Math.floor(available / perProcess);
  const reasoning = [
    `Each process opens up to ${maxPoolSize} pooled + ${monitoringConnections} monitoring = ${perProcess} connections to this server.`,
    `${processes} process${processes === 1 ? '' : 'es'} × ${perProcess} = ${required} required; ${available} available; ` +
      (fits ? `fits with ${headroom} to spare (${Math.round((required / Math.max(available, 1)) * 100)}% used when every pool is full).` : `${-headroom} short.`),
  ];
  if (!fits) {
    reasoning.push(
      maxPoolSizeThatFits > 0
        ? `To fit: maxPoolSize ≤ ${maxPoolSizeThatFits} for ${processes} processes, or at most ${maxProcessesThatFit} processes at maxPoolSize ${maxPoolSize}.`
        : `To fit: at most ${maxProcessesThatFit} processes at maxPoolSize ${maxPoolSize}; even 1 pooled connection each does not fit ${processes} processes.`,
    );
  }
  return {
    fits,
    required,
    available,
    headroom,
    perProcess,
    utilisation: available === 0 ? Infinity : required / available,
    maxPoolSizeThatFits,
    maxProcessesThatFit,
    reasoning,
  };
}
