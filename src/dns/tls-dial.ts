/**
 * DNS over TLS (RFC 7858) for `dns.transport: "tls"`: the connection the TCP exchange
 * (`tcp-exchange.ts`, the same length-prefixed framing) runs over.
 * @module
 */
import type { Runtime } from "../core/runtime.ts";
import type { DnsDial } from "./stream-pool.ts";

/**
 * Opens DNS over TLS (RFC 7858) to a server: its certificate validated against the system
 * roots and `extraCaPem`, for its `#name` (also the SNI) or else its address.
 */
export function dnsOverTls(runtime: Pick<Runtime, "tls">, extraCaPem: readonly string[]): DnsDial {
  return async (server, signal) => {
    const session = await runtime.tls.connect({
      address: server.address,
      port: server.port,
      servername: server.tlsName ?? server.address,
      verify: true,
      alpn: [],
      minVersion: "TLSv1.2",
      signal,
      ...(extraCaPem.length > 0 ? { extraCaPem } : {}),
    });
    return session.conn;
  };
}
