/**
 * The TLS floor on Deno: a minimal TLS-terminating relay (no Tollgate code) that decrypts the
 * client side and re-encrypts to the origin, like the decrypted path does.
 * `deno run -A deno-tls-relay.ts TARGET_PORT PKI_DIR native|loopback|node`; prints `port=N`.
 * `native` uses Deno.listenTls / Deno.startTls with one reused buffer per direction;
 * `loopback` the same behind a plain TCP hop into the TLS listener;
 * `node` uses node:tls (a TLSSocket over an accepted node:net socket, tls.connect upstream,
 * pipe() both ways): on Deno 2.9.6 it holds most of the body, because a paused TLS socket
 * over node:net reads on (deno-tls-paused-read.ts).
 */
import "./trace.ts";
import net from "node:net";
import tls from "node:tls";
import { readFileSync } from "node:fs";
// exit, not die, on SIGTERM (floor.ts stops relays so): buffered stdout, e.g. --trace-gc lines, is written out
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
const target = Number(Deno.args[0]);
const dir = Deno.args[1]!;
const mode = Deno.args[2] ?? "native";
const cert = readFileSync(`${dir}/server.pem`, "utf8");
const key = readFileSync(`${dir}/server.key`, "utf8");
const ca = readFileSync(`${dir}/ca.pem`, "utf8");

async function loop(src: Deno.Conn, dst: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(64 * 1024);
  for (;;) {
    const n = await src.read(buf).catch(() => null);
    if (n === null) break;
    for (let o = 0; o < n; ) o += await dst.write(buf.subarray(o, n));
  }
  await (dst as Deno.TlsConn).closeWrite().catch(() => {});
}

if (mode === "native" || mode === "loopback") {
  const listener = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert, key });
  if (mode === "native") console.error(`port=${listener.addr.port}`);
  else {
    // the client's bytes reach the TLS listener through a loopback hop, as a gateway would
    // have to do to use Deno's own server-side TLS on a connection it already accepted
    const outer = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    console.error(`port=${outer.addr.port}`);
    void (async () => {
      for await (const c of outer) {
        const inner = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
        void Promise.allSettled([loop(c, inner), loop(inner, c)]).then(() => { try { c.close(); } catch { /**/ } try { inner.close(); } catch { /**/ } });
      }
    })();
  }
  for await (const c of listener) {
    const tcp = await Deno.connect({ hostname: "127.0.0.1", port: target });
    const u = await Deno.startTls(tcp, { hostname: "origin.test", caCerts: [ca] });
    void Promise.allSettled([loop(c, u), loop(u, c)]).then(() => { try { c.close(); } catch { /**/ } try { u.close(); } catch { /**/ } });
  }
} else {
  const server = net.createServer((raw) => {
    const c = new tls.TLSSocket(raw, { isServer: true, cert, key });
    const u = tls.connect({ host: "127.0.0.1", port: target, servername: "origin.test", ca: [ca] });
    c.pipe(u);
    u.pipe(c);
    const end = () => { c.destroy(); u.destroy(); };
    c.on("error", end);
    u.on("error", end);
  });
  server.listen(0, "127.0.0.1", () => console.error(`port=${(server.address() as net.AddressInfo).port}`));
}
