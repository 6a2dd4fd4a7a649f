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

/** The limits that are totals for the whole gateway (a connection rate too: its connections spread alike). */
const SHARED = ["maxConnections", "maxConnectionsPerClient", "maxTunnels", "connectionRatePerClient", "connectionBurstPerClient"] as const;

/**
 * `limits` for one of `count` processes: each shared limit divided, rounded up, at least 1
 * (a limit of 0, "none", stays 0).
 */
export function shareOfLimits(limits: LimitsConfig, count: number): LimitsConfig {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`Invalid process count ${count}`);
  if (count === 1) return limits;
  const out = { ...limits };
  for (const key of SHARED) out[key] = limits[key] === 0 ? 0 : Math.max(1, Math.ceil(limits[key] / count));
  return out;
}
