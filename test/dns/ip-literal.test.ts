import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseIpLiteral } from "../../src/dns/ip-literal.ts";

describe("parseIpLiteral", () => {
  it("returns undefined for DNS names", () => {
    for (const name of ["example.com", "localhost", "a1.b2", "1.2.3.example", "xn--bcher-kva.example", "0x.example"]) {
      assert.equal(parseIpLiteral(name), undefined, name);
    }
  });

  it("canonicalises IPv4 like URL parsing does", () => {
    assert.deepEqual(parseIpLiteral("192.0.2.1"), { kind: "ipv4", address: "192.0.2.1" });
    assert.deepEqual(parseIpLiteral("127.1"), { kind: "ipv4", address: "127.0.0.1" });
    assert.deepEqual(parseIpLiteral("0x7f.0.0.1"), { kind: "ipv4", address: "127.0.0.1" });
    assert.deepEqual(parseIpLiteral("2130706433"), { kind: "ipv4", address: "127.0.0.1" });
    assert.deepEqual(parseIpLiteral("10.0.0.1."), { kind: "ipv4", address: "10.0.0.1" });
  });

  it("canonicalises IPv6, with or without brackets", () => {
    assert.deepEqual(parseIpLiteral("::1"), { kind: "ipv6", address: "::1" });
    assert.deepEqual(parseIpLiteral("[0:0:0:0:0:0:0:1]"), { kind: "ipv6", address: "::1" });
    assert.deepEqual(parseIpLiteral("2001:DB8::A"), { kind: "ipv6", address: "2001:db8::a" });
  });

  it("throws a RangeError for invalid literals", () => {
    for (const text of ["1.2.3.999", "example.256", "::g", "1:2:3:4:5:6:7:8:9", "fe80::1%eth0"]) {
      assert.throws(() => parseIpLiteral(text), RangeError, text);
    }
  });
});
