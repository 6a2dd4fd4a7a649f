/** The floor: a minimal Deno TCP relay (no Tollgate code). `deno run -A deno-relay.ts TARGET_PORT [pipe|loop]`; prints `port=N`. */
import "./trace.ts";
// exit, not die, on SIGTERM (floor.ts stops relays so): buffered stdout, e.g. --trace-gc lines, is written out
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
const target = Number(Deno.args[0]);
const mode = Deno.args[1] ?? "pipe";
const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
console.error(`port=${listener.addr.port}`);
// read into one reused buffer, write it out, FIN on EOF: the least a relay can do
async function loop(src: Deno.TcpConn, dst: Deno.TcpConn): Promise<void> {
  const buf = new Uint8Array(64 * 1024);
  for (;;) {
    const n = await src.read(buf).catch(() => null);
    if (n === null) break;
    for (let o = 0; o < n; ) o += await dst.write(buf.subarray(o, n));
  }
  await dst.closeWrite().catch(() => {});
}
for await (const c of listener) {
  const u = await Deno.connect({ hostname: "127.0.0.1", port: target });
  if (mode === "loop") {
    void Promise.allSettled([loop(c, u), loop(u, c)]).then(() => { try { c.close(); } catch { /**/ } try { u.close(); } catch { /**/ } });
  } else {
    void Promise.allSettled([c.readable.pipeTo(u.writable), u.readable.pipeTo(c.writable)]);
  }
}
