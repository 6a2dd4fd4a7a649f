import type { Conn } from "../../core/conn.ts";
import type { DialOptions } from "../../core/runtime.ts";
import type { TlsCapability, TlsConnectOptions } from "../../core/tls.ts";
import { connectNativeTls, nativeConnectFits, refusedLately } from "./native-connect.ts";
import { acceptLoopbackTls } from "./loopback-tls.ts";
import { acceptNodeTls } from "../node-tls/accept.ts";
import type { ConnDuplexOptions } from "../node-tls/conn-duplex.ts";
import { connectNodeTls } from "../node-tls/connect.ts";
import { DefaultTrust } from "./default-trust.ts";
import { shareEncryptedOutput } from "./enc-out.ts";
import { keyPairError } from "../node-tls/key-pair.ts";

/**
 * Deno's `node:tls` (a Rust TLSWrap over JS streams) copies in and out: every encrypted chunk
 * we feed it is copied by `readBuffer()`, every decrypted read and every encrypted write comes
 * in a fresh ArrayBuffer. So all three are freed once passed on instead of piling up for the
 * GC (~3 GiB of dead buffers for a 1 GiB decrypted download). Its encrypted writes are copies
 * of fresh buffers, which then waited for the GC in turn: enc-out.ts has it write the buffers
 * themselves.
 */
const BUFFERS: ConnDuplexOptions = { freeBuffers: true, sendOwnBuffers: shareEncryptedOutput };

/**
 * TLS on Deno: `node:tls` over the adapter's own TCP conns wrapped as Duplexes whose reads we
 * gate (`node:tls` on its own `node:net` sockets ignores `pause()` for reads: no backpressure).
 *
 * With `preferOwnTls(true)` (config `deno.ownTls`), plain handshakes run on Deno's own TLS
 * (rustls, no JavaScript TLS layer) instead, each through a loopback hop: the server side for
 * a client whose ClientHello it can answer as `node:tls` would (loopback-tls.ts), the client
 * side for a validated upstream dialled directly (native-connect.ts). It was built when
 * Deno's `node:tls` raised RSS by ~55 MiB on a first 1 GiB decrypted body (~14 this way).
 * Since enc-out.ts removed the cause, `node:tls` is at ~14 too, so the hops now only cost:
 * ~90 KiB more per idle decrypted connection, more CPU per byte and per request, and four
 * more descriptors per decrypted connection (docs/hardening-measurements.md).
 *
 * @example
 * ```ts
 * const tls = denoTls(denoDial);
 * const session = await tls.connect({ address: "127.0.0.1", port: 8443, servername: "origin.test", verify: true, alpn: [], minVersion: "TLSv1.2" });
 * ```
 */
export function denoTls(dial: (options: DialOptions) => Promise<Conn>, trust: DefaultTrust = new DefaultTrust()): TlsCapability {
  // off by default: Deno's own TLS costs more per idle connection and per byte (module comment)
  let own = false;
  return {
    preferOwnTls: (on) => void (own = on),
    accept: async (conn, options) => {
      if (!own) return acceptNodeTls(conn, options, BUFFERS);
      const loopback = await acceptLoopbackTls(conn, options);
      return loopback.session ?? acceptNodeTls(conn, { ...options, initialData: loopback.initialData }, BUFFERS);
    },
    connect: async (options) => {
      const node = (o: TlsConnectOptions) => connectNodeTls(o, dial, BUFFERS, (extra) => trust.caFor(extra));
      // Deno's own TLS adds its CAs to the default store, which may hold a CA a reload dropped
      if (!own || !nativeConnectFits(options) || !trust.storeWithin(options.extraCaPem) || refusedLately(options)) return node(options);
      options.signal?.throwIfAborted();
      const conn = await dial({ address: options.address, port: options.port, signal: options.signal });
      const native = await connectNativeTls(conn, options);
      if (native === "untouched") return node({ ...options, over: conn });
      // a refused handshake again on node:tls, for its reason in full (native-connect.ts)
      return native === "failed" ? node(options) : native;
    },
    // the configured extra CAs go into Deno's default store once (default-trust.ts)
    prepareTrust: (extraCaPem) => trust.prepare(extraCaPem),
    keyPairError,
  };
}
