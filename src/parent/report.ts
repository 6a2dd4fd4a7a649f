/**
 * What the parent proxies look like now, for operators: whether each is in service or passed
 * over after it could not be reached (see `failover.ts`), until when, and why. Read by
 * `GET /parents` on the admin API and by the `tollgate_parent_up` metric.
 * @module
 */
import type { ParentProxy } from "./tunnel.ts";

/** One parent proxy as an operator sees it. */
export interface ParentReport {
  readonly name: string;
  /** `host:port`. */
  readonly address: string;
  /** The parent used instead while this one is passed over, or null. */
  readonly fallback: string | null;
  /** Whether `Proxy-Authorization` is sent to it. */
  readonly credentials: boolean;
  /** Taken by flows now: not passed over. */
  readonly inService: boolean;
  /** When it is tried again (ISO 8601) while passed over, else null. */
  readonly downUntil: string | null;
  /** Why it could not be reached the last time it could not (kept after it recovers), or null. */
  readonly lastError: string | null;
}

/** The report of every parent in `table`, in config order, at time `now` (epoch ms). */
export function parentReport(table: ReadonlyMap<string, ParentProxy>, now: number = Date.now()): ParentReport[] {
  return [...table.values()].map((p) => {
    const down = p.health.downUntil > now;
    return {
      name: p.name,
      address: p.authority,
      fallback: p.fallback ?? null,
      credentials: p.authorization !== undefined || p.credentials !== undefined, // HTTP or SOCKS5 sign-in
      inService: !down,
      downUntil: down ? new Date(p.health.downUntil).toISOString() : null,
      lastError: p.health.lastError,
    };
  });
}
