import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { requestBodyFraming, responseBodyFraming, readFramingFields } from "../../src/protocol/body-framing.ts";
import { HttpParseError } from "../../src/protocol/http-errors.ts";
import { HeaderList } from "../../src/protocol/http-headers.ts";
import type { HttpVersion } from "../../src/protocol/http-head.ts";

function throwsStatus(fn: () => unknown, status: number, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof HttpParseError, `expected HttpParseError, got ${String(e)}`);
    assert.equal(e.status, status, e.message);
    if (message !== undefined) assert.match(e.message, message);
    return true;
  });
}
function rq(headers: [string, string][], version: HttpVersion = "HTTP/1.1") {
  return { version, headers: new HeaderList(headers) };
}
function rs(status: number, headers: [string, string][] = [], version: HttpVersion = "HTTP/1.1") {
  return { status, version, headers: new HeaderList(headers) };
}

describe("requestBodyFraming", () => {
  it("none, length, chunked", () => {
    assert.deepEqual(requestBodyFraming(rq([])), { kind: "none" });
    assert.deepEqual(requestBodyFraming(rq([["Content-Length", "42"]])), { kind: "length", length: 42 });
    assert.deepEqual(requestBodyFraming(rq([["Content-Length", "0"]])), { kind: "length", length: 0 });
    assert.deepEqual(requestBodyFraming(rq([["Content-Length", "007"], ["content-length", "7"]])), { kind: "length", length: 7 });
    assert.deepEqual(requestBodyFraming(rq([["Transfer-Encoding", "CHUNKED"]])), { kind: "chunked" });
    assert.deepEqual(requestBodyFraming(rq([["Transfer-Encoding", "gzip ,\tchunked"]])), { kind: "chunked" });
    assert.deepEqual(requestBodyFraming(rq([["Content-Length", "5"]], "HTTP/1.0")), { kind: "length", length: 5 });
  });
  it("refuses ambiguous framing", () => {
    throwsStatus(() => requestBodyFraming(rq([["Transfer-Encoding", "chunked"], ["Content-Length", "1"]])), 400);
    throwsStatus(() => requestBodyFraming(rq([["Transfer-Encoding", "gzip"]])), 400);
    throwsStatus(() => requestBodyFraming(rq([["Transfer-Encoding", "br, chunked"]])), 501);
    throwsStatus(() => requestBodyFraming(rq([["Transfer-Encoding", "chunked"]], "HTTP/1.0")), 400);
    throwsStatus(() => requestBodyFraming(rq([["Content-Length", "1"], ["Content-Length", "2"]])), 400, /Conflicting Content-Length values "1" and "2"/);
  });
});

describe("responseBodyFraming", () => {
  it("no body for HEAD, 1xx, 204, 304", () => {
    const cl: [string, string][] = [["Content-Length", "10"]];
    assert.deepEqual(responseBodyFraming(rs(200, cl), "HEAD"), { kind: "none" });
    assert.deepEqual(responseBodyFraming(rs(100), "GET"), { kind: "none" });
    assert.deepEqual(responseBodyFraming(rs(103, cl), "GET"), { kind: "none" });
    assert.deepEqual(responseBodyFraming(rs(204, cl), "GET"), { kind: "none" });
    assert.deepEqual(responseBodyFraming(rs(304, cl), "GET"), { kind: "none" });
  });
  it("tunnel for 2xx to CONNECT and for 101", () => {
    assert.deepEqual(responseBodyFraming(rs(200), "CONNECT"), { kind: "tunnel" });
    assert.deepEqual(responseBodyFraming(rs(299), "CONNECT"), { kind: "tunnel" });
    assert.deepEqual(responseBodyFraming(rs(101, [["Upgrade", "websocket"]]), "GET"), { kind: "tunnel" });
    assert.deepEqual(responseBodyFraming(rs(407, [["Content-Length", "3"]]), "CONNECT"), { kind: "length", length: 3 });
  });
  it("chunked, length, close", () => {
    assert.deepEqual(responseBodyFraming(rs(200, [["Transfer-Encoding", "chunked"]]), "GET"), { kind: "chunked" });
    assert.deepEqual(responseBodyFraming(rs(200, [["Transfer-Encoding", "gzip"]]), "GET"), { kind: "close" });
    assert.deepEqual(responseBodyFraming(rs(200, [["Content-Length", "5"]]), "POST"), { kind: "length", length: 5 });
    assert.deepEqual(responseBodyFraming(rs(200), "GET"), { kind: "close" });
    assert.deepEqual(responseBodyFraming(rs(500, [], "HTTP/1.0"), "GET"), { kind: "close" });
  });
  it("refuses ambiguous framing with 502", () => {
    throwsStatus(() => responseBodyFraming(rs(200, [["Transfer-Encoding", "chunked"], ["Content-Length", "1"]]), "GET"), 502);
    throwsStatus(() => responseBodyFraming(rs(200, [["Content-Length", "-1"]]), "GET"), 502);
    throwsStatus(() => responseBodyFraming(rs(200, [["Transfer-Encoding", "chunked"]], "HTTP/1.0"), "GET"), 502);
  });
});

describe("readFramingFields", () => {
  it("reports codings and length", () => {
    assert.deepEqual(readFramingFields(new HeaderList([["Transfer-Encoding", "GZip;level=\"9\", chunked"]]), "HTTP/1.1", "request"), {
      contentLength: undefined,
      transferCodings: ["gzip", "chunked"],
      chunked: true,
    });
    assert.deepEqual(readFramingFields(new HeaderList([["Content-Length", " 12 "]]), "HTTP/1.1", "response"), {
      contentLength: 12,
      transferCodings: undefined,
      chunked: false,
    });
  });
  it("rejects malformed transfer parameters", () => {
    throwsStatus(() => readFramingFields(new HeaderList([["Transfer-Encoding", "gzip;level, chunked"]]), "HTTP/1.1", "request"), 400);
  });
});
