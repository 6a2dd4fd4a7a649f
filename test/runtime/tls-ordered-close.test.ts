/**
 * A `node:tls` session (`NodeSocketConn`: Deno's default TLS, and TLS inside TLS on every
 * runtime) ended in order — `writable.close()` then `close()` in the same turn as its last
 * writes, as the flows may end a connection — still delivers what the TLS socket held, and
 * ends its transport with FIN, not a reset. Before, `close()` destroyed the TLS socket at once:
 * on Deno the client got no byte of a short answer and a clean end of stream (a body framed by
 * the connection's end cut off silently), and a bulk transfer lost its last ~13 KiB; on Bun,
 * TLS inside TLS got the bytes and then a reset.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { concatBytes } from "../../src/core/bytes.ts";
import type { Conn } from "../../src/core/conn.ts";
import type { TlsSession } from "../../src/core/tls.ts";
import { pattern } from "../helpers/bytes.ts";
import { tlsSuite } from "../helpers/tls-suite.ts";

const answer = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nno Content-Length: the end of the connection ends this body";

/** What `conn` delivers until its end, and the error that ended it (if any). */
async function readToEnd(conn: Conn): Promise<{ bytes: Uint8Array; error?: string }> {
  const reader = conn.readable.getReader();
  const parts: Uint8Array[] = [];
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { bytes: concatBytes(parts) };
      parts.push(value.slice());
    }
  } catch (e) {
    return { bytes: concatBytes(parts), error: e instanceof Error ? e.message : String(e) };
  }
}

/** Writes `data` in `size`-byte writes, half-closes, then closes at once: an end in order. */
async function endInOrder(conn: Conn, data: Uint8Array, size = data.byteLength): Promise<void> {
  const w = conn.writable.getWriter();
  for (let o = 0; o < data.byteLength; o += size) await w.write(data.slice(o, o + size));
  await w.close();
  conn.close();
}

describe("node:tls sessions ended in order (writable.close() then close())", { timeout: 60_000 }, () => {
  const t = tlsSuite();

  const accept = (conn: Conn): Promise<TlsSession> =>
    t.rt.tls.accept(conn, { certChainPem: t.pki.certPem, keyPem: t.pki.keyPem, alpn: ["http/1.1"], minVersion: "TLSv1.2" });
  const connect = (port: number, over?: Conn) =>
    t.rt.tls.connect({ address: "127.0.0.1", port, servername: "origin.test", extraCaPem: [t.caPem], verify: true, alpn: ["http/1.1"], minVersion: "TLSv1.2", ...(over ? { over } : {}) });
  const text = (s: string) => new TextEncoder().encode(s);

  it("the server's short answer reaches the client whole, and ends without an error", async () => {
    const port = await t.listen((conn) => void accept(conn).then((s) => endInOrder(s.conn, text(answer)), () => {}));
    const c = await connect(port);
    const got = await readToEnd(c.conn);
    c.conn.close();
    assert.deepEqual({ text: new TextDecoder().decode(got.bytes), error: got.error }, { text: answer, error: undefined });
  });

  it("TLS inside TLS: the inner server's short answer reaches the client whole, with no reset", async () => {
    const port = await t.listen((conn) => {
      void accept(conn).then((outer) => accept(outer.conn)).then((inner) => endInOrder(inner.conn, text(answer)), () => {});
    });
    const outer = await connect(port);
    const inner = await connect(port, outer.conn);
    const got = await readToEnd(inner.conn);
    inner.conn.close();
    outer.conn.close();
    assert.deepEqual({ text: new TextDecoder().decode(got.bytes), error: got.error }, { text: answer, error: undefined });
  });

  it("a transfer in small writes keeps its tail (what the TLS socket still t.held)", async () => {
    const data = pattern(1 << 20);
    const port = await t.listen((conn) => void accept(conn).then((s) => endInOrder(s.conn, data, 100), () => {}));
    const c = await connect(port);
    const got = await readToEnd(c.conn);
    c.conn.close();
    assert.equal(got.error, undefined);
    assert.equal(got.bytes.byteLength, data.byteLength);
    assert.deepEqual(got.bytes, data);
  });

  it("the client's last bytes reach the server too", async () => {
    let received: Promise<{ bytes: Uint8Array; error?: string }> | undefined;
    const port = await t.listen((conn) => {
      received = accept(conn).then(async (s) => {
        const got = await readToEnd(s.conn);
        s.conn.close();
        return got;
      });
    });
    const c = await connect(port);
    await endInOrder(c.conn, text(answer));
    const got = await received!;
    assert.deepEqual({ text: new TextDecoder().decode(got.bytes), error: got.error }, { text: answer, error: undefined });
  });
});
