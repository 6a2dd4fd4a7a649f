import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeLatin1, encodeLatin1 } from "../../src/core/bytes.ts";
import { HttpParseError } from "../../src/protocol/http-errors.ts";
import { HeadReader, type HeadReadResult } from "../../src/protocol/http-head-reader.ts";

function throwsStatus(fn: () => unknown, status: number, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof HttpParseError, `expected HttpParseError, got ${String(e)}`);
    assert.equal(e.status, status, e.message);
    if (message !== undefined) assert.match(e.message, message);
    return true;
  });
}

/** Push pieces until a head comes out; returns head, rest and the unpushed pieces' bytes. */
function feed(reader: HeadReader, pieces: Uint8Array[]): { head: string; rest: string } | undefined {
  for (let i = 0; i < pieces.length; i++) {
    const r = reader.push(pieces[i] ?? new Uint8Array(0));
    if (r !== undefined) {
      const later = pieces.slice(i + 1).map(decodeLatin1).join("");
      return { head: decodeLatin1(r.head), rest: decodeLatin1(r.rest) + later };
    }
  }
  return undefined;
}

function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  out.push(bytes.subarray(prev));
  return out;
}

const HEAD = "POST /upload?x=1 HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\n\r\n";

describe("HeadReader", () => {
  it("returns the head and the rest of the chunk", () => {
    const r = new HeadReader().push(encodeLatin1(`${HEAD}hello`));
    assert.ok(r !== undefined);
    assert.equal(decodeLatin1(r.head), HEAD);
    assert.equal(decodeLatin1(r.rest), "hello");
  });

  it("waits for more bytes", () => {
    const reader = new HeadReader();
    assert.equal(reader.started, false);
    assert.equal(reader.push(encodeLatin1("GET / HTTP/1.1\r\nHost: a\r\n\r")), undefined);
    assert.equal(reader.started, true);
    assert.equal(reader.buffered, 26);
    const r = reader.push(encodeLatin1("\n"));
    assert.ok(r !== undefined);
    assert.equal(decodeLatin1(r.head), "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert.equal(r.rest.length, 0);
    assert.equal(reader.started, false);
  });

  it("gives the same result byte at a time", () => {
    const bytes = encodeLatin1(`${HEAD}hello`);
    const whole = feed(new HeadReader(), [bytes]);
    const bytewise = feed(new HeadReader(), Array.from(bytes, (_, i) => bytes.subarray(i, i + 1)));
    assert.deepEqual(bytewise, whole);
    assert.deepEqual(whole, { head: HEAD, rest: "hello" });
  });

  it("gives the same result for random splits", () => {
    const bytes = encodeLatin1(`\r\n${HEAD}hello`);
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 12 }), (cuts) => {
        assert.deepEqual(feed(new HeadReader(), split(bytes, cuts)), { head: HEAD, rest: "hello" });
      }),
      { numRuns: 200 },
    );
  });

  it("reads pipelined requests from the rest", () => {
    const reader = new HeadReader();
    const a = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
    const b = "GET /b HTTP/1.1\r\nHost: h\r\n\r\n";
    const r1 = reader.push(encodeLatin1(`${a}${b}GET /c`));
    assert.ok(r1 !== undefined);
    assert.equal(decodeLatin1(r1.head), a);
    const r2 = reader.push(r1.rest);
    assert.ok(r2 !== undefined);
    assert.equal(decodeLatin1(r2.head), b);
    assert.equal(decodeLatin1(r2.rest), "GET /c");
    assert.equal(reader.push(r2.rest), undefined);
    const r3 = reader.push(encodeLatin1(" HTTP/1.1\r\nHost: h\r\n\r\n"));
    assert.equal(decodeLatin1((r3 as HeadReadResult).head), "GET /c HTTP/1.1\r\nHost: h\r\n\r\n");
  });

  it("skips a bounded number of empty lines before a request", () => {
    const r = new HeadReader().push(encodeLatin1(`\r\n\r\n${HEAD}`));
    assert.equal(decodeLatin1((r as HeadReadResult).head), HEAD);
    assert.ok(new HeadReader({ maxLeadingEmptyLines: 2 }).push(encodeLatin1(`\r\n\r\n${HEAD}`)) !== undefined);
    throwsStatus(() => new HeadReader({ maxLeadingEmptyLines: 2 }).push(encodeLatin1(`\r\n\r\n\r\n${HEAD}`)), 400, /empty lines/);
    throwsStatus(() => new HeadReader().push(encodeLatin1("\r\n".repeat(9))), 400);
  });

  it("does not skip empty lines before a response", () => {
    const r = new HeadReader({ kind: "response" }).push(encodeLatin1("\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"));
    assert.ok(r !== undefined);
    assert.equal(decodeLatin1(r.head), "\r\n\r\n");
  });

  it("rejects bare LF and bare CR at once", () => {
    throwsStatus(() => new HeadReader().push(encodeLatin1("GET / HTTP/1.1\nHost")), 400, /bare LF/);
    throwsStatus(() => new HeadReader().push(encodeLatin1("\n")), 400, /bare LF/);
    throwsStatus(() => new HeadReader().push(encodeLatin1("\rX")), 400, /bare CR/);
    throwsStatus(() => new HeadReader().push(encodeLatin1("GET / HTTP/1.1\rHost")), 400, /bare CR/);
    throwsStatus(() => new HeadReader().push(encodeLatin1("GET / HTTP/1.1\r\n\r\r")), 400, /bare CR/);
    throwsStatus(() => new HeadReader({ kind: "response" }).push(encodeLatin1("HTTP/1.1 200 OK\n\n")), 502, /bare LF/);
    const reader = new HeadReader();
    reader.push(encodeLatin1("GET / HTTP/1.1\r"));
    throwsStatus(() => reader.push(encodeLatin1("\r")), 400, /bare CR/);
  });

  it("accepts a head of exactly maxHeadBytes", () => {
    const head = `GET / HTTP/1.1\r\nX: ${"a".repeat(100 - 23)}\r\n\r\n`;
    assert.equal(head.length, 100);
    const r = new HeadReader({ maxHeadBytes: 100 }).push(encodeLatin1(`${head}more`));
    assert.equal(decodeLatin1((r as HeadReadResult).rest), "more");
  });

  it("fails as soon as the head exceeds maxHeadBytes", () => {
    throwsStatus(() => new HeadReader().push(new Uint8Array(65537).fill(0x41)), 431, /^Request head exceeds 65536 bytes$/);
    const reader = new HeadReader({ maxHeadBytes: 10 });
    assert.equal(reader.push(encodeLatin1("GET / HTTP")), undefined);
    throwsStatus(() => reader.push(encodeLatin1("/")), 431);
    throwsStatus(() => new HeadReader({ kind: "response", maxHeadBytes: 10 }).push(encodeLatin1("HTTP/1.1 200 OK\r\n\r\n")), 502, /Response head exceeds 10 bytes/);
  });

  it("is linear when fed one byte at a time up to 64 KiB", () => {
    const filler = `X-Fill: ${"a".repeat(1000)}\r\n`;
    let text = "GET / HTTP/1.1\r\nHost: a\r\n";
    while (text.length + filler.length + 2 <= 65536) text += filler;
    text += `X-Pad: ${"b".repeat(65536 - text.length - 11)}\r\n\r\n`;
    assert.equal(text.length, 65536);
    const bytes = encodeLatin1(text);
    const reader = new HeadReader();
    const t0 = performance.now();
    let result: HeadReadResult | undefined;
    for (let i = 0; i < bytes.length; i++) {
      result = reader.push(bytes.subarray(i, i + 1));
      if (i < bytes.length - 1) assert.equal(result, undefined);
    }
    const elapsed = performance.now() - t0;
    assert.ok(result !== undefined);
    assert.equal(result.head.length, 65536);
    assert.equal(decodeLatin1(result.head), text);
    assert.ok(elapsed < 1500, `took ${elapsed} ms`);
  });

  it("reads a head split over chunks after one that came whole", () => {
    const reader = new HeadReader();
    const whole = reader.push(encodeLatin1(`${HEAD}`));
    assert.equal(decodeLatin1((whole as HeadReadResult).head), HEAD);
    const other = new HeadReader();
    assert.equal(reader.push(encodeLatin1("GET /b HTTP/1.1\r\n")), undefined);
    assert.equal(other.push(encodeLatin1("GET /c HTTP/1.1\r\n")), undefined);
    const r = reader.push(encodeLatin1("Host: b\r\n\r\n"));
    assert.equal(decodeLatin1((r as HeadReadResult).head), "GET /b HTTP/1.1\r\nHost: b\r\n\r\n");
    const r2 = other.push(encodeLatin1("Host: c\r\n\r\n"));
    assert.equal(decodeLatin1((r2 as HeadReadResult).head), "GET /c HTTP/1.1\r\nHost: c\r\n\r\n");
  });

  it("copies the bytes it keeps", () => {
    const reader = new HeadReader();
    const buf = encodeLatin1("GET / HTTP/1.1\r\n");
    reader.push(buf);
    buf.fill(0x5a);
    const r = reader.push(encodeLatin1("Host: a\r\n\r\n"));
    assert.equal(decodeLatin1((r as HeadReadResult).head), "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  });
});
