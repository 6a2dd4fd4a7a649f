/**
 * The glue that updates the gateway's per-connection metrics from the canonical flow
 * records, so flows only write their record; and the config-reload gauges.
 *
 * @module
 */
import type { FlowLog, FlowRecord, RequestRecord } from "../log/flow-record.ts";
import { flowErrorKind } from "./flow-error-kind.ts";
import type { GatewayMetrics } from "./gateway-metrics.ts";

/** The `status` label of `tollgate_http_requests_total` for a status code. */
export function statusClass(status: number | null): string {
  if (status === null) return "none";
  if (!Number.isInteger(status) || status < 100 || status > 599) return "other";
  return `${Math.floor(status / 100)}xx`;
}

/**
 * Updates the per-connection metrics from a finished flow: connections, bytes, errors, and
 * (for plain proxied HTTP, `kind` "http") requests. Decrypted and reverse-proxy requests are
 * counted from their own records by {@linkcode observeRequest}, not from the connection's
 * `requests` count.
 */
export function observeFlow(metrics: GatewayMetrics, record: FlowRecord): void {
  const { listener, mode } = record;
  metrics.connections.labels(listener, mode, record.decision ?? "none").inc();
  if (record.bytesUp > 0) metrics.bytes.labels(listener, "up").inc(record.bytesUp);
  if (record.bytesDown > 0) metrics.bytes.labels(listener, "down").inc(record.bytesDown);
  // a reverse connection's requests each have a request line, counted by observeRequest
  if (record.kind === "http" && record.requests > 0 && mode !== "reverse") {
    metrics.httpRequests.labels(listener, mode, statusClass(record.status)).inc(record.requests);
    observeTimes(metrics, listener, mode, record.durationMs, record.headerMs);
  }
  if (record.end === "revoked") metrics.connectionsRevoked.labels(listener, mode).inc();
  const kind = flowErrorKind(record);
  if (kind !== null) metrics.errors.labels(kind).inc();
}

/** Counts one decrypted HTTP request from its record. */
export function observeRequest(metrics: GatewayMetrics, record: RequestRecord): void {
  metrics.httpRequests.labels(record.listener, record.mode, statusClass(record.status)).inc();
  observeTimes(metrics, record.listener, record.mode, record.durationMs, record.headerMs);
}

function observeTimes(metrics: GatewayMetrics, listener: string, mode: string, durationMs: number, headerMs: number | null): void {
  metrics.httpRequestSeconds.labels(listener, mode).observe(durationMs / 1000);
  if (headerMs !== null) metrics.httpUpstreamHeaderSeconds.labels(listener, mode).observe(headerMs / 1000);
}

/** Updates the metrics from any record a flow writes. */
export function observeRecord(metrics: GatewayMetrics, record: FlowRecord | RequestRecord): void {
  if (record.type === "flow") observeFlow(metrics, record);
  else observeRequest(metrics, record);
}

/**
 * Records a configuration load or reload attempt: the success flag and time always, the
 * generation when it succeeded.
 */
export function observeConfigReload(metrics: GatewayMetrics, ok: boolean, generation?: number, nowMs: number = Date.now()): void {
  metrics.configLastReloadSuccess.set(ok ? 1 : 0);
  metrics.configLastReloadTimestamp.set(nowMs / 1000);
  if (ok && generation !== undefined) metrics.configGeneration.set(generation);
}

/**
 * A flow log that updates `metrics` from every record, then passes it on to `next`.
 * A metrics failure (e.g. a label limit) never stops the record from being logged.
 */
export function metricsFlowLog(metrics: GatewayMetrics, next?: FlowLog): FlowLog {
  return {
    write(record) {
      try {
        observeRecord(metrics, record);
      } catch {
        // metrics are best effort; the log line matters more
      }
      next?.write(record);
    },
  };
}
