import { lookup as dnsLookup } from "node:dns/promises";
import { refusingInvalidAlpn } from "../../core/alpn.ts";
import type { Conn } from "../../core/conn.ts";
import type { DialOptions, Listener, ListenOptions, Runtime } from "../../core/runtime.ts";
import { openNodeDatagram } from "../node-dgram/datagram-socket.ts";
import { settleFlushes } from "../flushing.ts";
import { processStats } from "../process-stats.ts";
import { DenoTcpConn } from "./tcp-conn.ts";
import { denoTls } from "./tls.ts";
import { serveHttpDeno } from "./serve-http.ts";

/** TCP to an IP address, as a `Conn`. */
async function dial(options: DialOptions): Promise<Conn> {
  options.signal?.throwIfAborted();
  const c = await Deno.connect({ hostname: options.address, port: options.port, transport: "tcp", signal: options.signal });
  c.setNoDelay(true);
  return new DenoTcpConn(c);
}

/** `Deno.listen`; `reusePort` is an unstable option there (deno.json enables "net"). */
function listenTcp(options: ListenOptions): Deno.TcpListener {
  if (!options.reusePort) return Deno.listen({ hostname: options.hostname, port: options.port, transport: "tcp" });
  try {
    return Deno.listen({ hostname: options.hostname, port: options.port, transport: "tcp", reusePort: true } as Deno.TcpListenOptions);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (/unstable/i.test(message)) {
      throw new Error("several worker processes need Deno's --unstable-net flag (the project's deno.json sets it)");
    }
    throw e;
  }
}

/** The Deno adapter: `Deno.listen` / `Deno.connect` behind the core's `Conn`. */
export const denoRuntime: Runtime = {
  name: "deno",
  version: Deno.version.deno,
  tls: refusingInvalidAlpn(denoTls(dial)),
  // closed sessions' last bytes still on their way: through the loopback hops of Deno's own
  // TLS (deno.ownTls), or out of node:tls sessions ended in order
  settle: settleFlushes,
  process: processStats,
  openDatagram: openNodeDatagram,

  listen(options: ListenOptions, onConn: (conn: Conn) => void): Promise<Listener> {
    const listener = listenTcp(options);
    const done = (async () => {
      for (;;) {
        let c: Deno.TcpConn;
        try {
          c = await listener.accept();
        } catch (e) {
          if (e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted) return;
          // transient accept errors (EMFILE…): back off briefly, keep serving
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        try {
          c.setNoDelay(true);
        } catch {
          // not fatal
        }
        onConn(new DenoTcpConn(c));
      }
    })();
    const addr = listener.addr;
    return Promise.resolve({
      address: { address: addr.hostname, port: addr.port },
      close: async () => {
        try {
          listener.close();
        } catch {
          // already closed
        }
        await done;
      },
    });
  },

  dial,

  serveHttp(options, fetch): Promise<Listener> {
    return serveHttpDeno(options, fetch);
  },

  async lookup(name: string): Promise<string[]> {
    const records = await dnsLookup(name, { all: true, order: "ipv4first" });
    return records.map((r) => r.address);
  },
};
