import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { encodeLatin1 } from "../../src/core/bytes.ts";
import { HttpParseError } from "../../src/protocol/http-errors.ts";
import { HeadReader } from "../../src/protocol/http-head-reader.ts";
import { parseRequestHead, type RequestHead } from "../../src/protocol/http-request-head.ts";

function throwsStatus(fn: () => unknown, status: number, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof HttpParseError, `expected HttpParseError, got ${String(e)}`);
    assert.equal(e.status, status, e.message);
    if (message !== undefined) assert.match(e.message, message);
    return true;
  });
}

/** Parse "line\r\nfield\r\n...\r\n\r\n" built from a start line and field lines. */
function req(start: string, ...fields: string[]): RequestHead {
  return parseRequestHead(encodeLatin1(`${start}\r\n${fields.map((f) => `${f}\r\n`).join("")}\r\n`));
}
function bad(status: number, start: string, fields: string[], message?: RegExp): void {
  throwsStatus(() => req(start, ...fields), status, message);
}

describe("parseRequestHead: accepted forms", () => {
  it("origin-form keeps headers in order with their case", () => {
    const h = req("GET /a/b?c=d HTTP/1.1", "Host: example.com", "X-Multi: 1", "x-multi: 2", "Accept:  */* ");
    assert.equal(h.method, "GET");
    assert.equal(h.target, "/a/b?c=d");
    assert.equal(h.version, "HTTP/1.1");
    assert.equal(h.form, "origin");
    assert.equal(h.path, "/a/b?c=d");
    assert.equal(h.authority, undefined);
    assert.equal(h.url, undefined);
    assert.deepEqual([...h.headers], [["Host", "example.com"], ["X-Multi", "1"], ["x-multi", "2"], ["Accept", "*/*"]]);
    assert.equal(h.headers.get("HOST"), "example.com");
    assert.deepEqual(h.headers.getAll("x-MULTI"), ["1", "2"]);
    assert.ok(h.headers.has("accept"));
  });

  it("absolute-form with a query", () => {
    const h = req("GET http://Example.com:8080/a/b?x=1&y=two HTTP/1.1", "Host: example.com:8080");
    assert.equal(h.form, "absolute");
    assert.equal(h.scheme, "http");
    assert.deepEqual(h.authority, { host: "Example.com", port: 8080 });
    assert.equal(h.url?.href, "http://example.com:8080/a/b?x=1&y=two");
    assert.equal(h.path, "/a/b?x=1&y=two");
  });

  it("absolute-form default ports and empty paths", () => {
    const h = req("GET http://example.com HTTP/1.1", "Host: example.com");
    assert.deepEqual(h.authority, { host: "example.com", port: 80 });
    assert.equal(h.path, "/");
    assert.equal(req("GET http://example.com?q=1 HTTP/1.1", "Host: x").path, "/?q=1");
    const s = req("GET HTTPS://example.com/x HTTP/1.1", "Host: example.com");
    assert.equal(s.scheme, "https");
    assert.deepEqual(s.authority, { host: "example.com", port: 443 });
    const v6 = req("GET http://[::1]:8080/ HTTP/1.1", "Host: [::1]:8080");
    assert.deepEqual(v6.authority, { host: "::1", port: 8080 });
  });

  it("CONNECT to [::1]:443", () => {
    const h = req("CONNECT [::1]:443 HTTP/1.1", "Host: [::1]:443");
    assert.equal(h.form, "authority");
    assert.deepEqual(h.authority, { host: "::1", port: 443 });
    assert.equal(h.path, undefined);
    assert.equal(h.url, undefined);
  });

  it("CONNECT to a name, HTTP/1.0 without Host", () => {
    const h = req("CONNECT Example.com:8443 HTTP/1.0");
    assert.equal(h.version, "HTTP/1.0");
    assert.deepEqual(h.authority, { host: "Example.com", port: 8443 });
  });

  it("asterisk-form for OPTIONS", () => {
    const h = req("OPTIONS * HTTP/1.1", "Host: a");
    assert.equal(h.form, "asterisk");
    assert.equal(h.path, "*");
  });

  it("accepts an empty Host, extension methods and identical repeated Content-Length", () => {
    assert.equal(req("GET / HTTP/1.1", "Host:").headers.get("host"), "");
    assert.equal(req("PURGE /x HTTP/1.1", "Host: a").method, "PURGE");
    assert.ok(req("POST / HTTP/1.1", "Host: a", "Content-Length: 5", "content-length: 5"));
    assert.ok(req("POST / HTTP/1.1", "Host: a", "Content-Length: 5, 5"));
    assert.ok(req("POST / HTTP/1.1", "Host: a", "Content-Length: 9007199254740991"));
    assert.ok(req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: gzip, Chunked"));
    assert.ok(req("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: gzip", "Transfer-Encoding: chunked"));
  });
});

describe("parseRequestHead: malformed heads", () => {
  it("bare LF / bare CR", () => {
    throwsStatus(() => parseRequestHead(encodeLatin1("GET / HTTP/1.1\nHost: a\r\n\r\n")), 400, /bare LF/);
    throwsStatus(() => parseRequestHead(encodeLatin1("GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n")), 400, /bare CR/);
    throwsStatus(() => parseRequestHead(encodeLatin1("GET / HTTP/1.1\r\nHost: a\r\n")), 400, /empty line/);
  });
  it("obs-fold and whitespace before the first field", () => {
    bad(400, "GET / HTTP/1.1", ["Host: a", "X-A: b", " c"], /folding/);
    bad(400, "GET / HTTP/1.1", [" Host: a"], /folding/);
    bad(400, "GET / HTTP/1.1", ["Host: a", "\tX: c"], /folding/);
  });
  it("field syntax", () => {
    bad(400, "GET / HTTP/1.1", ["Host : a"], /Whitespace between field name "Host" and colon/);
    bad(400, "GET / HTTP/1.1", ["Host: a", "X[1]: b"], /Invalid field name/);
    bad(400, "GET / HTTP/1.1", ["Host: a", "X-A: b\0c"], /Invalid character/);
    bad(400, "GET / HTTP/1.1", ["Host: a", "X-A: b\x01"], /Invalid character/);
    bad(400, "GET / HTTP/1.1", ["Host: a", "no colon"], /no colon/);
    assert.equal(req("GET / HTTP/1.1", "Host: a", "X-A: b\tc").headers.get("x-a"), "b\tc");
  });
  it("request line shape", () => {
    for (const line of ["GET  / HTTP/1.1", "GET / HTTP/1.1 ", " GET / HTTP/1.1", "GET /", "GET\t/\tHTTP/1.1", "GET / HTTP/1.1 extra", "", "GET"]) {
      bad(400, line, ["Host: a"]);
    }
    bad(400, "G(T / HTTP/1.1", ["Host: a"], /Invalid method/);
    bad(400, "GET /caf\u00e9 HTTP/1.1", ["Host: a"], /Invalid request target/);
    bad(400, "GET /a\x7f HTTP/1.1", ["Host: a"], /Invalid request target/);
  });
  it("versions", () => {
    bad(505, "GET / HTTP/2.0", ["Host: a"], /Unsupported HTTP version "HTTP\/2.0"/);
    bad(505, "GET / HTTP/1.2", ["Host: a"]);
    bad(505, "GET / HTTP/0.9", ["Host: a"]);
    for (const v of ["http/1.1", "HTTP/1.1x", "HTTP/11", "HTTP/1", "HTTPS/1.1"]) bad(400, `GET / ${v}`, ["Host: a"], /Invalid HTTP version/);
  });
  it("size limits", () => {
    const many = Array.from({ length: 100 }, (_, i) => `X-${i}: v`);
    assert.equal(req("GET / HTTP/1.1", ...many.slice(0, 99), "Host: a").headers.size, 100);
    bad(431, "GET / HTTP/1.1", ["Host: a", ...many], /Too many header fields/);
    const bytes = encodeLatin1("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\r\n");
    throwsStatus(() => parseRequestHead(bytes, { maxHeaders: 1 }), 431);
    throwsStatus(() => parseRequestHead(bytes, { maxHeadBytes: 20 }), 431, /Request head exceeds 20 bytes/);
  });
});

describe("parseRequestHead: pinned details of the head checks", () => {
  const raw = (text: string, limits?: { maxHeadBytes?: number; maxHeaders?: number }) => parseRequestHead(encodeLatin1(text), limits);
  it("keeps obs-text in values byte for byte (0x80-0xFF as U+0080-U+00FF)", () => {
    const h = req("GET / HTTP/1.1", "Host: a", "X-Obs: caf\u00e9 \u0080\u009f\u00ff", "X-Tab:\t a\tb \t");
    assert.equal(h.headers.get("x-obs"), "caf\u00e9 \u0080\u009f\u00ff");
    assert.equal(h.headers.get("x-tab"), "a\tb");
    bad(400, "GET / HTTP/1.1", ["Host: a", "X-\u00e9: v"], /Invalid field name/);
    bad(400, "\u00ef\u00bb\u00bfGET / HTTP/1.1", ["Host: a"], /Invalid method/);
  });
  it("looks up names case-insensitively after upper-case Latin-1 values", () => {
    const h = req("GET /a HTTP/1.0", "X-Up: \u00c0\u00c9\u00de\u00d7", "Content-Length: 0", "HOST: a");
    assert.equal(h.headers.get("x-up"), "\u00c0\u00c9\u00de\u00d7");
    assert.equal(h.headers.get("host"), "a");
    assert.equal(h.headers.get("Content-length"), "0");
  });
  it("field lines: empty name, empty line, DEL and tab before the colon", () => {
    bad(400, "GET / HTTP/1.1", ["Host: a", ": v"], /Empty field name/);
    bad(400, "GET / HTTP/1.1", ["Host: a", "X-A: b\x7f"], /Invalid character/);
    bad(400, "GET / HTTP/1.1", ["Host\t: a"], /Whitespace between field name "Host" and colon/);
    bad(400, "GET / HTTP/1.1", ["Host: a", "X\x01Y: b"], /Invalid field name/);
    throwsStatus(() => raw("GET / HTTP/1.1\r\nHost: a\r\n\r\nX: b\r\n\r\n"), 400, /^Empty line inside header section$/);
  });
  it("line endings are checked first, at the first bad offset", () => {
    throwsStatus(() => raw("G(T / HTTP/1.1\r\nX: a\rb\r\n\r\n"), 400, /^Request head contains a bare CR at offset 20$/);
    throwsStatus(() => raw("GET / HTTP/1.1\r\nX: a\nb\rc\r\n\r\n"), 400, /^Request head contains a bare LF at offset 20$/);
    throwsStatus(() => raw("GET / HTTP/1.1\r\nHost: a\r\n\r\r\n"), 400, /bare CR at offset 25/);
    throwsStatus(() => raw("G(T / HTTP/1.1\r\nHost: a\r\n"), 400, /^Request head does not end with an empty line$/);
  });
  it("the request line is checked before the fields, the field count before any field", () => {
    throwsStatus(() => raw("G(T / HTTP/1.1\r\n folded\r\n\r\n"), 400, /Invalid method/);
    throwsStatus(() => raw("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", { maxHeaders: 1 }), 431, /^Too many header fields \(2, limit 1\)$/);
    throwsStatus(() => raw("GET / HTTP/1.1\r\nX : a\r\nHost: a\r\n\r\n"), 400, /Whitespace/);
  });
  it("a head exactly at the byte limit is accepted", () => {
    const text = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    assert.equal(raw(text, { maxHeadBytes: text.length }).headers.size, 1);
    throwsStatus(() => raw(text, { maxHeadBytes: text.length - 1 }), 431);
  });
  it("reports the offending line in messages", () => {
    throwsStatus(() => raw("GET / HTTP/1.1\r\nHost: a\r\n\tfolded: x\r\n\r\n"), 400, /^Obsolete line folding is not allowed: "\\tfolded: x"$/);
    throwsStatus(() => raw("GET / HTTP/1.1\r\nHost: a\r\nno colon\r\n\r\n"), 400, /^Header line "no colon" has no colon$/);
    throwsStatus(() => raw("GET / HTTP/1.1\r\nHost: a\r\nX(1): v\r\n\r\n"), 400, /^Invalid field name "X\(1\)"$/);
    throwsStatus(() => raw("GET / HTTP/1.1\r\nHost: a\r\nX-A: \u0000\r\n\r\n"), 400, /^Invalid character in value of field "X-A"$/);
  });
});

describe("parseRequestHead: Host", () => {
  it("HTTP/1.1 needs exactly one Host", () => {
    bad(400, "GET / HTTP/1.1", [], /Missing Host/);
    bad(400, "GET / HTTP/1.1", ["Host: a", "host: a"], /Multiple Host/);
    bad(400, "GET / HTTP/1.0", ["Host: a", "Host: b"], /Multiple Host/);
    assert.ok(req("GET / HTTP/1.0"));
  });
  it("Host must be host[:port]", () => {
    for (const h of ["a b", "user@a", "a:0", "a:x", "[::1", "a/b"]) bad(400, "GET / HTTP/1.1", [`Host: ${h}`], /Invalid Host header/);
  });
});

describe("parseRequestHead: targets", () => {
  it("CONNECT must be authority-form host:port", () => {
    for (const t of ["example.com", "example.com:0", "example.com:65536", "example.com:https", "/", "http://a/", "[::1]", "::1:443", "user@a:443", "*"]) {
      bad(400, `CONNECT ${t} HTTP/1.1`, ["Host: a"], /CONNECT target/);
    }
  });
  it("other methods must not use authority-form", () => {
    bad(400, "GET example.com:443 HTTP/1.1", ["Host: a"], /not origin-form or absolute-form/);
    bad(400, "POST example.com HTTP/1.1", ["Host: a"]);
  });
  it("asterisk-form only with OPTIONS", () => {
    bad(400, "GET * HTTP/1.1", ["Host: a"], /Asterisk-form/);
  });
  it("absolute-form must be http(s) without userinfo and with a clear host", () => {
    bad(400, "GET ftp://example.com/ HTTP/1.1", ["Host: a"], /Unsupported scheme "ftp"/);
    bad(400, "GET ws://example.com/ HTTP/1.1", ["Host: a"], /Unsupported scheme/);
    bad(400, "GET http://user:pw@example.com/ HTTP/1.1", ["Host: a"], /userinfo/);
    bad(400, "GET http://@example.com/ HTTP/1.1", ["Host: a"], /userinfo/);
    bad(400, "GET http://evil.com\\@good.com/ HTTP/1.1", ["Host: a"], /userinfo/);
    bad(400, "GET http:///x HTTP/1.1", ["Host: a"], /Invalid host/);
    bad(400, "GET http://a\\b.com/ HTTP/1.1", ["Host: a"], /Invalid host/);
    bad(400, "GET http://ex%61mple.com/ HTTP/1.1", ["Host: a"], /Invalid host/);
    bad(400, "GET http://example.com:0/ HTTP/1.1", ["Host: a"], /Invalid host/);
    bad(400, "GET http:example.com/ HTTP/1.1", ["Host: a"]);
    bad(400, "GET http://0x7f.1/ HTTP/1.1", ["Host: a"], /Ambiguous host "0x7f.1"/);
    bad(400, "GET http://2130706433/ HTTP/1.1", ["Host: a"], /Ambiguous host/);
    bad(400, "GET http://example.com/#frag HTTP/1.1", ["Host: a"], /fragment/);
    bad(400, "GET /a#frag HTTP/1.1", ["Host: a"], /fragment/);
  });
});

describe("parseRequestHead: request smuggling", () => {
  const post = "POST / HTTP/1.1";
  it("Transfer-Encoding with Content-Length", () => {
    bad(400, post, ["Host: a", "Content-Length: 5", "Transfer-Encoding: chunked"], /both be present/);
    bad(400, post, ["Host: a", "Transfer-Encoding: chunked", "Content-Length: 0"], /both be present/);
  });
  it("conflicting or malformed Content-Length", () => {
    bad(400, post, ["Host: a", "Content-Length: 5", "Content-Length: 6"], /^Conflicting Content-Length values "5" and "6"$/);
    bad(400, post, ["Host: a", "Content-Length: 5, 6"], /Conflicting/);
    for (const v of ["abc", "-1", "+5", "", "5,", ",5", "1e3", "0x10", "5 5", "5.0"]) {
      bad(400, post, ["Host: a", `Content-Length: ${v}`], /Invalid Content-Length/);
    }
    bad(400, post, ["Host: a", "Content-Length: 9007199254740992"], /too large/);
    bad(400, post, ["Host: a", "Content-Length: 99999999999999999999999"], /too large/);
  });
  it("Transfer-Encoding must end with a single chunked", () => {
    bad(400, post, ["Host: a", "Transfer-Encoding: gzip"], /must be "chunked"/);
    bad(400, post, ["Host: a", "Transfer-Encoding: chunked, gzip"], /follows "chunked"/);
    bad(400, post, ["Host: a", "Transfer-Encoding: chunked, chunked"], /more than once/);
    bad(400, post, ["Host: a", "Transfer-Encoding: chunked", "Transfer-Encoding: chunked"], /more than once/);
    bad(400, post, ["Host: a", "Transfer-Encoding: chunked;ext=1"], /no parameters/);
    bad(400, post, ["Host: a", "Transfer-Encoding:"], /Empty element/);
    bad(400, post, ["Host: a", "Transfer-Encoding: , chunked"], /Empty element/);
    bad(400, post, ["Host: a", "Transfer-Encoding: chunked,"], /Empty element/);
    bad(400, post, ["Host: a", "Transfer-Encoding: \"chunked\""], /Invalid transfer coding/);
    bad(501, post, ["Host: a", "Transfer-Encoding: foo, chunked"], /Unsupported transfer coding "foo"/);
    bad(501, post, ["Host: a", "Transfer-Encoding: identity"]);
  });
  it("Transfer-Encoding in HTTP/1.0", () => {
    bad(400, "POST / HTTP/1.0", ["Transfer-Encoding: chunked"], /HTTP\/1.0/);
  });
});

describe("parseRequestHead with HeadReader", () => {
  const text = "\r\nPOST http://example.com/submit?a=1 HTTP/1.1\r\nHost: example.com\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n";
  const bytes = encodeLatin1(text);
  function run(pieces: Uint8Array[]): { head: RequestHead; rest: string } {
    const reader = new HeadReader();
    for (let i = 0; i < pieces.length; i++) {
      const r = reader.push(pieces[i] ?? new Uint8Array(0));
      if (r !== undefined) {
        const rest = [r.rest, ...pieces.slice(i + 1)].map((p) => String.fromCharCode(...p)).join("");
        return { head: parseRequestHead(r.head), rest };
      }
    }
    throw new Error("no head");
  }
  function summary(x: { head: RequestHead; rest: string }): unknown {
    const { head } = x;
    return { ...head, headers: [...head.headers], url: head.url?.href, rest: x.rest };
  }
  it("byte at a time equals one chunk", () => {
    const one = summary(run([bytes]));
    assert.deepEqual(summary(run(Array.from(bytes, (_, i) => bytes.subarray(i, i + 1)))), one);
    assert.equal((one as { rest: string }).rest, "abcGET / HTTP/1.1\r\n");
  });
  it("random splits equal one chunk", () => {
    const one = summary(run([bytes]));
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: bytes.length }), { maxLength: 10 }), (cuts) => {
        const points = [0, ...cuts.sort((a, b) => a - b), bytes.length];
        const pieces = points.slice(1).map((p, i) => bytes.subarray(points[i] ?? 0, p));
        assert.deepEqual(summary(run(pieces)), one);
      }),
      { numRuns: 200 },
    );
  });
});
