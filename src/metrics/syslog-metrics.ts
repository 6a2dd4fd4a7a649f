/**
 * Metrics of the flow log's syslog output (`log.syslog`).
 * @module
 */
import type { Counter } from "./counter.ts";
import type { Gauge } from "./gauge.ts";
import type { Registry } from "./registry.ts";

export interface SyslogMetrics {
  /** `tollgate_syslog_messages_total{collector,result}`: records sent to the collector ("sent") or lost ("dropped": queue full, collector unreachable at shutdown, a UDP send that failed). */
  readonly messages: Counter<readonly ["collector", "result"]>;
  /** `tollgate_syslog_connected{collector}`: 1 while the TCP or TLS connection to the collector in force is up, 0 while it is down. */
  readonly connected: Gauge<readonly ["collector"]>;
  /**
   * The output in force for each collector, which alone sets its `connected` series: one a
   * reload replaced may still be sending what it held to the same collector.
   */
  readonly inForce: Map<string, object>;
}

export function createSyslogMetrics(registry: Registry): SyslogMetrics {
  return {
    messages: registry.counter({
      name: "tollgate_syslog_messages_total",
      help: "Flow and request records sent to the syslog collector (sent) or lost (dropped).",
      labelNames: ["collector", "result"],
    }),
    connected: registry.gauge({
      name: "tollgate_syslog_connected",
      help: "1 while the TCP or TLS connection to the syslog collector is up.",
      labelNames: ["collector"],
    }),
    inForce: new Map(),
  };
}
