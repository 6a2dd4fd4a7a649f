/**
 * `NodeSocketConn.close()` after `writable.close()` lets the Duplex hand on what it holds
 * before destroying it, bounded by a watch for a transport that takes nothing and by a
 * shutdown (`Runtime.settle`); without `writable.close()` it still aborts at once. A Duplex
 * whose writes complete only when the test says so stands for a TLS socket whose transport
 * has not taken its last bytes yet.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Duplex } from "node:stream";
import { flushingCount } from "../../../src/runtime/flushing.ts";
import { NodeSocketConn } from "../../../src/runtime/node-tls/node-socket-conn.ts";
import { currentRuntime } from "../../helpers/runtime.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const address = { address: "127.0.0.1", port: 443 };

/** A Duplex that keeps each write's callback until `take()`; `taken` is what it was given. */
function heldDuplex() {
  const callbacks: (() => void)[] = [];
  const taken: string[] = [];
  const duplex = new Duplex({
    allowHalfOpen: true,
    read() {},
    write(chunk: Uint8Array, _encoding, callback) {
      callbacks.push(() => {
        taken.push(new TextDecoder().decode(chunk));
        callback();
      });
    },
  });
  return {
    duplex,
    taken,
    take: () => {
      for (const c of callbacks.splice(0)) c();
    },
  };
}

/** A Conn over `duplex` that records what its `onClose` was told. */
function connOver(duplex: Duplex, flushMs?: number) {
  const closes: (Error | undefined)[] = [];
  const conn = new NodeSocketConn(duplex, address, address, { onClose: (e) => closes.push(e), ...(flushMs ? { flushMs } : {}) });
  return { conn, closes };
}

/** Writes `text`, closes the writable (it ends the Duplex), then closes the Conn. */
async function endInOrder(conn: NodeSocketConn, text: string): Promise<void> {
  const w = conn.writable.getWriter();
  await w.write(new TextEncoder().encode(text));
  await w.close();
  conn.close();
}

describe("NodeSocketConn.close()", () => {
  it("after writable.close(): the Duplex hands on what it holds, then is destroyed; onClose hears of no error", async () => {
    const d = heldDuplex();
    const { conn, closes } = connOver(d.duplex);
    const before = flushingCount();
    await endInOrder(conn, "last words");
    await assert.rejects(conn.readable.getReader().read(), /Connection closed/, "reading stops at once");
    assert.equal(d.duplex.destroyed, false, "not destroyed while it still holds bytes");
    assert.equal(flushingCount(), before + 1, "a shutdown waits for it");
    assert.deepEqual(closes, [undefined], "the transport is to be ended, not closed");
    d.take();
    await sleep(10);
    assert.deepEqual(d.taken, ["last words"]);
    assert.equal(d.duplex.destroyed, true);
    assert.equal(flushingCount(), before);
    assert.deepEqual(closes, [undefined]);
  });

  it("without writable.close(): destroys the Duplex at once, onClose hears of an error", async () => {
    const d = heldDuplex();
    const { conn, closes } = connOver(d.duplex);
    const w = conn.writable.getWriter();
    await w.write(new TextEncoder().encode("cut off"));
    conn.close();
    assert.equal(d.duplex.destroyed, true);
    assert.equal(closes.length, 1);
    assert.ok(closes[0] instanceof Error);
  });

  it("gives up on a Duplex that hands nothing on for flushMs", async () => {
    const d = heldDuplex();
    const { conn } = connOver(d.duplex, 100);
    await endInOrder(conn, "never taken");
    await sleep(50);
    assert.equal(d.duplex.destroyed, false);
    await sleep(250);
    assert.equal(d.duplex.destroyed, true);
  });

  it("the runtime's settle waits for it, and destroys it when time is up", async () => {
    const rt = await currentRuntime();
    assert.ok(rt.settle, "this runtime lets a shutdown wait for flushing sessions");
    const waited = heldDuplex();
    await endInOrder(connOver(waited.duplex).conn, "taken in time");
    const stuck = heldDuplex();
    setTimeout(() => waited.take(), 100);
    await rt.settle(Date.now() + 500);
    assert.deepEqual(waited.taken, ["taken in time"]);
    assert.equal(waited.duplex.destroyed, true);
    await endInOrder(connOver(stuck.duplex).conn, "never taken");
    const started = Date.now();
    await rt.settle(started + 200);
    assert.ok(Date.now() - started < 1_000, "gave up at its time");
    assert.equal(stuck.duplex.destroyed, true);
    assert.deepEqual(stuck.taken, []);
  });
});
