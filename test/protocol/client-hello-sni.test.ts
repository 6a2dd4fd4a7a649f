import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseSniHostName } from "../../src/protocol/client-hello-sni.ts";

const enc = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

describe("parseSniHostName", () => {
  it("lowercases valid names and flags IP literals", () => {
    assert.deepEqual(parseSniHostName(enc("WWW.Example.COM")), { name: "www.example.com", isIp: false });
    assert.deepEqual(parseSniHostName(enc("_dmarc.x-y.example")), { name: "_dmarc.x-y.example", isIp: false });
    assert.deepEqual(parseSniHostName(enc("203.0.113.9")), { name: "203.0.113.9", isIp: true });
    assert.deepEqual(parseSniHostName(enc("FE80::1")), { name: "fe80::1", isIp: true });
    assert.deepEqual(parseSniHostName(enc("0x7f.1")), { name: "0x7f.1", isIp: true });
    assert.deepEqual(parseSniHostName(enc("host.0X10")), { name: "host.0x10", isIp: true });
    assert.deepEqual(parseSniHostName(enc("123")), { name: "123", isIp: true });
    assert.deepEqual(parseSniHostName(enc("123.example")), { name: "123.example", isIp: false });
  });

  it("refuses what a policy must not see", () => {
    for (const bad of ["", "example.com.", "a..b", ".a", "a b", "a\tb", "a%2eb", "*.example.com", "a@b", "[::1]", "::g", "1:2", "ex\u00e4mple.com"]) {
      const r = parseSniHostName(enc(bad));
      assert.equal(typeof r, "string", JSON.stringify(bad));
    }
    assert.match(String(parseSniHostName(enc("a\u0000b"))), /"a\\x00b" contains byte 0x00/);
    assert.equal(typeof parseSniHostName(enc("a".repeat(63))), "object");
    assert.equal(typeof parseSniHostName(enc("a".repeat(64))), "string");
    assert.equal(typeof parseSniHostName(enc(`${"a".repeat(63)}.`.repeat(3) + "a".repeat(61))), "object");
    assert.equal(typeof parseSniHostName(enc(`${"a".repeat(63)}.`.repeat(3) + "a".repeat(62))), "string");
  });
});
