import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MemoryConnError, memoryConnPair } from "../../src/core/memory-conn.ts";
import { readAll } from "../helpers/bytes.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Lets every pending microtask and one macrotask run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Whether `p` has settled after the event loop had a chance to run. */
async function isSettled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await settle();
  return done;
}


async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  assert.fail("expected a rejection");
}

function codeOf(e: unknown): string | undefined {
  return e instanceof MemoryConnError ? e.code : undefined;
}

describe("memoryConnPair", () => {
  it("carries bytes both ways", async () => {
    const [a, b] = memoryConnPair();
    const aw = a.writable.getWriter();
    const bw = b.writable.getWriter();
    await aw.write(enc.encode("hello "));
    await aw.write(enc.encode("world"));
    await aw.close();
    await bw.write(enc.encode("pong"));
    await bw.close();
    assert.equal(dec.decode(await readAll(b)), "hello world");
    assert.equal(dec.decode(await readAll(a)), "pong");
  });

  it("reports the addresses crosswise", () => {
    const remote = { address: "::1", port: 40000 };
    const local = { address: "10.0.0.1", port: 3128 };
    const [a, b] = memoryConnPair({ remote, local });
    assert.deepEqual([a.remote, a.local, b.remote, b.local], [remote, local, local, remote]);
  });

  it("refuses an invalid highWaterMark", () => {
    assert.throws(() => memoryConnPair({ highWaterMark: 0 }), RangeError);
    assert.throws(() => memoryConnPair({ highWaterMark: 1.5 }), RangeError);
  });

  it("applies backpressure when the reader does not read, then delivers everything", async () => {
    const hwm = 1024;
    const [a, b] = memoryConnPair({ highWaterMark: hwm });
    const w = a.writable.getWriter();
    const total = 64 * 1024;
    const chunk = 256;
    let accepted = 0;
    const writing = (async () => {
      const buf = new Uint8Array(chunk);
      for (let off = 0; off < total; off += chunk) {
        await w.ready;
        for (let i = 0; i < chunk; i++) buf[i] = (off + i) & 0xff;
        void w.write(buf);
        accepted += chunk;
      }
      await w.close();
    })();
    for (let i = 0; i < 5; i++) await settle();
    assert.ok(accepted > 0, "the writer made progress");
    assert.ok(accepted <= 3 * hwm, `writer stalled: accepted ${accepted} bytes with nobody reading`);
    assert.ok((w.desiredSize ?? 1) <= 0, "desiredSize reports the full buffer");
    assert.equal(await isSettled(w.ready), false, "ready is pending while the reader does not read");
    const data = await readAll(b);
    await writing;
    assert.equal(data.byteLength, total);
    for (let i = 0; i < total; i++) {
      if (data[i] !== (i & 0xff)) assert.fail(`byte ${i} corrupted`);
    }
  });

  it("copies chunks so a writer may reuse its buffer at once", async () => {
    const [a, b] = memoryConnPair({ highWaterMark: 4 });
    const w = a.writable.getWriter();
    const buf = new Uint8Array(4);
    const writes: Promise<void>[] = [];
    for (const text of ["aaaa", "bbbb", "cccc", "dddd"]) {
      buf.set(enc.encode(text));
      writes.push(w.write(buf)); // not awaited: the buffer is overwritten immediately
    }
    buf.fill(0x7a);
    const closing = w.close();
    assert.equal(dec.decode(await readAll(b)), "aaaabbbbccccdddd");
    await Promise.all(writes);
    await closing;
  });

  it("half-closes: a FIN ends the peer's readable while the other direction stays open", async () => {
    const [a, b] = memoryConnPair();
    const aw = a.writable.getWriter();
    await aw.write(enc.encode("request"));
    await aw.close();
    assert.equal(dec.decode(await readAll(b)), "request");
    const bw = b.writable.getWriter();
    await bw.write(enc.encode("late "));
    await bw.write(enc.encode("answer"));
    await bw.close();
    assert.equal(dec.decode(await readAll(a)), "late answer");
  });

  it("half-closes in the other order too", async () => {
    const [a, b] = memoryConnPair();
    const bw = b.writable.getWriter();
    await bw.write(enc.encode("first"));
    await bw.close();
    assert.equal(dec.decode(await readAll(a)), "first");
    const aw = a.writable.getWriter();
    await aw.write(enc.encode("second"));
    await aw.close();
    assert.equal(dec.decode(await readAll(b)), "second");
  });

  it("close() resets both directions on both ends", async () => {
    const [a, b] = memoryConnPair();
    const bReader = b.readable.getReader();
    const pendingRead = bReader.read();
    const aReader = a.readable.getReader();
    const aw = a.writable.getWriter();
    const bw = b.writable.getWriter();
    await bw.write(enc.encode("unread by a"));
    a.close();
    a.close(); // idempotent
    assert.equal(codeOf(await rejection(pendingRead)), "ECONNRESET");
    assert.equal(codeOf(await rejection(bw.write(enc.encode("x")))), "ECONNRESET");
    assert.equal(codeOf(await rejection(aReader.read())), "ECLOSED");
    assert.equal(codeOf(await rejection(aw.write(enc.encode("x")))), "ECLOSED");
    b.close();
  });

  it("close() by the peer resets too, and unblocks a writer waiting for room", async () => {
    const [a, b] = memoryConnPair({ highWaterMark: 8 });
    const aw = a.writable.getWriter();
    const stuck = aw.write(new Uint8Array(64));
    assert.equal(await isSettled(stuck), false, "the write waits for the reader");
    b.close();
    assert.equal(codeOf(await rejection(stuck)), "ECONNRESET");
    assert.equal(codeOf(await rejection(a.readable.getReader().read())), "ECONNRESET");
  });

  it("keeps bytes sent before a FIN readable after the sender's close()", async () => {
    const [a, b] = memoryConnPair();
    const aw = a.writable.getWriter();
    await aw.write(enc.encode("goodbye"));
    await aw.close();
    a.close();
    assert.equal(dec.decode(await readAll(b)), "goodbye");
    assert.equal(codeOf(await rejection(b.writable.getWriter().write(enc.encode("x")))), "ECONNRESET");
  });

  it("discards unsent bytes when the sender closes without a FIN", async () => {
    const [a, b] = memoryConnPair();
    const aw = a.writable.getWriter();
    await aw.write(enc.encode("lost"));
    a.close();
    assert.equal(codeOf(await rejection(b.readable.getReader().read())), "ECONNRESET");
  });

  it("fails the writer with EPIPE when the peer cancels its readable", async () => {
    const [a, b] = memoryConnPair({ highWaterMark: 8 });
    const aw = a.writable.getWriter();
    const stuck = aw.write(new Uint8Array(64));
    await b.readable.cancel();
    assert.equal(codeOf(await rejection(stuck)), "EPIPE");
    assert.equal(codeOf(await rejection(aw.write(new Uint8Array(1)))), "EPIPE");
    // the other direction is unaffected
    const bw = b.writable.getWriter();
    await bw.write(enc.encode("still"));
    await bw.close();
    assert.equal(dec.decode(await readAll(a)), "still");
  });

  it("aborting a writable resets the connection", async () => {
    const [a, b] = memoryConnPair();
    await a.writable.abort(new Error("gone"));
    assert.equal(codeOf(await rejection(b.readable.getReader().read())), "ECONNRESET");
    assert.equal(codeOf(await rejection(a.readable.getReader().read())), "ECLOSED");
  });

  it("rejects chunks that are not bytes", async () => {
    const [a] = memoryConnPair();
    const w = (a.writable as WritableStream<unknown>).getWriter();
    assert.ok((await rejection(w.write("text"))) instanceof TypeError);
  });

  it("ignores empty chunks", async () => {
    const [a, b] = memoryConnPair();
    const w = a.writable.getWriter();
    await w.write(new Uint8Array(0));
    await w.write(enc.encode("x"));
    await w.close();
    const r = b.readable.getReader();
    const first = await r.read();
    assert.equal(first.value?.byteLength, 1);
    assert.equal((await r.read()).done, true);
  });
});
