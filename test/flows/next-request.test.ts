import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Conn } from "../../src/core/conn.ts";
import { ConnReader } from "../../src/flows/conn-reader.ts";
import { nextRequest } from "../../src/flows/next-request.ts";

const limits = { maxHeadBytes: 16 * 1024, maxHeaders: 100, headerTimeoutMs: 5_000, idleTimeoutMs: 50 };

/** A client conn that records, in order, its writable's close and its own close(); `ends` ends its readable (EOF). */
function recordingConn(): { conn: Conn; events: string[]; ends: () => void } {
  const events: string[] = [];
  let end = () => {};
  const conn: Conn = {
    readable: new ReadableStream<Uint8Array>({ start: (c) => void (end = () => c.close()) }),
    writable: new WritableStream<Uint8Array>({ close: () => void events.push("writable closed (FIN)") }),
    remote: { address: "127.0.0.1", port: 1 },
    local: { address: "127.0.0.1", port: 2 },
    close: () => void events.push("close()"),
  };
  return { conn, events, ends: () => end() };
}

describe("nextRequest (next-request.ts)", () => {
  it("ends a connection between requests in order: FIN first, then close(), on EOF and on the idle timeout", async () => {
    const eof = recordingConn();
    eof.ends();
    assert.deepEqual(await nextRequest(eof.conn, new ConnReader(eof.conn), limits, false), { end: "eof" });
    assert.deepEqual(eof.events, ["writable closed (FIN)", "close()"]);
    const idle = recordingConn();
    assert.deepEqual(await nextRequest(idle.conn, new ConnReader(idle.conn), limits, false), { end: "idle" });
    // a reset (close() alone) would cut off the end of the last answer a slow client still reads
    assert.deepEqual(idle.events, ["writable closed (FIN)", "close()"]);
  });
});
