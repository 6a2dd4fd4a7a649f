import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { memoryConnPair } from "../../src/core/memory-conn.ts";
import { ConnReader, FlowTimeoutError } from "../../src/flows/conn-reader.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function pair() {
  const [near, far] = memoryConnPair();
  const w = far.writable.getWriter();
  return { reader: new ConnReader(near), send: (t: string) => w.write(enc.encode(t)), end: () => w.close() };
}

describe("ConnReader", () => {
  it("wait() consumes nothing: what arrived is the next read's, exactly once", async () => {
    const p = pair();
    const waiting = p.reader.wait();
    await p.send("one");
    assert.equal(await waiting, "data");
    assert.equal(await p.reader.wait(), "data", "still there");
    assert.equal(dec.decode(await p.reader.read()), "one");
    // a read already waiting and a wait on the same chunk: the read gets it, nothing is left over
    const read = p.reader.read();
    const watch = p.reader.wait();
    await p.send("two");
    assert.equal(dec.decode(await read), "two");
    assert.equal(await watch, "data");
    const after = p.reader.read(50);
    await assert.rejects(after, FlowTimeoutError, "no duplicate of \"two\" was left");
    // the other order: the wait first, then a read, on one chunk
    const watch2 = p.reader.wait();
    const read2 = p.reader.read();
    await p.send("three");
    assert.equal(await watch2, "data");
    assert.equal(dec.decode(await read2), "three");
  });

  it("wait() says when the stream ended; read() then says so too", async () => {
    const p = pair();
    const waiting = p.reader.wait();
    await p.end();
    assert.equal(await waiting, "end");
    assert.equal(await p.reader.read(), undefined);
  });
});
