import type { Conn } from "../../core/conn.ts";
import type { DialOptions } from "../../core/runtime.ts";
import type { TlsCapability } from "../../core/tls.ts";
import { acceptNodeTls } from "../node-tls/accept.ts";
import { connectNodeTls } from "../node-tls/connect.ts";

/**
 * TLS on Deno: `node:tls` for both sides, running over the adapter's own TCP conns.
 * `Deno.startTls` is client-only and gives no peer certificate; `node:tls` on its own
 * `node:net` sockets ignores `pause()` for reads (no backpressure), so both sides run
 * `node:tls` over `Deno.TcpConn`s wrapped as Duplexes whose reads we gate.
 *
 * @example
 * ```ts
 * const tls = denoTls(denoDial);
 * const session = await tls.connect({ address: "127.0.0.1", port: 8443, servername: "origin.test", verify: true, alpn: [], minVersion: "TLSv1.2" });
 * ```
 */
export function denoTls(dial: (options: DialOptions) => Promise<Conn>): TlsCapability {
  return {
    accept: acceptNodeTls,
    connect: (options) => connectNodeTls(options, dial),
  };
}
