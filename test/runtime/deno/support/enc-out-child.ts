/**
 * Run by tls.test.ts in a fresh Deno process: does one side of the Deno TLS adapter (`accept`
 * or `connect`), alone, make the TLS layer hand over its own encrypted buffers (enc-out.ts)?
 * The other side is a plain `node:tls` peer that never calls the adapter. enc-out.ts patches
 * one prototype for the whole process, so only a process where one call site ran can tell
 * which one did. Prints one JSON line: `{ written, copies, freed, intact }` for the encrypted
 * chunks the adapter's side wrote to its TCP connection.
 *
 *   deno run -A enc-out-child.ts accept|connect <pki dir>
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { connect, createServer } from "node:tls";
import type { Conn } from "../../../../src/core/conn.ts";
import { markReceived } from "../../../../src/core/received-chunk.ts";
import { DenoTcpConn } from "../../../../src/runtime/deno/tcp-conn.ts";
import { denoTls } from "../../../../src/runtime/deno/tls.ts";
import { spy } from "./conn-spy.ts";
import { spyOnDrainEncOut } from "./drain-spy.ts";

const [side, dir] = Deno.args;
if ((side !== "accept" && side !== "connect") || !dir) throw new Error("usage: enc-out-child.ts accept|connect <pki dir>");
const cert = readFileSync(`${dir}/server.pem`, "utf8");
const key = readFileSync(`${dir}/server.key`, "utf8");
const ca = readFileSync(`${dir}/ca.pem`, "utf8");
const SIZE = 2 * 1024 * 1024 + 3;

// record every buffer the TLS layer drains, before anything can wrap drainEncOut
const { drained } = spyOnDrainEncOut();
// a hung transfer must not hang the test: give up with an error after 15 s
const watchdog = setTimeout(() => {
  console.error("enc-out-child: no result after 15 s");
  Deno.exit(2);
}, 15_000);

/** Writes SIZE bytes to `conn` in 64 KiB chunks marked as received (as a Conn hands them out), then closes it. */
async function send(conn: Conn): Promise<void> {
  const w = conn.writable.getWriter();
  for (let o = 0; o < SIZE; o += 65536) await w.write(markReceived(new Uint8Array(Math.min(65536, SIZE - o)).fill(7)));
  await w.close();
}

let written: Uint8Array[] = [];
let received = 0;
const tls = denoTls(async (o) => {
  const s = spy(new DenoTcpConn(await Deno.connect({ hostname: o.address, port: o.port })));
  written = s.written;
  return s.conn;
});
if (side === "accept") {
  // the adapter serves and sends; a plain node:tls client reads
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    const tcp = spy(new DenoTcpConn((await listener.accept()) as Deno.TcpConn));
    written = tcp.written;
    const session = await tls.accept(tcp.conn, { certChainPem: cert, keyPem: key, alpn: [], minVersion: "TLSv1.2" });
    await send(session.conn);
  })();
  await new Promise<void>((resolve, reject) => {
    const c = connect({ host: "127.0.0.1", port: listener.addr.port, servername: "origin.test", ca });
    c.on("data", (d: Uint8Array) => (received += d.byteLength));
    c.on("end", () => (c.end(), resolve()));
    c.on("error", reject);
  });
  await serving;
  listener.close();
} else {
  // a plain node:tls server reads; the adapter connects and sends
  const server = createServer({ cert, key }, (s) => {
    s.on("data", (d: Uint8Array) => (received += d.byteLength));
    s.on("end", () => s.end());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  const session = await tls.connect({ address: "127.0.0.1", port, servername: "origin.test", extraCaPem: [ca], verify: true, alpn: [], minVersion: "TLSv1.2" });
  await send(session.conn);
  for await (const _ of session.conn.readable) { /* until the server's FIN */ }
  session.conn.close();
  await new Promise<void>((r) => server.close(() => r()));
}
clearTimeout(watchdog);
console.log(JSON.stringify({
  written: written.length,
  copies: written.filter((c) => !drained.has(c.buffer)).length,
  freed: written.filter((c) => c.byteLength === 0).length,
  intact: received === SIZE,
}));
Deno.exit(0); // the result is out: a handle left open must not keep the test waiting
