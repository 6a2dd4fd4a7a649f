import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { decodeLatin1, encodeLatin1 } from "../../src/core/bytes.ts";
import { HeaderList } from "../../src/protocol/http-headers.ts";
import { parseRequestHead } from "../../src/protocol/http-request-head.ts";
import { parseResponseHead } from "../../src/protocol/http-response-head.ts";
import { errorResponse, formatFieldLines, serializeRequestHead, serializeResponseHead } from "../../src/protocol/http-serialize.ts";

describe("serializeRequestHead", () => {
  it("writes the request line, fields and CRLFs", () => {
    const bytes = serializeRequestHead({ method: "GET", target: "/a?b", version: "HTTP/1.1", headers: [["Host", "example.com"], ["X-A", "caf\u00e9"]] });
    assert.equal(decodeLatin1(bytes), "GET /a?b HTTP/1.1\r\nHost: example.com\r\nX-A: caf\u00e9\r\n\r\n");
  });
  it("round-trips a parsed head", () => {
    const text = "POST http://example.com/x HTTP/1.1\r\nHost: example.com\r\nContent-Length: 3\r\nx-lower: v\r\n\r\n";
    const head = parseRequestHead(encodeLatin1(text));
    assert.equal(decodeLatin1(serializeRequestHead(head)), text);
    const forwarded = { ...head, target: head.path ?? "/", headers: head.headers.append("Via", "1.1 tollgate") };
    assert.equal(decodeLatin1(serializeRequestHead(forwarded)), "POST /x HTTP/1.1\r\nHost: example.com\r\nContent-Length: 3\r\nx-lower: v\r\nVia: 1.1 tollgate\r\n\r\n");
  });
  it("refuses injection", () => {
    const base = { method: "GET", target: "/", version: "HTTP/1.1" as const, headers: [] as [string, string][] };
    assert.throws(() => serializeRequestHead({ ...base, method: "GET /x HTTP/1.1\r\n" }), TypeError);
    assert.throws(() => serializeRequestHead({ ...base, target: "/ HTTP/1.1\r\nX: y" }), TypeError);
    assert.throws(() => serializeRequestHead({ ...base, target: "" }), TypeError);
    assert.throws(() => serializeRequestHead({ ...base, headers: [["X", "a\r\nInjected: 1"]] }), TypeError);
    assert.throws(() => serializeRequestHead({ ...base, headers: [["X", "a\nb"]] }), TypeError);
    assert.throws(() => serializeRequestHead({ ...base, headers: [["X", "a\0"]] }), TypeError);
    assert.throws(() => serializeRequestHead({ ...base, headers: [["X: y", "a"]] }), TypeError);
    assert.throws(() => serializeRequestHead({ ...base, headers: [["X", " padded"]] }), TypeError);
    assert.throws(() => serializeRequestHead({ ...base, version: "HTTP/2.0" as "HTTP/1.1" }), TypeError);
  });
});

describe("serializeResponseHead", () => {
  it("writes the status line", () => {
    assert.equal(decodeLatin1(serializeResponseHead({ version: "HTTP/1.1", status: 200, reason: "Connection established", headers: [] })), "HTTP/1.1 200 Connection established\r\n\r\n");
    assert.equal(decodeLatin1(serializeResponseHead({ version: "HTTP/1.0", status: 204, headers: new HeaderList([["X", "1"]]) })), "HTTP/1.0 204 \r\nX: 1\r\n\r\n");
  });
  it("round-trips a parsed head", () => {
    const text = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n";
    assert.equal(decodeLatin1(serializeResponseHead(parseResponseHead(encodeLatin1(text)))), text);
  });
  it("validates status and reason", () => {
    assert.throws(() => serializeResponseHead({ version: "HTTP/1.1", status: 99, headers: [] }), RangeError);
    assert.throws(() => serializeResponseHead({ version: "HTTP/1.1", status: 200.5, headers: [] }), RangeError);
    assert.throws(() => serializeResponseHead({ version: "HTTP/1.1", status: 200, reason: "OK\r\nX: 1", headers: [] }), TypeError);
  });
});

describe("errorResponse", () => {
  it("builds a complete, closed, text/plain response", () => {
    const bytes = errorResponse(403, "Forbidden", "Blocked: caf\u00e9\n", [["X-Tollgate-Rule", "ads"]]);
    const text = decodeLatin1(bytes);
    const end = text.indexOf("\r\n\r\n") + 4;
    const head = parseResponseHead(bytes.subarray(0, end));
    assert.equal(head.status, 403);
    assert.equal(head.reason, "Forbidden");
    assert.equal(head.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(head.headers.get("connection"), "close");
    assert.equal(head.headers.get("x-tollgate-rule"), "ads");
    const body = bytes.subarray(end);
    assert.equal(Number(head.headers.get("content-length")), body.length);
    assert.equal(new TextDecoder().decode(body), "Blocked: caf\u00e9\n");
  });
  it("omits the body for a HEAD but keeps the length it would have", () => {
    const bytes = errorResponse(502, "Bad Gateway", "Upstream gone\n", [], { omitBody: true });
    const text = decodeLatin1(bytes);
    assert.ok(text.endsWith("\r\n\r\n"), JSON.stringify(text));
    assert.equal(parseResponseHead(bytes).headers.get("content-length"), "14");
  });
  it("lets Content-Type be replaced but not the framing fields", () => {
    const text = decodeLatin1(errorResponse(502, "Bad Gateway", "<p>x</p>", [["Content-Type", "text/html"]]));
    assert.ok(text.includes("Content-Type: text/html\r\n"));
    assert.ok(!text.includes("text/plain"));
    assert.throws(() => errorResponse(400, "Bad Request", "", [["content-length", "1"]]), TypeError);
    assert.throws(() => errorResponse(400, "Bad Request", "", [["Connection", "keep-alive"]]), TypeError);
    assert.throws(() => errorResponse(400, "Bad Request", "", [["X", "a\r\nb"]]), TypeError);
  });
  it("formatFieldLines formats in order", () => {
    assert.equal(formatFieldLines([["A", "1"], ["b", ""]]), "A: 1\r\nb: \r\n");
  });
});
