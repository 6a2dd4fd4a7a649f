import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Datagram, DatagramSocket } from "../../src/core/datagram.ts";
import { cutUtf8, MAX_DATAGRAM_BYTES, SyslogDatagram } from "../../src/log/syslog-datagram.ts";

/** A socket that records what it sends (or fails every send). */
function socket(failSends = false) {
  const sent: Uint8Array[] = [];
  let closed = false;
  const s: DatagramSocket = {
    send: (data) => (failSends ? Promise.reject(new Error("ECONNREFUSED")) : (sent.push(data), Promise.resolve())),
    readable: new ReadableStream<Datagram>(),
    close: () => void (closed = true),
  };
  return { s, sent, closed: () => closed };
}

const settle = () => new Promise((r) => setTimeout(r, 10));

describe("SyslogDatagram", () => {
  it("sends each message as one datagram on one socket, in order, and cuts one over the UDP limit", async () => {
    const sock = socket();
    let opened = 0;
    const counts = { sent: 0, dropped: 0 };
    const d = new SyslogDatagram({ open: () => (opened++, Promise.resolve(sock.s)), onCount: (r, n) => (counts[r] += n) });
    d.send("one");
    d.send("two");
    d.send("x".repeat(70_000));
    await settle();
    assert.equal(opened, 1);
    assert.deepEqual(sock.sent.slice(0, 2).map((b) => new TextDecoder().decode(b)), ["one", "two"]);
    assert.equal(sock.sent[2]!.byteLength, MAX_DATAGRAM_BYTES);
    assert.deepEqual(counts, { sent: 3, dropped: 0 });
    await d.close();
    assert.ok(sock.closed());
    d.send("late");
    await settle();
    assert.equal(counts.dropped, 1, "after close: dropped");
  });

  it("drops, and counts, while no socket can be opened; tries again after retryMs", async () => {
    const sock = socket();
    let fail = true;
    const states: string[] = [];
    const counts = { sent: 0, dropped: 0 };
    const d = new SyslogDatagram({
      open: () => (fail ? Promise.reject(new Error("this runtime has no UDP")) : Promise.resolve(sock.s)),
      onCount: (r, n) => (counts[r] += n),
      onState: (up, error) => states.push(up ? "up" : `down: ${error}`),
      retryMs: 30,
    });
    d.send("a");
    await settle();
    d.send("b");
    await settle();
    assert.deepEqual(counts, { sent: 0, dropped: 2 });
    assert.deepEqual(states, ["down: this runtime has no UDP"], "one failure said once; no retry before retryMs");
    fail = false;
    await new Promise((r) => setTimeout(r, 40));
    d.send("c");
    await settle();
    assert.deepEqual(counts, { sent: 1, dropped: 2 });
    assert.deepEqual(states, ["down: this runtime has no UDP", "up"]);
    await d.close();
  });

  it("a send that fails is dropped and counted, the next goes on", async () => {
    const sock = socket(true);
    const counts = { sent: 0, dropped: 0 };
    const d = new SyslogDatagram({ open: () => Promise.resolve(sock.s), onCount: (r, n) => (counts[r] += n) });
    d.send("a");
    d.send("b");
    await settle();
    assert.deepEqual(counts, { sent: 0, dropped: 2 });
    await d.close();
  });

  it("after a send fails, the next message (after retryMs) opens a new socket; the failure is said once", async () => {
    const first = socket(true);
    const second = socket();
    const sockets = [first, second];
    const states: string[] = [];
    const counts = { sent: 0, dropped: 0 };
    const d = new SyslogDatagram({
      open: () => Promise.resolve(sockets.shift()!.s),
      onCount: (r, n) => (counts[r] += n),
      onState: (up, error) => states.push(up ? "up" : `down: ${error}`),
      retryMs: 20,
    });
    d.send("a");
    d.send("b");
    await settle();
    assert.ok(first.closed(), "the failed socket is closed");
    assert.deepEqual(states, ["down: ECONNREFUSED"], "said once for both failures");
    await new Promise((r) => setTimeout(r, 30));
    d.send("c");
    await settle();
    assert.deepEqual(second.sent.map((b) => new TextDecoder().decode(b)), ["c"]);
    assert.deepEqual(states, ["down: ECONNREFUSED", "up"]);
    assert.deepEqual(counts, { sent: 1, dropped: 2 });
    await d.close();
  });

  it("cuts at a character boundary of UTF-8", () => {
    const bytes = new TextEncoder().encode("aé€"); // 1 + 2 + 3 bytes
    assert.deepEqual([...cutUtf8(bytes, 6)], [...bytes]);
    assert.equal(new TextDecoder().decode(cutUtf8(bytes, 5)), "aé");
    assert.equal(new TextDecoder().decode(cutUtf8(bytes, 2)), "a");
  });

  it("a collector whose every socket fails is tried less and less often, and said down once", async () => {
    let opens = 0;
    const states: string[] = [];
    const d = new SyslogDatagram({
      open: () => (opens++, Promise.resolve(socket(true).s)),
      onState: (up, error) => states.push(up ? "up" : `down: ${error}`),
      retryMs: 20,
    });
    const sending = setInterval(() => d.send("m"), 5);
    await new Promise((r) => setTimeout(r, 330));
    clearInterval(sending);
    // pauses of 20, 40, 80, 160 ms: about 5 sockets in 330 ms, not 15
    assert.ok(opens <= 6, `${opens} sockets`);
    assert.deepEqual(states, ["down: ECONNREFUSED"]);
    await d.close();
  });
});
