import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect as netConnect } from "node:net";
import type { Socket as NetSocket } from "node:net";
import type { Conn } from "../../src/core/conn.ts";
import { memoryConnPair } from "../../src/core/memory-conn.ts";
import type { Listener, Runtime, SpliceOptions, SpliceResult } from "../../src/core/runtime.ts";
import { spliceStreams } from "../../src/flows/splice.ts";
import { flood, pattern, readAll, sha } from "../helpers/bytes.ts";
import { currentRuntime } from "../helpers/runtime.ts";

type Splice = (a: Conn, b: Conn, options: SpliceOptions) => Promise<SpliceResult>;

const text = (s: string) => new TextEncoder().encode(s);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits (up to 5 s) until `fn` holds. */
async function until(fn: () => boolean, what = "condition"): Promise<void> {
  for (const end = Date.now() + 5000; !fn(); await sleep(5)) if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
}

/** A node:net client, so that a test can reset (RST) its connection on every runtime. */
function netClient(port: number): Promise<NetSocket> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ host: "127.0.0.1", port }, () => resolve(s));
    s.once("error", reject);
  });
}

/**
 * Both relays over real sockets: the portable one over Web Streams, and the runtime's own
 * (`Runtime.splice`, Bun's native handlers) where the adapter has one.
 */
for (const which of ["portable spliceStreams", "the runtime's splice"] as const) {
  describe(`splice over TCP: ${which}`, { timeout: 60_000 }, () => {
    let rt: Runtime;
    let splice: Splice | undefined;
    const listeners: Listener[] = [];
    before(async () => {
      rt = await currentRuntime();
      splice = which === "portable spliceStreams" ? spliceStreams : rt.splice?.bind(rt);
    });
    after(async () => {
      for (const l of listeners) await l.close();
    });

    /** Skips a test where this runtime has no splice of its own (then the portable one is it). */
    const need = (t: { skip: (m: string) => void }): Splice | undefined => {
      if (!splice) t.skip("this adapter has no splice of its own");
      return splice;
    };

    /** origin ← relay ← client: the relay dials the origin for each client and splices them. */
    async function relayTo(
      origin: Listener,
      run: Splice,
      options: Partial<SpliceOptions> = {},
      prepare?: (client: Conn) => Promise<Uint8Array | undefined>,
    ): Promise<{ port: number; results: Promise<SpliceResult>[] }> {
      const results: Promise<SpliceResult>[] = [];
      const relay = await rt.listen({ hostname: "127.0.0.1", port: 0 }, (client) => {
        results.push((async () => {
          const headA = prepare ? await prepare(client) : undefined;
          const up = await rt.dial({ address: "127.0.0.1", port: origin.address.port });
          return run(client, up, { idleTimeoutMs: 10_000, names: ["client", "upstream"], ...(headA ? { headA } : {}), ...options });
        })());
      });
      listeners.push(relay);
      return { port: relay.address.port, results };
    }

    async function listen(onConn: (c: Conn) => void): Promise<Listener> {
      const l = await rt.listen({ hostname: "127.0.0.1", port: 0 }, onConn);
      listeners.push(l);
      return l;
    }

    it("relays 32 MiB byte-identical both ways with half-close", async (t) => {
      const run = need(t);
      if (!run) return;
      const payload = pattern(32 * 1024 * 1024);
      const upload = pattern(3 * 1024 * 1024 + 7);
      let originGot = "";
      const origin = await listen((conn) => {
        (async () => {
          const w = conn.writable.getWriter();
          const writing = (async () => {
            for (let o = 0; o < payload.byteLength; o += 1 << 20) await w.write(payload.subarray(o, o + (1 << 20)));
            await w.close();
          })();
          originGot = await sha(await readAll(conn));
          await writing;
        })();
      });
      const relay = await relayTo(origin, run);
      const c = await rt.dial({ address: "127.0.0.1", port: relay.port });
      const w = c.writable.getWriter();
      const sending = (async () => {
        await w.write(upload);
        await w.close();
      })();
      const got = await readAll(c);
      await sending;
      assert.equal(await sha(got), await sha(payload));
      const r = await relay.results[0]!;
      assert.deepEqual(r, { bytesAtoB: upload.byteLength, bytesBtoA: payload.byteLength, end: "eof" });
      assert.equal(originGot, await sha(upload));
    });

    it("counts into `progress` as bytes move, the head included, before the relay ends", async (t) => {
      const run = need(t);
      if (!run) return;
      let accepted!: (c: Conn) => void;
      const originConn = new Promise<Conn>((r) => (accepted = r));
      const origin = await listen((conn) => accepted(conn));
      const progress = { bytesAtoB: 0, bytesBtoA: 0 };
      const relay = await relayTo(origin, run, { progress }, () => Promise.resolve(text("head:")));
      const c = await rt.dial({ address: "127.0.0.1", port: relay.port });
      const w = c.writable.getWriter();
      await w.write(text("12345"));
      await until(() => progress.bytesAtoB === 10, "the client's bytes and the head counted");
      const ow = (await originConn).writable.getWriter();
      await ow.write(text("abcdefg"));
      const reader = c.readable.getReader();
      let got = "";
      while (got.length < 7) got += new TextDecoder().decode((await reader.read()).value);
      assert.equal(got, "abcdefg");
      assert.deepEqual(progress, { bytesAtoB: 10, bytesBtoA: 7 }, "counted while the relay runs");
      await ow.close();
      await w.close();
      assert.deepEqual(await relay.results[0]!, { bytesAtoB: 10, bytesBtoA: 7, end: "eof" });
    });

    it("applies backpressure: a client that does not read stalls the origin", async (t) => {
      const run = need(t);
      if (!run) return;
      const total = 128 * 1024 * 1024;
      let written = 0;
      const origin = await listen((conn) => void flood(conn, total, (n) => (written = n)));
      const relay = await relayTo(origin, run);
      const c = await rt.dial({ address: "127.0.0.1", port: relay.port });
      const reader = c.readable.getReader();
      const first = await reader.read(); // start the flow, then stop reading
      assert.ok(!first.done);
      await sleep(700);
      const stalledAt = written;
      // kernel socket buffers (a few MiB per hop) plus small queues: far from 128 MiB
      assert.ok(stalledAt < 48 * 1024 * 1024, `origin wrote ${stalledAt} bytes into a stalled relay`);
      let n = first.value!.byteLength;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        n += value.byteLength;
      }
      assert.equal(n, total);
      await c.writable.close(); // our FIN ends the other direction; the relay then finishes
      assert.equal((await relay.results[0]!).end, "eof");
    });

    it("sends the head, then what was queued before the relay, in order, and a FIN that came early", async (t) => {
      const run = need(t);
      if (!run) return;
      let originGot = "";
      const origin = await listen((conn) => {
        void readAll(conn).then(async (b) => {
          originGot = new TextDecoder().decode(b);
          await conn.writable.close();
        });
      });
      // like a CONNECT: read the first chunk, keep its tail as the head, let more bytes and the FIN queue up
      const relay = await relayTo(origin, run, {}, async (client) => {
        const reader = client.readable.getReader();
        const first = await reader.read();
        reader.releaseLock();
        await sleep(150);
        return first.value!.subarray(first.value!.indexOf(0x7c) + 1); // after "|"
      });
      const c = await netClient(relay.port);
      c.write("CONNECT|one,");
      await sleep(50);
      c.write("two,");
      c.end("three");
      const back: Buffer[] = [];
      c.on("data", (d: Buffer) => back.push(d));
      await new Promise((r) => c.once("close", r));
      assert.equal(originGot, "one,two,three");
      const r = await relay.results[0]!;
      assert.deepEqual(r, { bytesAtoB: 13, bytesBtoA: 0, end: "eof" });
    });

    it("ends with client-reset when the client resets, and closes the origin side", async (t) => {
      const run = need(t);
      if (!run) return;
      let originClosed!: () => void;
      const originDone = new Promise<void>((r) => (originClosed = r));
      const origin = await listen((conn) => {
        void readAll(conn).catch(() => new Uint8Array()).finally(originClosed);
      });
      const relay = await relayTo(origin, run);
      const c = await netClient(relay.port);
      c.write("hello");
      await sleep(100);
      c.resetAndDestroy();
      const r = await relay.results[0]!;
      assert.equal(r.end, "client-reset", JSON.stringify(r));
      assert.equal(r.bytesAtoB, 5);
      await originDone;
    });

    it("is not failed by an error on a side after its FIN when nothing waits to be written to it", async (t) => {
      const run = need(t);
      if (!run) return;
      const origin = await listen((conn) => {
        (async () => {
          await readAll(conn); // the client's FIN
          await sleep(100); // the client has closed its socket by now
          const w = conn.writable.getWriter();
          await w.write(text("late")); // the client's kernel answers with RST
          await sleep(100);
          await w.close();
        })();
      });
      const relay = await relayTo(origin, run);
      const c = await netClient(relay.port);
      c.on("error", () => {});
      const closed = new Promise((r) => c.once("close", r));
      c.end("bye");
      await sleep(50);
      c.destroy(); // both directions closed before the origin answers
      await closed;
      assert.deepEqual(await relay.results[0]!, { bytesAtoB: 3, bytesBtoA: 4, end: "eof" });
    });

    it("closes both sides after the idle timeout", async (t) => {
      const run = need(t);
      if (!run) return;
      const origin = await listen(() => {}); // accepts and says nothing
      const relay = await relayTo(origin, run, { idleTimeoutMs: 200 });
      const c = await rt.dial({ address: "127.0.0.1", port: relay.port });
      const w = c.writable.getWriter();
      await w.write(text("x"));
      const started = Date.now();
      const r = await relay.results[0]!;
      assert.equal(r.end, "idle");
      assert.ok(Date.now() - started < 5_000);
      await readAll(c).catch(() => new Uint8Array()); // the client's side ends too
    });

    it("closes both sides on abort", async (t) => {
      const run = need(t);
      if (!run) return;
      const origin = await listen(() => {});
      const abort = new AbortController();
      const relay = await relayTo(origin, run, { signal: abort.signal });
      const c = await rt.dial({ address: "127.0.0.1", port: relay.port });
      await sleep(100);
      abort.abort();
      assert.equal((await relay.results[0]!).end, "aborted");
      await readAll(c).catch(() => new Uint8Array());
    });

    it("ends when the relay's owner closes one side meanwhile (as a revoked flow does), closing the other", async (t) => {
      const run = need(t);
      if (!run) return;
      let originEnded!: () => void;
      const originSawEnd = new Promise<void>((r) => (originEnded = r));
      const origin = await listen((conn) => void readAll(conn).catch(() => undefined).then(() => originEnded()));
      let clientSide!: Conn;
      const relay = await relayTo(origin, run, {}, (client) => {
        clientSide = client;
        return Promise.resolve(undefined);
      });
      const c = await rt.dial({ address: "127.0.0.1", port: relay.port });
      await sleep(100);
      clientSide.close();
      const started = Date.now();
      const r = await relay.results[0]!;
      assert.ok(Date.now() - started < 2_000);
      assert.notEqual(r.end, "eof");
      await originSawEnd;
      await readAll(c).catch(() => new Uint8Array());
    });

    it("passes the origin's early close on and finishes when the client ends too", async (t) => {
      const run = need(t);
      if (!run) return;
      const origin = await listen((conn) => {
        (async () => {
          const w = conn.writable.getWriter();
          await w.write(text("bye"));
          await w.close(); // half-close: still reads
          await readAll(conn);
        })();
      });
      const relay = await relayTo(origin, run);
      const c = await rt.dial({ address: "127.0.0.1", port: relay.port });
      assert.equal(new TextDecoder().decode(await readAll(c)), "bye");
      const w = c.writable.getWriter();
      await w.write(text("after the origin's FIN"));
      await w.close();
      assert.deepEqual(await relay.results[0]!, { bytesAtoB: 22, bytesBtoA: 3, end: "eof" });
    });
  });
}

describe("the runtime's splice with Conns that are not its sockets", () => {
  it("relays between in-memory Conns (falling back to the portable relay)", async () => {
    const rt = await currentRuntime();
    const run = rt.splice?.bind(rt) ?? spliceStreams;
    const [client, relayA] = memoryConnPair();
    const [relayB, origin] = memoryConnPair();
    const result = run(relayA, relayB, { idleTimeoutMs: 5_000, headA: text("head,") });
    const cw = client.writable.getWriter();
    await cw.write(text("body"));
    await cw.close();
    assert.equal(new TextDecoder().decode(await readAll(origin)), "head,body");
    await origin.writable.close();
    assert.equal((await readAll(client)).byteLength, 0);
    assert.deepEqual(await result, { bytesAtoB: 9, bytesBtoA: 0, end: "eof" });
  });
});
