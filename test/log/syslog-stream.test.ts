import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Conn } from "../../src/core/conn.ts";
import { memoryConnPair } from "../../src/core/memory-conn.ts";
import { frameSyslog, SyslogStream, type SyslogStreamOptions } from "../../src/log/syslog-stream.ts";

const decoder = new TextDecoder();

/** Reads octet-counted frames from `conn` until `n` arrived (or the stream ends). */
async function readFrames(conn: Conn, n: number, reader = conn.readable.getReader()): Promise<string[]> {
  const frames: string[] = [];
  let buffer = new Uint8Array(0);
  while (frames.length < n) {
    for (;;) {
      const space = buffer.indexOf(0x20);
      if (space < 0) break;
      const length = Number(decoder.decode(buffer.subarray(0, space)));
      if (buffer.byteLength < space + 1 + length) break;
      frames.push(decoder.decode(buffer.subarray(space + 1, space + 1 + length)));
      buffer = buffer.slice(space + 1 + length);
    }
    if (frames.length >= n) break;
    const { value, done } = await reader.read();
    if (done) break;
    const next = new Uint8Array(buffer.byteLength + value.byteLength);
    next.set(buffer);
    next.set(value, buffer.byteLength);
    buffer = next;
  }
  reader.releaseLock();
  return frames;
}

/** A collector the sender connects to: each connection's far end, and what happened. */
function collector(failFirst = 0) {
  const accepted: Conn[] = [];
  const events: string[] = [];
  const counts = { sent: 0, dropped: 0 };
  let attempts = 0;
  const waiting: (() => void)[] = [];
  const options: Omit<SyslogStreamOptions, "framing" | "queueBytes"> = {
    connect: () => {
      attempts++;
      if (attempts <= failFirst) return Promise.reject(new Error(`connection refused (${attempts})`));
      const [near, far] = memoryConnPair({ highWaterMark: 1024 });
      accepted.push(far);
      for (const w of waiting.splice(0)) w();
      return Promise.resolve(near);
    },
    retryMs: 5,
    maxRetryMs: 20,
    onState: (up, error) => events.push(up ? "up" : `down: ${error}`),
    onCount: (result, n) => (counts[result] += n),
  };
  const connection = async (i: number) => {
    while (accepted.length <= i) await new Promise<void>((r) => waiting.push(r));
    return accepted[i]!;
  };
  return { options, events, counts, connection, attempts: () => attempts };
}

describe("SyslogStream", () => {
  it("frames each message by its length (RFC 6587 octet counting) or with a newline", () => {
    assert.equal(decoder.decode(frameSyslog("<134>1 - - - - - - é", "octet-counting")), "21 <134>1 - - - - - - é");
    assert.equal(decoder.decode(frameSyslog("<134>1 x", "newline")), "<134>1 x\n");
  });

  it("writes messages in order on one connection, and connects only once there is one", async () => {
    const c = collector();
    const s = new SyslogStream({ ...c.options, framing: "octet-counting", queueBytes: 1 << 20 });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(c.attempts(), 0, "nothing to send: no connection");
    for (const m of ["one", "two", "three"]) s.send(m);
    const far = await c.connection(0);
    assert.deepEqual(await readFrames(far, 3), ["one", "two", "three"]);
    s.send("last");
    // closing: the last message, then the end of the stream; the collector reads to it and hangs up
    const closing = s.close(5000);
    assert.deepEqual(await readFrames(far, 1), ["last"]);
    const r = far.readable.getReader();
    assert.equal((await r.read()).done, true, "the sender ended its stream");
    far.close();
    const started = Date.now();
    await closing;
    assert.ok(Date.now() - started < 1000, "closed once the collector hung up, not at the flush time");
    assert.deepEqual(c.counts, { sent: 4, dropped: 0 });
    assert.deepEqual(c.events, ["up"]);
  });

  it("holds messages while the collector is unreachable, retrying, and sends them once it is back", async () => {
    const c = collector(3);
    const s = new SyslogStream({ ...c.options, framing: "octet-counting", queueBytes: 1 << 20 });
    s.send("early");
    s.send("later");
    assert.deepEqual(await readFrames(await c.connection(0), 2), ["early", "later"]);
    assert.deepEqual(c.events, ["down: connection refused (1)", "down: connection refused (2)", "down: connection refused (3)", "up"]);
    await s.close(100);
  });

  it("opens a new connection when the collector closes its end, and goes on there", async () => {
    const c = collector();
    const s = new SyslogStream({ ...c.options, framing: "newline", queueBytes: 1 << 20 });
    s.send("a");
    const first = await c.connection(0);
    const r = first.readable.getReader();
    assert.equal(decoder.decode((await r.read()).value), "a\n");
    r.releaseLock();
    await first.writable.close(); // the collector's FIN
    first.close();
    await new Promise((r) => setTimeout(r, 30));
    s.send("b");
    const second = await c.connection(1);
    const r2 = second.readable.getReader();
    assert.equal(decoder.decode((await r2.read()).value), "b\n");
    r2.releaseLock();
    assert.deepEqual(c.events, ["up", "down: the collector closed the connection", "up"]);
    await s.close(100);
  });

  it("never makes the gateway wait: beyond queueBytes, messages are dropped and counted", async () => {
    const c = collector();
    const queueBytes = 64 * 1024;
    const s = new SyslogStream({ ...c.options, framing: "octet-counting", queueBytes });
    const message = "x".repeat(1000);
    // the collector accepts but never reads: its buffers fill, then the queue, then drops
    for (let i = 0; i < 200; i++) s.send(message);
    await c.connection(0);
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(s.queuedBytes <= queueBytes, `queued ${s.queuedBytes}`);
    assert.ok(c.counts.dropped > 0, "some dropped");
    const started = Date.now();
    await s.close(100);
    assert.ok(Date.now() - started < 2000, "close waits no longer than its flush time");
    assert.equal(c.counts.sent + c.counts.dropped, 200, `every message sent or counted as dropped: ${JSON.stringify(c.counts)}`);
  });

  it("closes within its flush time when the collector stays unreachable, counting what it could not send", async () => {
    const c = collector(Number.MAX_SAFE_INTEGER);
    const s = new SyslogStream({ ...c.options, framing: "octet-counting", queueBytes: 1 << 20 });
    s.send("lost");
    s.send("also lost");
    await new Promise((r) => setTimeout(r, 20));
    const started = Date.now();
    await s.close(60);
    assert.ok(Date.now() - started < 1000);
    assert.deepEqual(c.counts, { sent: 0, dropped: 2 });
    s.send("after close");
    assert.equal(c.counts.dropped, 3, "a message after close is dropped");
  });

  it("gives up a connection attempt that hangs after connectTimeoutMs", async () => {
    const events: string[] = [];
    let tries = 0;
    const s = new SyslogStream({
      connect: (signal) => {
        tries++;
        return new Promise((_, reject) => signal.addEventListener("abort", () => reject(new Error("timed out"))));
      },
      framing: "octet-counting",
      queueBytes: 1 << 20,
      connectTimeoutMs: 30,
      retryMs: 5,
      onState: (up, error) => events.push(up ? "up" : `down: ${error}`),
    });
    s.send("m");
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(tries >= 2, `tried again after a timeout (${tries})`);
    assert.equal(events[0], "down: timed out");
    await s.close(10);
  });

  it("backs off from a collector that accepts and drops every connection at once", async () => {
    let attempts = 0;
    const events: string[] = [];
    const s = new SyslogStream({
      connect: () => {
        attempts++;
        const [near, far] = memoryConnPair();
        setTimeout(() => far.close(), 2); // accepted, then dropped
        return Promise.resolve(near);
      },
      framing: "octet-counting",
      queueBytes: 1 << 20,
      retryMs: 20,
      maxRetryMs: 1000,
      stableMs: 5000,
      onState: (up) => events.push(up ? "up" : "down"),
    });
    const sending = setInterval(() => s.send("m"), 5);
    await new Promise((r) => setTimeout(r, 400));
    clearInterval(sending);
    // pauses of 20, 40, 80, 160 ms… fit about 4-5 attempts in 400 ms; without backoff ~18
    assert.ok(attempts <= 7, `${attempts} connections in 400 ms`);
    await s.close(10);
  });

  it("close() keeps its flush time even when ending the stream hangs", async () => {
    const s = new SyslogStream({
      connect: () => {
        const [near] = memoryConnPair();
        // a stream whose end never completes, and a collector that never hangs up
        const stuck: Conn = { ...near, readable: near.readable, writable: new WritableStream<Uint8Array>({ close: () => new Promise<void>(() => {}) }), remote: near.remote, local: near.local, close: () => near.close() };
        return Promise.resolve(stuck);
      },
      framing: "newline",
      queueBytes: 1 << 20,
    });
    s.send("m");
    await new Promise((r) => setTimeout(r, 20));
    const started = Date.now();
    await s.close(50);
    assert.ok(Date.now() - started < 1000, `close took ${Date.now() - started} ms`);
  });
});
