/**
 * A resolver that counts its lookups (`tollgate_dns_lookups_total{source,result}`) and times
 * them (`tollgate_dns_lookup_seconds`).
 * @module
 */
import { DnsError } from "../dns/error.ts";
import type { Resolver } from "../dns/types.ts";
import type { GatewayMetrics } from "./gateway-metrics.ts";

/** `inner` with every lookup counted by source and result, and timed. */
export function measuredResolver(inner: Resolver, metrics: Pick<GatewayMetrics, "dnsLookups" | "dnsLookupSeconds">): Resolver {
  return {
    async resolve(name, signal) {
      const started = performance.now();
      try {
        const r = await inner.resolve(name, signal);
        metrics.dnsLookups.labels(r.source, "ok").inc();
        return r;
      } catch (e) {
        metrics.dnsLookups.labels("none", e instanceof DnsError ? e.code : "error").inc();
        throw e;
      } finally {
        metrics.dnsLookupSeconds.observe((performance.now() - started) / 1000);
      }
    },
  };
}
