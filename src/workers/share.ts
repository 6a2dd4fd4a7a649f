/**
 * What one of several gateway processes may hold. The kernel spreads new connections
 * between the processes sharing a port (SO_REUSEPORT, by a hash of the addresses), so
 * each process enforces its share of every concurrency limit: together they hold at most
 * the configured total, rounded up to a multiple of the process count. A process may
 * refuse a little early when the spread is uneven.
 *
 * @module
 */
import type { LimitsConfig } from "../config/config.ts";

/** The concurrency limits that are totals for the whole gateway. */
const SHARED = ["maxConnections", "maxConnectionsPerClient", "maxTunnels"] as const;

/** `limits` for one of `count` processes: each shared limit divided, rounded up, at least 1. */
export function shareOfLimits(limits: LimitsConfig, count: number): LimitsConfig {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`Invalid process count ${count}`);
  if (count === 1) return limits;
  const out = { ...limits };
  for (const key of SHARED) out[key] = Math.max(1, Math.ceil(limits[key] / count));
  return out;
}
