/**
 * What the reverse proxy's pools look like now, for operators: each backend's verdicts
 * (health checks, passive ejection) and the pool's idle connections. Read by `GET /backends`
 * on the admin API and by the `tollgate_backend_up` metric.
 * @module
 */
import type { PoolEntry } from "./generation.ts";

/** One backend as an operator sees it. */
export interface BackendReport {
  readonly url: string;
  /** Taken by requests now: healthy and not ejected. */
  readonly available: boolean;
  /** The active health checks' verdict (true without checks). */
  readonly healthy: boolean;
  /** When a passive ejection ends (ISO 8601), or null when not ejected. */
  readonly ejectedUntil: string | null;
  /** Connect failures in a row since the last success or ejection. */
  readonly consecutiveFailures: number;
  /** The last failure (a connect error or a failed check), or null. */
  readonly lastError: string | null;
  /** Requests under way to it (a WebSocket until it ends). */
  readonly inFlight: number;
}

/** One pool as an operator sees it. */
export interface PoolReport {
  readonly name: string;
  /** Whether active health checks run. */
  readonly healthChecks: boolean;
  /** Idle backend connections kept for any client's next request. */
  readonly idleConnections: number;
  /** Idle connections handed to a later request since the pool was built. */
  readonly reusedConnections: number;
  readonly backends: readonly BackendReport[];
}

/** The report of pool `name` at time `now` (epoch ms). */
export function poolReport(name: string, entry: PoolEntry, now: number = Date.now()): PoolReport {
  const { pool, idle } = entry.runtime;
  const stats = idle?.stats();
  return {
    name,
    healthChecks: entry.checker !== undefined,
    idleConnections: stats?.idle ?? 0,
    reusedConnections: stats?.reused ?? 0,
    backends: pool.backends.map((b) => {
      const s = pool.state(b);
      const ejected = s.ejectedUntil > now;
      return {
        url: b.url,
        available: s.healthy && !ejected,
        healthy: s.healthy,
        ejectedUntil: ejected ? new Date(s.ejectedUntil).toISOString() : null,
        consecutiveFailures: s.failures,
        lastError: s.lastError,
        inFlight: s.inFlight,
      };
    }),
  };
}
