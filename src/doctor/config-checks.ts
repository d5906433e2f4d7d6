import { validateClientOptions, type ValidatedClientOptions } from '../client/validate.js';
import { PoolConfigError } from '../errors.js';
import type { CheckResult } from './types.js';

/**
 * Best-practice checks of a client configuration (the seed's list, and more). Pure: no network.
 * `effective` are the options the client would run with; unset options are the driver defaults.
 */
export function checkConfiguration(uri: string, options: Record<string, unknown>): { checks: CheckResult[]; validated?: ValidatedClientOptions } {
  let validated: ValidatedClientOptions;
  try {
    validated = validateClientOptions(uri, options);
  } catch (err) {
    if (err instanceof PoolConfigError) {
      return { checks: [{ id: 'options-valid', title: 'Client options are valid', status: 'fail', reason: err.message, fix: `correct ${err.option} (see docs/configuration.md)` }] };
    }
    throw err;
  }
  const o = validated.effective;
  const num = (name: string, driverDefault: number) => (typeof o[name] === 'number' ? (o[name] as number) : driverDefault);
  const bool = (name: string, driverDefault: boolean) => (typeof o[name] === 'boolean' ? (o[name] as boolean) : driverDefault);
  const checks: CheckResult[] = [];
  const add = (c: CheckResult) => checks.push(c);

  add({
    id: 'options-valid',
    title: 'Client options are valid',
    status: validated.warnings.length ? 'warn' : 'pass',
    reason: validated.warnings.length ? validated.warnings.map((w) => w.message).join('; ') : `${Object.keys(o).length} option(s) set, all valid`,
    fix: validated.warnings.length ? 'review the warned combinations' : undefined,
  });

  const maxPoolSize = num('maxPoolSize', 100);
  const minPoolSize = num('minPoolSize', 0);
  add(
    maxPoolSize === 0
      ? { id: 'max-pool-size', title: 'maxPoolSize is bounded', status: 'fail', reason: 'maxPoolSize 0 means unlimited: a burst opens as many connections as there are concurrent operations', fix: 'set maxPoolSize from measurement: `poolkit advise`' }
      : o.maxPoolSize === undefined
        ? { id: 'max-pool-size', title: 'maxPoolSize is set from the expected load', status: 'warn', reason: 'maxPoolSize is the driver default (100), not sized for this workload', fix: 'measure with `poolkit advise` and set maxPoolSize (seed: "Set maxPoolSize based on expected load")' }
        : { id: 'max-pool-size', title: 'maxPoolSize is set from the expected load', status: 'pass', reason: `maxPoolSize ${maxPoolSize}` },
  );
  add(
    minPoolSize > 0
      ? { id: 'min-pool-size', title: 'minPoolSize keeps warm connections', status: minPoolSize > maxPoolSize && maxPoolSize !== 0 ? 'fail' : 'pass', reason: `minPoolSize ${minPoolSize}: the driver opens them one at a time in the background (about 100 ms apart), so they are not all ready at startup` }
      : { id: 'min-pool-size', title: 'minPoolSize keeps warm connections', status: 'warn', reason: 'minPoolSize 0: the first requests after startup or an idle period pay connection setup (TCP, TLS, handshake, auth)', fix: 'set minPoolSize to the steady-state busy connections (Little\'s law: rate × hold time), e.g. `poolkit advise`' },
  );
  const waitQueueTimeoutMS = num('waitQueueTimeoutMS', 0);
  const serverSelectionTimeoutMS = num('serverSelectionTimeoutMS', 30000);
  add(
    waitQueueTimeoutMS === 0
      ? { id: 'wait-queue-timeout', title: 'Operations do not wait forever for a connection', status: 'warn', reason: 'waitQueueTimeoutMS 0: when the pool is exhausted, requests queue without bound', fix: 'set waitQueueTimeoutMS (a few times the p99 hold time) so overload sheds load instead of piling up' }
      : waitQueueTimeoutMS >= serverSelectionTimeoutMS
        ? { id: 'wait-queue-timeout', title: 'Operations do not wait forever for a connection', status: 'warn', reason: `waitQueueTimeoutMS ${waitQueueTimeoutMS} ≥ serverSelectionTimeoutMS ${serverSelectionTimeoutMS}`, fix: 'keep waitQueueTimeoutMS well below serverSelectionTimeoutMS' }
        : { id: 'wait-queue-timeout', title: 'Operations do not wait forever for a connection', status: 'pass', reason: `waitQueueTimeoutMS ${waitQueueTimeoutMS}` },
  );
  const connectTimeoutMS = num('connectTimeoutMS', 30000);
  add(
    connectTimeoutMS === 0 || connectTimeoutMS > 30000
      ? { id: 'connect-timeout', title: 'Reasonable connect timeout', status: 'warn', reason: connectTimeoutMS === 0 ? 'connectTimeoutMS 0: a dead host blocks connection setup until the OS gives up (minutes)' : `connectTimeoutMS ${connectTimeoutMS} is long`, fix: 'set connectTimeoutMS to 5000-10000' }
      : { id: 'connect-timeout', title: 'Reasonable connect timeout', status: 'pass', reason: `connectTimeoutMS ${connectTimeoutMS}` },
  );
  const socketTimeoutMS = num('socketTimeoutMS', 0);
  add(
    socketTimeoutMS > 0 && socketTimeoutMS < 1000
      ? { id: 'socket-timeout', title: 'Socket timeout does not cut normal operations', status: 'warn', reason: `socketTimeoutMS ${socketTimeoutMS} closes the connection of any operation slower than that (and the pool must reconnect)`, fix: 'raise socketTimeoutMS or use maxTimeMS per operation' }
      : { id: 'socket-timeout', title: 'Socket timeout does not cut normal operations', status: 'pass', reason: socketTimeoutMS === 0 ? 'socketTimeoutMS 0 (none): bound slow operations with maxTimeMS' : `socketTimeoutMS ${socketTimeoutMS}` },
  );
  const retryWrites = bool('retryWrites', true);
  const retryReads = bool('retryReads', true);
  add(
    retryWrites && retryReads
      ? { id: 'retries', title: 'retryWrites and retryReads are enabled', status: 'pass', reason: 'the driver retries a failed operation once after a failover or network error' }
      : { id: 'retries', title: 'retryWrites and retryReads are enabled', status: 'warn', reason: `${[!retryWrites && 'retryWrites', !retryReads && 'retryReads'].filter(Boolean).join(' and ')} disabled: every failover surfaces as application errors`, fix: 'enable retryWrites and retryReads (the seed does)' },
  );
  const maxIdleTimeMS = num('maxIdleTimeMS', 0);
  add(
    maxIdleTimeMS === 0 || maxIdleTimeMS > 240000
      ? { id: 'idle-time', title: 'Idle connections close before network devices drop them', status: 'warn', reason: maxIdleTimeMS === 0 ? 'maxIdleTimeMS 0: idle connections live forever; load balancers and firewalls silently drop idle flows (Azure: 240 s), and the next use fails' : `maxIdleTimeMS ${maxIdleTimeMS} is above common idle cut-offs (Azure LB: 240 s)`, fix: 'set maxIdleTimeMS below your network idle timeout, e.g. 60000-180000' }
      : { id: 'idle-time', title: 'Idle connections close before network devices drop them', status: 'pass', reason: `maxIdleTimeMS ${maxIdleTimeMS}` },
  );
  const heartbeat = num('heartbeatFrequencyMS', 10000);
  add(
    heartbeat < 1000 || heartbeat > 30000
      ? { id: 'heartbeat', title: 'Server monitoring frequency', status: 'warn', reason: `heartbeatFrequencyMS ${heartbeat} ${heartbeat < 1000 ? 'adds monitoring load on every server' : 'detects failovers slowly'}`, fix: 'keep heartbeatFrequencyMS near the default 10000' }
      : { id: 'heartbeat', title: 'Server monitoring frequency', status: 'pass', reason: `heartbeatFrequencyMS ${heartbeat}` },
  );
  add(
    o.appName
      ? { id: 'app-name', title: 'appName identifies the application', status: 'pass', reason: `appName ${JSON.stringify(o.appName)}` }
      : { id: 'app-name', title: 'appName identifies the application', status: 'warn', reason: 'no appName: server logs and currentOp cannot tell which service holds connections', fix: 'set appName to the service name' },
  );
  return { checks, validated };
}
