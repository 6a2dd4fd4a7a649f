/**
 * The default health probe: `GET <path>` on a fresh connection to the backend (TLS as the
 * pool's requests use it, after a LOCAL PROXY protocol header when the pool sends those),
 * healthy on a 2xx or 3xx status. Only the response head is read.
 * @module
 */
import { ConnReader } from "../flows/conn-reader.ts";
import { readHead } from "../flows/read-head.ts";
import { parseResponseHead } from "../protocol/http-response-head.ts";
import { serializeRequestHead } from "../protocol/http-serialize.ts";
import { proxyHeader, type ProxyProtocolVersion } from "../protocol/proxy-header-write.ts";
import type { HealthCheckConfig } from "./config-types.ts";
import { type BackendTlsSettings, type DialDeps, dialBackend } from "./dial.ts";
import type { Probe } from "./health.ts";

/** A probe for `check` on a pool with `tls` settings (and `proxyProtocol`, if any). */
export function httpProbe(
  deps: DialDeps,
  check: Pick<HealthCheckConfig, "path" | "host" | "timeoutMs">,
  tls: BackendTlsSettings | undefined,
  proxyProtocol?: ProxyProtocolVersion,
): Probe {
  // the check is the gateway's own connection: LOCAL, not a client's addresses
  const options = proxyProtocol ? { preamble: proxyHeader(proxyProtocol, { command: "local" }) } : {};
  return async (backend, signal) => {
    const { conn } = await dialBackend(deps, backend, tls, check.timeoutMs, signal, options);
    const onAbort = () => conn.close();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      const w = conn.writable.getWriter();
      await w.write(serializeRequestHead({
        method: "GET",
        target: check.path,
        version: "HTTP/1.1",
        headers: [["Host", check.host ?? backend.authority], ["User-Agent", "tollgate-health-check"], ["Connection", "close"]],
      }));
      w.releaseLock();
      const reader = new ConnReader(conn);
      const head = await readHead(reader, { kind: "response", maxHeadBytes: 16384, headTimeoutMs: check.timeoutMs, firstByteTimeoutMs: check.timeoutMs });
      if (!head) throw new Error("Backend closed the connection without answering the health check");
      const res = parseResponseHead(head, { maxHeadBytes: 16384, maxHeaders: 100 });
      if (res.status >= 200 && res.status < 400) return true;
      throw new Error(`Health check answered ${res.status}`);
    } finally {
      signal.removeEventListener("abort", onAbort);
      conn.close();
    }
  };
}
