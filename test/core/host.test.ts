import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { hostEquals, hostText, normalizeHost, tryNormalizeHost } from "../../src/core/host.ts";

const dns = (name: string) => ({ kind: "dns", name });
const v4 = (address: string) => ({ kind: "ipv4", address });
const v6 = (address: string) => ({ kind: "ipv6", address });

describe("normalizeHost: names", () => {
  it("lowercases and strips one trailing dot", () => {
    assert.deepEqual(normalizeHost("EXAMPLE.com."), dns("example.com"));
    assert.deepEqual(normalizeHost("Example.COM"), normalizeHost("example.com"));
    assert.deepEqual(normalizeHost("localhost"), dns("localhost"));
    assert.throws(() => normalizeHost("example.com.."), /empty label/);
    assert.throws(() => normalizeHost("."), /empty label/);
  });
  it("converts IDNs to punycode", () => {
    assert.deepEqual(normalizeHost("bücher.de"), dns("xn--bcher-kva.de"));
    assert.deepEqual(normalizeHost("BÜCHER.DE."), dns("xn--bcher-kva.de"));
    assert.deepEqual(normalizeHost("xn--bcher-kva.de"), dns("xn--bcher-kva.de"));
    assert.deepEqual(normalizeHost("ｅｘａｍｐｌｅ.com"), dns("example.com")); // full-width letters
    assert.deepEqual(normalizeHost("bücher.de\u3002"), dns("xn--bcher-kva.de")); // ideographic full stop
    assert.deepEqual(normalizeHost("faß.de"), dns("xn--fa-hia.de")); // nontransitional
  });
  it("allows underscores and hyphens in labels", () => {
    assert.deepEqual(normalizeHost("_dmarc.Example.com"), dns("_dmarc.example.com"));
    assert.deepEqual(normalizeHost("a-b.c_d.example"), dns("a-b.c_d.example"));
  });
  it("enforces label and name lengths", () => {
    const l63 = "a".repeat(63);
    assert.deepEqual(normalizeHost(`${l63}.com`), dns(`${l63}.com`));
    assert.throws(() => normalizeHost(`${l63}a.com`), /label longer than 63/);
    const name253 = `${"a".repeat(61)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(63)}`;
    assert.equal(name253.length, 253);
    assert.deepEqual(normalizeHost(name253), dns(name253));
    assert.deepEqual(normalizeHost(`${name253}.`), dns(name253));
    assert.throws(() => normalizeHost(`a${name253}`), /longer than 253/);
    assert.throws(() => normalizeHost("x".repeat(5000)), /longer than 1024/);
    assert.throws(() => normalizeHost("a..b"), /empty label/);
    assert.throws(() => normalizeHost(".a"), /empty label/);
    assert.throws(() => normalizeHost(""), /empty/);
  });
  it("rejects whitespace, percent-encoding, userinfo, ports and paths", () => {
    const cases: [string, RegExp][] = [
      ["exa mple.com", /whitespace/],
      ["example.com\n", /whitespace/],
      ["\texample.com", /whitespace/],
      ["exa%6dple.com", /percent-encoding/],
      ["user@example.com", /userinfo/],
      ["example.com:443", /ports are not allowed/],
      ["[::1]:443", /unterminated|port/],
      ["example.com/path", /paths/],
      ["example.com\\x", /paths/],
      ["example.com?q", /paths/],
      ["example.com#f", /paths/],
      ["exa*mple.com", /character "\*" not allowed/],
      ["ex\u200dample.com", /IDNA/], // a zero-width joiner in a Latin label
      ["\uff20x.com", /IDNA/], // full-width "@" maps to "@"
      ["xn--zz.de", /not a valid host name/], // invalid punycode
      ["fe80::1%eth0", /zone ids/],
      ["[fe80::1%25eth0]", /invalid IPv6/],
      ["[::1", /unterminated/],
    ];
    for (const [input, re] of cases) {
      assert.throws(() => normalizeHost(input), (e: unknown) => e instanceof TypeError && re.test(e.message), input);
    }
    assert.throws(() => normalizeHost("exa mple.com"), { message: 'Invalid host "exa mple.com": whitespace and control characters are not allowed' });
  });
});

describe("normalizeHost: IP literals", () => {
  it("recognises IPv4 and IPv6 (with or without brackets) in canonical form", () => {
    assert.deepEqual(normalizeHost("192.0.2.1"), v4("192.0.2.1"));
    assert.deepEqual(normalizeHost("192.0.2.1."), v4("192.0.2.1"));
    assert.deepEqual(normalizeHost("[::1]"), v6("::1"));
    assert.deepEqual(normalizeHost("::1"), v6("::1"));
    assert.deepEqual(normalizeHost("[2001:DB8:0:0:0:0:0:1]"), v6("2001:db8::1"));
    assert.deepEqual(normalizeHost("[::FFFF:127.0.0.1]"), v6("::ffff:127.0.0.1"));
    assert.deepEqual(normalizeHost("[::ffff:7f00:1]"), v6("::ffff:127.0.0.1"));
  });
  it("treats numeric shorthand as the IPv4 address a URL parser makes of it", () => {
    assert.deepEqual(normalizeHost("127.1"), v4("127.0.0.1"));
    assert.deepEqual(normalizeHost("0x7f.1"), v4("127.0.0.1"));
    assert.deepEqual(normalizeHost("0X7F.0.0.1"), v4("127.0.0.1"));
    assert.deepEqual(normalizeHost("2130706433"), v4("127.0.0.1"));
    assert.deepEqual(normalizeHost("10.1"), v4("10.0.0.1"));
    assert.deepEqual(normalizeHost("0"), v4("0.0.0.0"));
    assert.deepEqual(normalizeHost("\uff11\uff12\uff17.\uff10.\uff10.\uff11"), v4("127.0.0.1")); // full-width digits
  });
  it("rejects octal-looking and invalid numeric hosts", () => {
    assert.throws(() => normalizeHost("0177.0.0.1"), /leading zeros are ambiguous/);
    assert.throws(() => normalizeHost("01.2.3.4"), /leading zeros are ambiguous/);
    assert.throws(() => normalizeHost("256.1.1.1"), /not a valid host name or IPv4/);
    assert.throws(() => normalizeHost("1.2.3.4.5"), /not a valid host name or IPv4/);
    assert.throws(() => normalizeHost("example.123"), /not a valid host name or IPv4/);
    assert.throws(() => normalizeHost("[1.2.3.4]"), /invalid IPv6/);
  });
  it("never yields a name whose last label is numeric", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom("0", "1", "7f", "0x7f", "a", "255", "999", "00", "x"), { minLength: 1, maxLength: 5 }), (labels) => {
        const h = tryNormalizeHost(labels.join("."));
        if (h?.kind === "dns") assert.doesNotMatch(h.name, /(^|\.)(\d+|0x[0-9a-f]*)$/);
      }),
      { numRuns: 500 },
    );
  });
});

describe("normalizeHost: properties", () => {
  it("is idempotent and case-insensitive", () => {
    const label = fc.stringMatching(/^[a-zA-Z0-9_][a-zA-Z0-9_-]{0,10}$/);
    fc.assert(
      fc.property(fc.array(label, { minLength: 1, maxLength: 4 }), fc.boolean(), (labels, dot) => {
        const input = labels.join(".") + (dot ? "." : "");
        const h = tryNormalizeHost(input);
        if (h === undefined) return;
        assert.deepEqual(normalizeHost(hostText(h)), h);
        assert.deepEqual(normalizeHost(input.toUpperCase()), h);
      }),
      { numRuns: 1000 },
    );
  });
});

describe("hostText / hostEquals", () => {
  it("brackets IPv6 and compares normalised hosts", () => {
    assert.equal(hostText(normalizeHost("[::1]")), "[::1]");
    assert.equal(hostText(normalizeHost("127.1")), "127.0.0.1");
    assert.equal(hostText(normalizeHost("Bücher.de")), "xn--bcher-kva.de");
    assert.equal(hostEquals(normalizeHost("A.example."), normalizeHost("a.EXAMPLE")), true);
    assert.equal(hostEquals(normalizeHost("127.0.0.1"), normalizeHost("::ffff:127.0.0.1")), false);
  });
});

describe("isLoopbackHost", () => {
  it("recognises loopback names and addresses only", async () => {
    const { isLoopbackHost } = await import("../../src/core/host.ts");
    for (const h of ["localhost", "127.0.0.1", "127.9.8.7", "::1", "[::1]", "LOCALHOST"]) assert.equal(isLoopbackHost(h), true, h);
    for (const h of ["0.0.0.0", "::", "10.0.0.1", "192.168.1.1", "example.com", "127.example.com"]) assert.equal(isLoopbackHost(h), false, h);
  });
});
