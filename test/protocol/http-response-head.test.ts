import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { encodeLatin1 } from "../../src/core/bytes.ts";
import { HttpParseError } from "../../src/protocol/http-errors.ts";
import { HeadReader } from "../../src/protocol/http-head-reader.ts";
import { parseResponseHead, type ResponseHead } from "../../src/protocol/http-response-head.ts";

function throwsStatus(fn: () => unknown, status: number, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof HttpParseError, `expected HttpParseError, got ${String(e)}`);
    assert.equal(e.status, status, e.message);
    if (message !== undefined) assert.match(e.message, message);
    return true;
  });
}
function res(start: string, ...fields: string[]): ResponseHead {
  return parseResponseHead(encodeLatin1(`${start}\r\n${fields.map((f) => `${f}\r\n`).join("")}\r\n`));
}
function bad(start: string, fields: string[], message?: RegExp): void {
  throwsStatus(() => res(start, ...fields), 502, message);
}

describe("parseResponseHead", () => {
  it("parses status, reason and headers", () => {
    const h = res("HTTP/1.1 404 Not Found", "Content-Type: text/plain", "Set-Cookie: a=1", "Set-Cookie: b=2", "Content-Length: 3");
    assert.equal(h.version, "HTTP/1.1");
    assert.equal(h.status, 404);
    assert.equal(h.reason, "Not Found");
    assert.deepEqual(h.headers.getAll("set-cookie"), ["a=1", "b=2"]);
    assert.equal(res("HTTP/1.0 200 OK").version, "HTTP/1.0");
  });
  it("accepts an empty reason with or without the space", () => {
    assert.equal(res("HTTP/1.1 200 ").reason, "");
    assert.equal(res("HTTP/1.1 204").reason, "");
    assert.equal(res("HTTP/1.1 200 Very  Fine \u00e9").reason, "Very  Fine \u00e9");
    assert.equal(res("HTTP/1.1 100 Continue").status, 100);
    assert.equal(res("HTTP/1.1 599 X").status, 599);
  });
  it("rejects malformed status lines", () => {
    for (const line of ["HTTP/1.1 20 OK", "HTTP/1.1 2000 OK", "HTTP/1.1  200 OK", "HTTP/1.1 abc OK", "http/1.1 200 OK", "HTTP/1.1", "", "ICY 200 OK", "HTTP/1.1\t200 OK"]) {
      bad(line, [], /Malformed status line/);
    }
    bad("HTTP/2.0 200 OK", [], /Unsupported response version/);
    bad("HTTP/1.1 099 X", [], /Invalid status code "099"/);
    bad("HTTP/1.1 600 X", [], /Invalid status code/);
    bad("HTTP/1.1 200 O\0K", [], /reason phrase/);
  });
  it("rejects malformed fields and framing with 502", () => {
    bad("HTTP/1.1 200 OK", ["X: a", " folded"], /folding/);
    bad("HTTP/1.1 200 OK", ["X : a"], /Whitespace/);
    bad("HTTP/1.1 200 OK", ["X: a\x00"], /Invalid character/);
    bad("HTTP/1.1 200 OK", ["Content-Length: 1", "Content-Length: 2"], /Conflicting Content-Length values "1" and "2"/);
    bad("HTTP/1.1 200 OK", ["Content-Length: x"], /Invalid Content-Length/);
    bad("HTTP/1.1 200 OK", ["Content-Length: 1", "Transfer-Encoding: chunked"], /both be present/);
    bad("HTTP/1.1 200 OK", ["Transfer-Encoding: chunked, chunked"], /more than once/);
    bad("HTTP/1.1 200 OK", ["Transfer-Encoding: bogus"], /Unsupported transfer coding/);
    bad("HTTP/1.0 200 OK", ["Transfer-Encoding: chunked"], /HTTP\/1.0 response/);
    throwsStatus(() => parseResponseHead(encodeLatin1("HTTP/1.1 200 OK\nX: a\r\n\r\n")), 502, /bare LF/);
  });
  it("pins line endings, obs-text, field order and limits of the head checks", () => {
    throwsStatus(() => parseResponseHead(encodeLatin1("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n")), 502, /^Response head contains a bare CR at offset 21$/);
    throwsStatus(() => parseResponseHead(encodeLatin1("HTTP/1.1 200 OK\r\nX: a\r\n")), 502, /^Response head does not end with an empty line$/);
    throwsStatus(() => parseResponseHead(encodeLatin1("HTTP/1.1 200 OK\r\nX: a\r\n\r\nY: b\r\n\r\n")), 502, /^Empty line inside header section$/);
    throwsStatus(() => parseResponseHead(encodeLatin1("HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n"), { maxHeaders: 1 }), 502, /Too many header fields/);
    bad("HTTP/1.1 200 OK", ["X: a", "Bad(Name): b"], /Invalid field name/);
    bad("HTTP/1.1 200 OK", ["X: a", "no colon"], /no colon/);
    bad("HTTP/1.1 200 OK", ["X\t: a"], /Whitespace/);
    const h = res("HTTP/1.1 200 \u0080K", "X-Obs: \t caf\u00e9\u0085 ", "Content-Length: 0");
    assert.equal(h.reason, "\u0080K");
    assert.deepEqual([...h.headers], [["X-Obs", "caf\u00e9\u0085"], ["Content-Length", "0"]]);
    const text = "HTTP/1.1 204 No Content\r\n\r\n";
    assert.equal(parseResponseHead(encodeLatin1(text), { maxHeadBytes: text.length }).status, 204);
  });
  it("allows a close-delimited coding in a response", () => {
    assert.equal(res("HTTP/1.1 200 OK", "Transfer-Encoding: gzip").headers.get("transfer-encoding"), "gzip");
  });
  it("enforces limits with 502", () => {
    const many = Array.from({ length: 101 }, (_, i) => `X-${i}: v`);
    bad("HTTP/1.1 200 OK", many, /Too many header fields/);
    throwsStatus(() => parseResponseHead(encodeLatin1("HTTP/1.1 200 OK\r\n\r\n"), { maxHeadBytes: 5 }), 502, /Response head exceeds 5 bytes/);
  });
  it("works with HeadReader in response mode, byte at a time", () => {
    const bytes = encodeLatin1("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
    const reader = new HeadReader({ kind: "response" });
    let head: ResponseHead | undefined;
    let rest = "";
    for (let i = 0; i < bytes.length; i++) {
      const r = reader.push(bytes.subarray(i, i + 1));
      if (r !== undefined) head = parseResponseHead(r.head);
      else if (head !== undefined) rest += String.fromCharCode(bytes[i] ?? 0);
    }
    assert.equal(head?.status, 200);
    assert.equal(rest, "hi");
  });
});
