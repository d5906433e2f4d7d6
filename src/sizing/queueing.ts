/**
 * M/M/c queueing formulas (Poisson arrivals, exponential hold times, c servers = c pooled
 * connections). Pure numbers, no validation: callers pass finite, positive inputs.
 *
 * The offered load `a = λ·W` (Erlangs) is, by Little's law, the mean number of busy connections.
 */

/**
 * Erlang B blocking probability for `servers` servers and offered load `a`, by the recurrence
 * B(0) = 1, B(k) = a·B(k−1) / (k + a·B(k−1)). Every step stays in (0, 1], so unlike the textbook
 * sum of a^k/k! terms it never overflows, even for thousands of servers.
 */
export function erlangB(servers: number, offeredLoad: number): number {
  let b = 1;
  for (let k = 1; k <= servers; k++) b = nextErlangB(b, k, offeredLoad);
  return b;
}

/** One step of the Erlang B recurrence: B(k) from B(k−1). */
export function nextErlangB(previous: number, servers: number, offeredLoad: number): number {
  return (offeredLoad * previous) / (servers + offeredLoad * previous);
}

/**
 * Erlang C: the probability that an arrival has to wait (all connections busy), derived from
 * Erlang B as C = B / (1 − ρ(1 − B)). Returns 1 when the queue is unstable (a ≥ c).
 */
export function erlangC(servers: number, offeredLoad: number): number {
  return erlangCFromB(erlangB(servers, offeredLoad), servers, offeredLoad);
}

export function erlangCFromB(b: number, servers: number, offeredLoad: number): number {
  if (offeredLoad >= servers) return 1;
  const rho = offeredLoad / servers;
  return b / (1 - rho * (1 - b));
}

export interface QueueMetrics {
  servers: number;
  /** Mean number of busy connections, a = λ·W (Little's law). */
  offeredLoad: number;
  /** ρ = a / c. */
  utilisation: number;
  /** Erlang C: share of operations that wait for a connection. */
  probabilityOfWait: number;
  /** Mean wait over all operations, Wq = C / (cμ − λ) = C·W / (c − a); Infinity when a ≥ c. */
  expectedWaitMS: number;
  /** Mean wait of the operations that do wait: W / (c − a). */
  expectedWaitWhenQueuedMS: number;
}

/** Wait metrics of an M/M/c queue with `servers` connections, mean hold time `holdTimeMS`. */
export function mmcMetrics(servers: number, offeredLoad: number, holdTimeMS: number): QueueMetrics {
  return metricsFromErlangB(erlangB(servers, offeredLoad), servers, offeredLoad, holdTimeMS);
}

export function metricsFromErlangB(b: number, servers: number, offeredLoad: number, holdTimeMS: number): QueueMetrics {
  const utilisation = offeredLoad / servers;
  if (offeredLoad >= servers) {
    return { servers, offeredLoad, utilisation, probabilityOfWait: 1, expectedWaitMS: Infinity, expectedWaitWhenQueuedMS: Infinity };
  }
  const probabilityOfWait = erlangCFromB(b, servers, offeredLoad);
  const expectedWaitWhenQueuedMS = holdTimeMS / (servers - offeredLoad);
  return {
    servers,
    offeredLoad,
    utilisation,
    probabilityOfWait,
    expectedWaitMS: probabilityOfWait * expectedWaitWhenQueuedMS,
    expectedWaitWhenQueuedMS,
  };
}

/**
 * Wait-time quantile: in M/M/c, P(wait > t) = C·e^(−(c − a)·t / W), so the wait exceeded by only a
 * share `tail` of operations is t = W/(c − a) · ln(C / tail), or 0 when fewer than `tail` wait at all.
 */
export function waitQuantileMS(metrics: QueueMetrics, tail: number): number {
  if (!Number.isFinite(metrics.expectedWaitWhenQueuedMS)) return Infinity;
  if (metrics.probabilityOfWait <= tail) return 0;
  return metrics.expectedWaitWhenQueuedMS * Math.log(metrics.probabilityOfWait / tail);
}
