/**
 * DNS over TLS (RFC 7858) for `dns.transport: "tls"`: the connection the TCP exchange
 * (`tcp-exchange.ts`, the same length-prefixed framing) runs over.
 * @module
 */
import type { Runtime } from "../core/runtime.ts";
import type { DnsDial } from "./stream-pool.ts";
import { connectVerified } from "../core/verified-tls.ts";

/**
 * Opens DNS over TLS (RFC 7858) to a server: its certificate validated against the system
 * roots and `extraCaPem`, for its `#name` (also the SNI) or else its address.
 */
export function dnsOverTls(runtime: Pick<Runtime, "tls">, extraCaPem: readonly string[]): DnsDial {
  return (server, signal) => connectVerified(runtime.tls, server.address, server.port, server.tlsName ?? server.address, extraCaPem, signal);
}
