/** The floor: a minimal Bun TCP relay (no Tollgate code). `bun bun-relay.ts TARGET_PORT`; prints `port=N`. */
/// <reference types="bun-types" />
import type { Socket } from "bun";
type S = Socket<{ peer?: S; out?: Uint8Array; early: Uint8Array[] }>;
const target = Number(process.argv[2]);
// experiment: MEMEXP_GC=eden|full|bun and MEMEXP_GC_MIB=N collect every N MiB received
const gcMode = process.env["MEMEXP_GC"];
const gcEvery = Number(process.env["MEMEXP_GC_MIB"] ?? "4") * 2 ** 20;
const jsc = gcMode ? await import("bun:jsc") : undefined;
// experiment: MEMEXP_BALLAST=N keeps N small live objects (a heap the size of a real app's)
const ballast = Array.from({ length: Number(process.env["MEMEXP_BALLAST"] ?? "0") }, (_, i) => ({ i, s: `item ${i}`, a: [i, i + 1] }));
(globalThis as Record<string, unknown>)["ballast"] = ballast;
let sinceGc = 0, events = 0, bytes = 0;
const collect = (n: number) => {
  events++; bytes += n;
  if (!jsc || (sinceGc += n) < gcEvery) return;
  sinceGc = 0;
  if (gcMode === "eden") jsc.edenGC(); else if (gcMode === "full") jsc.fullGC(); else Bun.gc(false);
};
process.on("SIGTERM", () => { console.error(`events=${events} bytes=${bytes} avg=${(bytes / Math.max(events, 1)).toFixed(0)} detachedWhole=${whole}`); process.exit(0); });
// write with backpressure: keep the unwritten rest, pause the source until `drain`
// experiment: MEMEXP_DETACH=1 frees a received buffer as soon as it is fully written
const detach = process.env["MEMEXP_DETACH"] === "1";
let whole = 0;
const send = (dst: S, src: S, d: Uint8Array) => {
  const n = dst.write(d);
  if (n < d.byteLength) { dst.data.out = d.subarray(Math.max(n, 0)); src.pause(); }
  else if (detach && d.buffer.byteLength >= 65536) { whole += d.byteOffset === 0 && d.byteLength === d.buffer.byteLength ? 1 : 0; (d.buffer as ArrayBuffer & { transfer(n: number): ArrayBuffer }).transfer(0); }
};
const drain = (s: S) => {
  const out = s.data.out, peer = s.data.peer;
  if (!out || !peer) return;
  s.data.out = undefined;
  send(s, peer, out);
  if (!s.data.out) peer.resume();
};
const h = {
  data: (s: S, d: Uint8Array) => {
    collect(d.byteLength);
    if (s.data.peer) send(s.data.peer, s, d);
    else s.data.early.push(d);
  },
  drain, end: (s: S) => void s.data.peer?.end(), close: (s: S) => void s.data.peer?.end(), error: () => {},
};
const server = Bun.listen<S["data"]>({ hostname: "127.0.0.1", port: 0, allowHalfOpen: true, socket: {
  ...h,
  open(c: S) {
    c.data = { early: [] };
    void Bun.connect<S["data"]>({ hostname: "127.0.0.1", port: target, allowHalfOpen: true, socket: { ...h, open(u: S) {
      u.data = { peer: c, early: [] }; c.data.peer = u;
      for (const d of c.data.early) send(u, c, d);
    } } });
  },
} });
console.error(`port=${server.port}`);
