import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  anyCidrContains,
  canonicalIp,
  cidrContains,
  formatCidr,
  formatIp,
  formatIPv6,
  isIp,
  IpScratch,
  isIPv4Mapped,
  parseCidr,
  parseIp,
  parseIPv4,
  parseIPv6,
  parseReportedIp,
} from "../../src/core/ip.ts";

const bytes = (...b: number[]) => new Uint8Array(b);

describe("parseIPv4", () => {
  it("parses strict dotted quads", () => {
    assert.deepEqual(parseIPv4("192.0.2.1"), bytes(192, 0, 2, 1));
    assert.deepEqual(parseIPv4("0.0.0.0"), bytes(0, 0, 0, 0));
    assert.deepEqual(parseIPv4("255.255.255.255"), bytes(255, 255, 255, 255));
  });
  it("rejects shorthand, leading zeros, out-of-range and junk", () => {
    for (const bad of [
      "127.1", "01.2.3.4", "1.2.3.04", "00.0.0.0", "256.0.0.1", "1.2.3", "1.2.3.4.5", "1..2.3",
      ".1.2.3", "1.2.3.", "0x7f.0.0.1", " 1.2.3.4", "1.2.3.4 ", "1.2.3.-4", "", "1.2.3.4/8",
    ]) {
      assert.equal(parseIPv4(bad), undefined, bad);
    }
  });
});

describe("parseIPv6", () => {
  it("parses every RFC 4291 text form", () => {
    const cases: [string, string][] = [
      ["::", "0000:0000:0000:0000:0000:0000:0000:0000"],
      ["::1", "0000:0000:0000:0000:0000:0000:0000:0001"],
      ["1::", "0001:0000:0000:0000:0000:0000:0000:0000"],
      ["2001:DB8::8:800:200C:417A", "2001:0db8:0000:0000:0008:0800:200c:417a"],
      ["2001:db8:0:0:8:800:200c:417a", "2001:0db8:0000:0000:0008:0800:200c:417a"],
      ["ff01::101", "ff01:0000:0000:0000:0000:0000:0000:0101"],
      ["::ffff:1.2.3.4", "0000:0000:0000:0000:0000:ffff:0102:0304"],
      ["::13.1.68.3", "0000:0000:0000:0000:0000:0000:0d01:4403"],
      ["1:2:3:4:5:6:1.2.3.4", "0001:0002:0003:0004:0005:0006:0102:0304"],
      ["1:2:3:4:5:6:7::", "0001:0002:0003:0004:0005:0006:0007:0000"],
      ["::2:3:4:5:6:7:8", "0000:0002:0003:0004:0005:0006:0007:0008"],
      ["0001:0002:0003:0004:0005:0006:0007:0008", "0001:0002:0003:0004:0005:0006:0007:0008"],
    ];
    for (const [text, full] of cases) {
      const b = parseIPv6(text);
      assert.ok(b, text);
      const hex = Array.from({ length: 8 }, (_, g) => (((b[g * 2] ?? 0) << 8) | (b[g * 2 + 1] ?? 0)).toString(16).padStart(4, "0"));
      assert.equal(hex.join(":"), full, text);
    }
  });
  it("rejects malformed text, zone ids and brackets", () => {
    for (const bad of [
      ":", ":::", "1:::2", "1::2::3", ":1", "1:", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "12345::",
      "g::", "fe80::1%eth0", "[::1]", "::1.2.3", "::ffff:01.2.3.4", "::ffff:1.2.3.256", "1:2:3:4:5:6:7:1.2.3.4",
      "::1.2.3.4:5", "1::2:3:4:5:6:7:8", "", " ::1", "::1 ", "1.2.3.4",
    ]) {
      assert.equal(parseIPv6(bad), undefined, bad);
    }
  });
});

describe("formatIPv6 (RFC 5952)", () => {
  it("produces canonical text", () => {
    const cases: [string, string][] = [
      ["2001:db8:0:0:0:0:2:1", "2001:db8::2:1"],
      ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"], // a single zero group is not compressed
      ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"], // the longest run
      ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // the first of equal runs
      ["2001:0DB8::0001", "2001:db8::1"],
      ["0:0:0:0:0:0:0:0", "::"],
      ["0:0:0:0:0:0:0:1", "::1"],
      ["1:0:0:0:0:0:0:0", "1::"],
      ["::ffff:c000:0201", "::ffff:192.0.2.1"], // IPv4-mapped in mixed notation
      ["fe80:0:0:0:1:0:0:0", "fe80::1:0:0:0"], // equal runs of three: the first
      ["1:0:0:2:0:0:0:3", "1:0:0:2::3"],
    ];
    for (const [text, canonical] of cases) {
      const b = parseIPv6(text);
      assert.ok(b, text);
      assert.equal(formatIPv6(b), canonical, text);
      assert.equal(canonicalIp(text), canonical);
    }
  });
  it("round-trips random addresses", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
        const text = formatIp(b);
        assert.deepEqual(parseIp(text), b);
        assert.equal(formatIp(parseIp(text) as Uint8Array), text);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (b) => {
        assert.deepEqual(parseIp(formatIp(b)), b);
      }),
    );
  });
  it("formats zero runs like a reference implementation", () => {
    const groups = fc.array(fc.constantFrom(0, 0, 0, 1, 0xabcd), { minLength: 8, maxLength: 8 });
    fc.assert(
      fc.property(groups, (g) => {
        const b = new Uint8Array(16);
        g.forEach((v, i) => {
          b[i * 2] = v >> 8;
          b[i * 2 + 1] = v & 0xff;
        });
        if (isIPv4Mapped(b)) return;
        // reference: find the longest (first) run of >= 2 zero groups
        let best = -1;
        let bestLen = 1;
        for (let s = 0; s < 8; s++) {
          let e = s;
          while (e < 8 && g[e] === 0) e++;
          if (e - s > bestLen) (best = s), (bestLen = e - s);
        }
        const hex = g.map((v) => v.toString(16));
        const expected = best < 0
          ? hex.join(":")
          : `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
        assert.equal(formatIPv6(b), expected);
      }),
      { numRuns: 1000 },
    );
  });
});

describe("parseCidr", () => {
  it("parses CIDRs and bare addresses, clearing host bits", () => {
    assert.equal(formatCidr(parseCidr("10.0.0.0/8")), "10.0.0.0/8");
    assert.equal(formatCidr(parseCidr("10.1.2.3/8")), "10.0.0.0/8");
    assert.equal(formatCidr(parseCidr("192.168.1.255/23")), "192.168.0.0/23");
    assert.equal(formatCidr(parseCidr("1.2.3.4")), "1.2.3.4/32");
    assert.equal(formatCidr(parseCidr("::1")), "::1/128");
    assert.equal(formatCidr(parseCidr("2001:db8::ff/32")), "2001:db8::/32");
    assert.equal(formatCidr(parseCidr("0.0.0.0/0")), "0.0.0.0/0");
    assert.equal(parseCidr("::/0").family, 6);
  });
  it("rejects bad prefixes and addresses", () => {
    for (const bad of ["10.0.0.0/33", "::/129", "10.0.0.0/08", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8/8", "10.0/8", "/8", "x/8", "fe80::1%eth0/64", "10.0.0.0/ 8"]) {
      assert.throws(() => parseCidr(bad), SyntaxError, bad);
    }
    assert.throws(() => parseCidr("10.0.0.0/33"), /Invalid prefix length in CIDR "10.0.0.0\/33": expected 0-32/);
  });
});

describe("cidrContains", () => {
  const ip = (t: string) => parseIp(t) as Uint8Array;
  it("matches IPv4 and IPv6 prefixes, including non-byte-aligned ones", () => {
    assert.equal(cidrContains(parseCidr("10.0.0.0/8"), ip("10.255.1.2")), true);
    assert.equal(cidrContains(parseCidr("10.0.0.0/8"), ip("11.0.0.1")), false);
    assert.equal(cidrContains(parseCidr("172.16.0.0/12"), ip("172.31.255.255")), true);
    assert.equal(cidrContains(parseCidr("172.16.0.0/12"), ip("172.32.0.0")), false);
    assert.equal(cidrContains(parseCidr("0.0.0.0/0"), ip("8.8.8.8")), true);
    assert.equal(cidrContains(parseCidr("1.2.3.4/32"), ip("1.2.3.5")), false);
    assert.equal(cidrContains(parseCidr("2001:db8::/32"), ip("2001:db8:1::1")), true);
    assert.equal(cidrContains(parseCidr("2001:db8::/33"), ip("2001:db8:8000::1")), false);
    assert.equal(cidrContains(parseCidr("::1/128"), ip("::1")), true);
  });
  it("treats IPv4-mapped IPv6 addresses as IPv4", () => {
    assert.equal(cidrContains(parseCidr("127.0.0.0/8"), ip("::ffff:127.0.0.1")), true);
    assert.equal(cidrContains(parseCidr("10.0.0.0/8"), ip("::ffff:11.0.0.1")), false);
    assert.equal(cidrContains(parseCidr("::ffff:0:0/96"), ip("192.0.2.1")), true);
    assert.equal(cidrContains(parseCidr("::ffff:10.0.0.0/104"), ip("10.9.9.9")), true);
    assert.equal(cidrContains(parseCidr("::/0"), ip("192.0.2.1")), true);
    assert.equal(cidrContains(parseCidr("::1/128"), ip("127.0.0.1")), false);
    // an IPv6 address that is not IPv4-mapped never matches an IPv4 CIDR
    assert.equal(cidrContains(parseCidr("0.0.0.0/0"), ip("::1")), false);
    assert.equal(cidrContains(parseCidr("0.0.0.0/0"), ip("::127.0.0.1")), false);
  });
  it("agrees with a bit-by-bit reference", () => {
    const bit = (b: Uint8Array, i: number) => ((b[i >> 3] ?? 0) >> (7 - (i & 7))) & 1;
    const to16 = (b: Uint8Array) => (b.length === 16 ? b : new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, ...b]));
    const addr = fc.oneof(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.uint8Array({ minLength: 16, maxLength: 16 }));
    fc.assert(
      fc.property(addr, addr, fc.integer({ min: 0, max: 128 }), (net, a, p) => {
        const prefix = Math.min(p, net.length * 8);
        const cidr = parseCidr(`${formatIp(net)}/${prefix}`);
        const n16 = to16(cidr.bytes);
        const a16 = to16(a);
        let expected = true;
        const bits = cidr.family === 4 ? 96 + prefix : prefix;
        if (cidr.family === 4 && a.length === 16 && !isIPv4Mapped(a)) expected = false;
        else for (let i = 0; i < bits; i++) if (bit(n16, i) !== bit(a16, i)) expected = false;
        assert.equal(cidrContains(cidr, a), expected);
        // an address always lies in its own prefix
        assert.equal(cidrContains(cidr, net), true);
      }),
      { numRuns: 3000 },
    );
  });
});

describe("parsing into reused buffers", () => {
  const texts = [
    "::", "::1", "1::", "ffff::", "1:2:3:4:5:6:7:8", "::ffff:1.2.3.4", "1:2:3:4:5:6:1.2.3.4", "2001:db8::8:800:200c:417a",
    "10.0.0.1", "255.255.255.255", "0.0.0.0", "not an address", "1.2.3", "::1::", "1:2:3:4:5:6:7:8:9",
  ];

  it("parseIPv4 and parseIPv6 write into the buffer given, whatever it held", () => {
    const v4 = new Uint8Array(4).fill(0xee);
    assert.equal(parseIPv4("192.0.2.1", v4), v4);
    assert.deepEqual(v4, bytes(192, 0, 2, 1));
    for (const text of texts.filter((t) => t.includes(":"))) {
      const v6 = new Uint8Array(16).fill(0xee);
      const got = parseIPv6(text, v6);
      assert.deepEqual(got, parseIPv6(text), text);
      if (got !== undefined) assert.equal(got, v6, text);
    }
  });

  it("refuses a buffer of the wrong size", () => {
    assert.throws(() => parseIPv4("10.0.0.1", new Uint8Array(16)), RangeError);
    assert.throws(() => parseIPv6("::1", new Uint8Array(4)), RangeError);
  });

  it("IpScratch parses as parseIp does, one parse after another", () => {
    const scratch = new IpScratch();
    for (const order of [texts, [...texts].reverse()]) {
      for (const text of order) assert.deepEqual(scratch.parse(text), parseIp(text), text);
    }
  });

  it("IpScratch reuses its buffers: a result is overwritten by the next parse of its family", () => {
    const scratch = new IpScratch();
    const a = scratch.parse("10.0.0.1");
    const b = scratch.parse("::1");
    assert.equal(scratch.parse("10.0.0.2"), a);
    assert.deepEqual(a, bytes(10, 0, 0, 2));
    assert.deepEqual(b, parseIp("::1")); // the other family's buffer is untouched
  });

  it("parseIp and parseCidr return new arrays that later parses leave alone", () => {
    const a = parseIp("10.0.0.1");
    const b = parseIp("10.0.0.2");
    const c = parseCidr("10.0.0.0/8");
    canonicalIp("10.9.9.9");
    isIp("10.8.8.8");
    anyCidrContains([c], "10.7.7.7");
    assert.notEqual(a, b);
    assert.deepEqual(a, bytes(10, 0, 0, 1));
    assert.deepEqual(b, bytes(10, 0, 0, 2));
    assert.deepEqual(c.bytes, bytes(10, 0, 0, 0));
  });

  it("isIp and canonicalIp agree with parseIp", () => {
    for (const text of texts) {
      assert.equal(isIp(text), parseIp(text) !== undefined, text);
      const b = parseIp(text);
      assert.equal(canonicalIp(text), b === undefined ? undefined : formatIp(b), text);
    }
  });
});

describe("parseReportedIp", () => {
  it("takes the forms runtimes report: plain, bracketed, with an IPv6 zone id", () => {
    const cases: [string, string | undefined][] = [
      ["10.0.0.1", "10.0.0.1"], ["[10.0.0.1]", "10.0.0.1"], ["::1", "::1"], ["[::1]", "::1"],
      ["fe80::1%eth0", "fe80::1"], ["fe80::1%25en0", "fe80::1"], ["[fe80::1%eth0]", "fe80::1"], ["fe80::1%", "fe80::1"],
      ["::ffff:10.0.0.1%x", "::ffff:10.0.0.1"],
      ["10.0.0.1%x", undefined], ["%eth0", undefined], ["[::1", undefined], ["::1]", undefined], ["[[::1]]", undefined],
      ["[]", undefined], ["", undefined], ["[", undefined], ["localhost", undefined], ["1.2.3.4:80", undefined],
    ];
    const scratch = new IpScratch();
    for (const [text, want] of cases) {
      const b = parseReportedIp(text);
      assert.equal(b === undefined ? undefined : formatIp(b), want, text);
      assert.deepEqual(parseReportedIp(text, scratch), b, `${text} into a scratch`);
    }
  });
  it("returns a new array without a scratch, and the scratch's buffer with one", () => {
    const scratch = new IpScratch();
    const a = parseReportedIp("[::1]");
    assert.notEqual(parseReportedIp("[::1]"), a);
    const s = parseReportedIp("[::1]", scratch);
    assert.equal(parseReportedIp("fe80::2%eth0", scratch), s);
    assert.deepEqual(a, parseIp("::1"));
  });
});

describe("anyCidrContains", () => {
  const cidrs = [parseCidr("10.0.0.0/8"), parseCidr("2001:db8::/32")];
  it("finds the address in any of the blocks, IPv4-mapped forms included", () => {
    assert.equal(anyCidrContains(cidrs, "10.1.2.3"), true);
    assert.equal(anyCidrContains(cidrs, "::ffff:10.1.2.3"), true);
    assert.equal(anyCidrContains(cidrs, "2001:db8::1"), true);
    assert.equal(anyCidrContains(cidrs, "192.0.2.1"), false);
    assert.equal(anyCidrContains(cidrs, "2001:db9::1"), false);
  });
  it("is false for text that is not an address, and for no blocks", () => {
    assert.equal(anyCidrContains(cidrs, "example.com"), false);
    assert.equal(anyCidrContains(cidrs, "[2001:db8::1]"), false);
    assert.equal(anyCidrContains([], "10.1.2.3"), false);
  });
});
