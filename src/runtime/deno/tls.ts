import type { Conn } from "../../core/conn.ts";
import type { DialOptions } from "../../core/runtime.ts";
import type { TlsCapability } from "../../core/tls.ts";
import { acceptNodeTls } from "../node-tls/accept.ts";
import type { ConnDuplexOptions } from "../node-tls/conn-duplex.ts";
import { connectNodeTls } from "../node-tls/connect.ts";
import { DefaultTrust } from "./default-trust.ts";
import { keyPairError } from "../node-tls/key-pair.ts";

/**
 * Deno's `node:tls` (a Rust TLSWrap over JS streams) copies in and out: every encrypted chunk
 * we feed it is copied by `readBuffer()`, every decrypted read and every encrypted write comes
 * in a fresh ArrayBuffer. So all three are freed once passed on instead of piling up for the
 * GC (~3 GiB of dead buffers for a 1 GiB decrypted download).
 */
const BUFFERS: ConnDuplexOptions = { freeBuffers: true };

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
export function denoTls(dial: (options: DialOptions) => Promise<Conn>, trust: DefaultTrust = new DefaultTrust()): TlsCapability {
  return {
    accept: (conn, options) => acceptNodeTls(conn, options, BUFFERS),
    connect: (options) => connectNodeTls(options, dial, BUFFERS, (extra) => trust.caFor(extra)),
    // the configured extra CAs go into Deno's default store once (default-trust.ts)
    prepareTrust: (extraCaPem) => trust.prepare(extraCaPem),
    keyPairError,
  };
}
