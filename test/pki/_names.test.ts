import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { nameKey, parseIPv4, parseIPv6, parseSubjectName } from "../../src/pki/_names.ts";

describe("parseIPv4 / parseIPv6", () => {
  it("parses valid literals", () => {
    assert.deepEqual(parseIPv4("10.0.255.1"), Uint8Array.of(10, 0, 255, 1));
    assert.deepEqual(parseIPv6("::1"), Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1));
    assert.deepEqual(parseIPv6("[2001:db8::a:b]")?.subarray(0, 4), Uint8Array.of(0x20, 0x01, 0x0d, 0xb8));
    assert.deepEqual(parseIPv6("::ffff:192.0.2.1")?.subarray(10), Uint8Array.of(0xff, 0xff, 192, 0, 2, 1));
    assert.deepEqual(parseIPv6("1:2:3:4:5:6:7:8")?.subarray(14), Uint8Array.of(0, 8));
    assert.deepEqual(parseIPv6("::"), new Uint8Array(16));
  });

  it("rejects malformed literals", () => {
    for (const s of ["1.2.3", "1.2.3.256", "01.2.3.4", "1.2.3.4.5", "1.2.3.-4"]) assert.equal(parseIPv4(s), null, s);
    for (const s of ["1::2::3", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "::g", "12345::", "fe80::1%eth0", "1:2:3:4:5:6:7::8", ":1"]) {
      assert.equal(parseIPv6(s), null, s);
    }
  });
});

describe("parseSubjectName", () => {
  it("normalises DNS names", () => {
    assert.deepEqual(parseSubjectName("WWW.Example.COM."), { kind: "dns", value: "www.example.com" });
    assert.deepEqual(parseSubjectName("*.example.com"), { kind: "dns", value: "*.example.com" });
    assert.deepEqual(parseSubjectName("_dmarc.x-1.example"), { kind: "dns", value: "_dmarc.x-1.example" });
    assert.deepEqual(parseSubjectName("localhost"), { kind: "dns", value: "localhost" });
  });

  it("recognises IP literals", () => {
    const v6 = parseSubjectName("[2001:DB8::1]");
    assert.equal(v6.kind, "ip");
    assert.equal(v6.value, "2001:db8::1");
    assert.equal(parseSubjectName("192.0.2.1").kind, "ip");
    assert.equal(nameKey(parseSubjectName("2001:db8::1")), nameKey(parseSubjectName("2001:db8:0:0::1")));
  });

  it("rejects what is neither", () => {
    const bad = ["", "exa mple.com", "-a.com", "a-.com", "a..b", ".", "1.2.3.256", "1.2.3", "ümlaut.de", "*", "*.com", "a.*.com",
      "x".repeat(64) + ".com", `${"a.".repeat(127)}com`, "::g", "a/b", "a:b"];
    for (const s of bad) assert.throws(() => parseSubjectName(s), TypeError, s);
  });
});
