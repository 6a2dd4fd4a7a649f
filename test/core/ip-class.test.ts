import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { classifyIp, embeddedIPv4s, IP_CLASSES, ipClass, type IpClass, ipClassSeverity } from "../../src/core/ip-class.ts";
import { cidrContains, formatIp, parseCidr, parseIp } from "../../src/core/ip.ts";

function ip(text: string): Uint8Array {
  const bytes = parseIp(text);
  assert.ok(bytes, `test address ${text} parses`);
  return bytes;
}

/** [address, class] — first/last of each range, one below and one above. */
const V4: readonly (readonly [string, IpClass])[] = [
  ["0.0.0.0", "unspecified"], ["0.255.255.255", "unspecified"], ["1.0.0.0", "public"],
  ["9.255.255.255", "public"], ["10.0.0.0", "private"], ["10.255.255.255", "private"], ["11.0.0.0", "public"],
  ["100.63.255.255", "public"], ["100.64.0.0", "cgnat"], ["100.127.255.255", "cgnat"], ["100.128.0.0", "public"],
  ["126.255.255.255", "public"], ["127.0.0.0", "loopback"], ["127.0.0.1", "loopback"],
  ["127.255.255.255", "loopback"], ["128.0.0.0", "public"],
  ["169.253.255.255", "public"], ["169.254.0.0", "link-local"], ["169.254.255.255", "link-local"],
  ["169.255.0.0", "public"],
  ["169.254.169.253", "link-local"], ["169.254.169.254", "metadata"], ["169.254.169.255", "link-local"],
  ["169.254.170.2", "metadata"], ["169.254.170.23", "metadata"], ["169.254.170.3", "link-local"],
  ["100.100.100.200", "metadata"], ["100.100.100.199", "cgnat"], ["192.0.0.192", "metadata"],
  ["168.63.129.16", "metadata"], ["168.63.129.15", "public"], ["168.63.129.17", "public"],
  ["172.15.255.255", "public"], ["172.16.0.0", "private"], ["172.31.255.255", "private"], ["172.32.0.0", "public"],
  ["191.255.255.255", "public"], ["192.0.0.0", "reserved"], ["192.0.0.255", "reserved"], ["192.0.1.0", "public"],
  ["192.0.1.255", "public"], ["192.0.2.0", "reserved"], ["192.0.2.255", "reserved"], ["192.0.3.0", "public"],
  ["192.88.98.255", "public"], ["192.88.99.0", "reserved"], ["192.88.99.255", "reserved"], ["192.88.100.0", "public"],
  ["192.167.255.255", "public"], ["192.168.0.0", "private"], ["192.168.255.255", "private"], ["192.169.0.0", "public"],
  ["198.17.255.255", "public"], ["198.18.0.0", "reserved"], ["198.19.255.255", "reserved"], ["198.20.0.0", "public"],
  ["198.51.99.255", "public"], ["198.51.100.0", "reserved"], ["198.51.100.255", "reserved"], ["198.51.101.0", "public"],
  ["203.0.112.255", "public"], ["203.0.113.0", "reserved"], ["203.0.113.255", "reserved"], ["203.0.114.0", "public"],
  ["223.255.255.255", "public"], ["224.0.0.0", "multicast"], ["239.255.255.255", "multicast"],
  ["240.0.0.0", "reserved"], ["255.255.255.254", "reserved"], ["255.255.255.255", "broadcast"],
  ["8.8.8.8", "public"], ["1.1.1.1", "public"],
];

const V6: readonly (readonly [string, IpClass])[] = [
  ["::", "unspecified"], ["::1", "loopback"],
  ["::1:0:0:0", "reserved"], ["::fffe:ffff:ffff", "reserved"], ["100::", "reserved"], ["5f00::1", "reserved"],
  ["1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "reserved"], ["2000::", "public"], ["4000::", "reserved"],
  ["2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "public"], ["2001:1::1", "reserved"], ["2001:2::", "reserved"],
  ["2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", "reserved"], ["2001:200::", "public"],
  ["2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", "public"], ["2001:db8::", "reserved"],
  ["2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "reserved"], ["2001:db9::", "public"],
  ["3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "public"], ["3fff::", "reserved"],
  ["3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", "reserved"], ["3fff:1000::", "public"],
  ["3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "public"],
  ["fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "reserved"], ["fc00::", "private"],
  ["fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "private"], ["fe00::", "reserved"],
  ["fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "reserved"], ["fe80::", "link-local"], ["fe80::1", "link-local"],
  ["febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "link-local"], ["fec0::", "private"],
  ["feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "private"], ["ff00::", "multicast"], ["ff02::1", "multicast"],
  ["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "multicast"],
  ["fd00:ec2::254", "metadata"], ["fd00:ec2::23", "metadata"], ["fd20:ce::254", "metadata"],
  ["fd00:ec2::253", "private"], ["fd00:ec2::255", "private"], ["fd00:ec2::1:254", "private"],
  ["fd00:ec3::254", "private"], ["fd20:ce::23", "private"],
  ["2606:4700:4700::1111", "public"], ["2a00:1450:4001::200e", "public"],
  ["64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff", "reserved"], ["64:ff9b:0:0:0:1:808:808", "reserved"],
  ["64:ff9b:2::808:808", "reserved"], ["64:ff9c::", "reserved"],
];

/** [address, class, embedded IPv4, via] for IPv6 forms carrying IPv4. */
const EMBEDDED: readonly (readonly [string, IpClass, string, string])[] = [
  ["::ffff:127.0.0.1", "loopback", "127.0.0.1", "ipv4-mapped"],
  ["::ffff:8.8.8.8", "public", "8.8.8.8", "ipv4-mapped"],
  ["::ffff:0.0.0.0", "unspecified", "0.0.0.0", "ipv4-mapped"],
  ["::ffff:255.255.255.255", "broadcast", "255.255.255.255", "ipv4-mapped"],
  ["::ffff:169.254.169.254", "metadata", "169.254.169.254", "ipv4-mapped"],
  ["::a00:1", "private", "10.0.0.1", "ipv4-compatible"],
  ["::127.0.0.1", "loopback", "127.0.0.1", "ipv4-compatible"],
  ["::8.8.8.8", "public", "8.8.8.8", "ipv4-compatible"],
  ["::2", "unspecified", "0.0.0.2", "ipv4-compatible"],
  ["::ffff:0:a00:1", "private", "10.0.0.1", "ipv4-translated"],
  ["64:ff9b::808:808", "public", "8.8.8.8", "nat64"],
  ["64:ff9b::", "unspecified", "0.0.0.0", "nat64"],
  ["64:ff9b::a00:1", "private", "10.0.0.1", "nat64"],
  ["64:ff9b::7f00:1", "loopback", "127.0.0.1", "nat64"],
  ["64:ff9b::a9fe:a9fe", "metadata", "169.254.169.254", "nat64"],
  ["64:ff9b::6440:1", "cgnat", "100.64.0.1", "nat64"],
  ["64:ff9b::ffff:ffff", "broadcast", "255.255.255.255", "nat64"],
  ["64:ff9b:1::808:808", "public", "8.8.8.8", "nat64-local"],
  ["64:ff9b:1::a00:1", "private", "10.0.0.1", "nat64-local"],
  ["64:ff9b:1::7f00:1", "loopback", "127.0.0.1", "nat64-local"],
  // a local-use prefix other than 64:ff9b:1::/96: layout unknown, at least reserved
  ["64:ff9b:1:ffff:ffff:ffff:808:808", "reserved", "8.8.8.8", "nat64-local"],
  ["64:ff9b:1:1::7f00:1", "loopback", "127.0.0.1", "nat64-local"],
  ["2002:808:808::", "public", "8.8.8.8", "6to4"],
  ["2002:a00:1::", "private", "10.0.0.1", "6to4"],
  ["2002:7f00:1:ffff:ffff:ffff:ffff:ffff", "loopback", "127.0.0.1", "6to4"],
  ["2002:a9fe:a9fe::1", "metadata", "169.254.169.254", "6to4"],
  ["2002:c000:201::", "reserved", "192.0.2.1", "6to4"],
  // Teredo: server 65.54.227.120 (public); client = last 32 bits XOR 0xffffffff
  ["2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback", "127.0.0.1", "teredo-client"],
  ["2001:0:4136:e378:8000:63bf:f5ff:fffe", "private", "10.0.0.1", "teredo-client"],
  ["2001:0:4136:e378:8000:63bf:3fff:fdd2", "reserved", "192.0.2.45", "teredo-client"], // RFC 4380 example
  ["2001:0:4136:e378:8000:63bf:f7f7:f7f7", "public", "8.8.8.8", "teredo-client"],
  ["2001:0:a00:1:0:0:f7f7:f7f7", "private", "10.0.0.1", "teredo-server"],
  ["2001:0:a00:1:0:0:80ff:fffe", "loopback", "127.0.0.1", "teredo-client"],
  ["2001:0:7f00:1:0:0:f5ff:fffe", "loopback", "127.0.0.1", "teredo-server"],
  ["2001:0:a9fe:a9fe::", "metadata", "169.254.169.254", "teredo-server"],
];

describe("classifyIp", () => {
  it("classifies IPv4 boundaries", () => {
    for (const [text, cls] of V4) {
      assert.equal(classifyIp(ip(text)).cls, cls, text);
      assert.equal(ipClass(ip(text)), cls, text);
      assert.equal(classifyIp(ip(text)).embedded, undefined, text);
    }
  });

  it("classifies IPv6 boundaries", () => {
    for (const [text, cls] of V6) {
      assert.equal(classifyIp(ip(text)).cls, cls, text);
      assert.equal(ipClass(ip(text)), cls, text);
      assert.equal(classifyIp(ip(text)).embedded, undefined, text);
    }
  });

  it("unwraps every IPv4 embedding", () => {
    for (const [text, cls, embedded, via] of EMBEDDED) {
      assert.deepEqual(
        { ...classifyIp(ip(text)), range: undefined },
        { cls, embedded, via, range: undefined },
        text,
      );
      assert.equal(ipClass(ip(text)), cls, text);
    }
  });

  it("reports the range holding a metadata endpoint", () => {
    const cases: [string, IpClass][] = [
      ["169.254.169.254", "link-local"], ["100.100.100.200", "cgnat"], ["192.0.0.192", "reserved"],
      ["168.63.129.16", "public"], ["fd00:ec2::254", "private"], ["::ffff:169.254.169.254", "link-local"],
      ["2001:0:a9fe:a9fe::", "link-local"],
    ];
    for (const [text, range] of cases) {
      const c = classifyIp(ip(text));
      assert.equal(c.cls, "metadata", text);
      assert.equal(c.range, range, text);
    }
    assert.equal(classifyIp(ip("169.254.1.1")).range, undefined);
  });

  it("rejects byte arrays that are not 4 or 16 long", () => {
    for (const n of [0, 3, 5, 15, 17]) {
      assert.throws(() => classifyIp(new Uint8Array(n)), RangeError);
      assert.throws(() => ipClass(new Uint8Array(n)), RangeError);
      assert.throws(() => embeddedIPv4s(new Uint8Array(n)), RangeError);
    }
  });
});

describe("embeddedIPv4s", () => {
  it("lists none for IPv4 and plain IPv6", () => {
    for (const text of ["10.0.0.1", "::", "::1", "2606:4700::1", "fd00::1"]) {
      assert.deepEqual(embeddedIPv4s(ip(text)), [], text);
    }
  });

  it("lists Teredo server then client, each with its class", () => {
    const list = embeddedIPv4s(ip("2001:0:a00:1:0:0:80ff:fffe"));
    assert.deepEqual(
      list.map((e) => [e.via, formatIp(e.bytes), e.cls]),
      [["teredo-server", "10.0.0.1", "private"], ["teredo-client", "127.0.0.1", "loopback"]],
    );
  });

  it("lists the one address of the other forms", () => {
    for (const [text, cls, embedded, via] of EMBEDDED) {
      if (via.startsWith("teredo")) continue;
      const list = embeddedIPv4s(ip(text));
      assert.equal(list.length, 1, text);
      assert.equal(formatIp(list[0]!.bytes), embedded, text);
      assert.equal(list[0]!.via, via, text);
      if (via !== "nat64-local" || cls !== "reserved") assert.equal(list[0]!.cls, cls, text);
    }
  });
});

describe("IP_CLASSES and ipClassSeverity", () => {
  it("ranks public lowest and metadata highest", () => {
    assert.equal(IP_CLASSES.length, 10);
    assert.equal(new Set(IP_CLASSES).size, 10);
    assert.equal(ipClassSeverity("public"), 0);
    assert.equal(ipClassSeverity("metadata"), IP_CLASSES.length - 1);
    assert.ok(ipClassSeverity("loopback") > ipClassSeverity("private"));
  });
});

describe("classifyIp properties", () => {
  const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255));
  const b16 = (prefix: number[], tail: number[], v: number[]) => {
    const out = new Uint8Array(16);
    out.set(prefix, 0);
    out.set(tail, prefix.length);
    out.set(v, 12);
    return out;
  };

  it("an IPv4 address and its ::ffff: mapped form classify identically", () => {
    fc.assert(
      fc.property(v4, (v) => {
        const mapped = b16([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff], [], v);
        const c = classifyIp(new Uint8Array(v));
        const m = classifyIp(mapped);
        assert.equal(m.cls, c.cls);
        assert.equal(m.range, c.range);
        assert.equal(m.embedded, v.join("."));
        assert.equal(m.via, "ipv4-mapped");
        assert.equal(ipClass(parseIp(`::ffff:${v.join(".")}`)!), c.cls);
      }),
      { numRuns: 2000 },
    );
  });

  it("an IPv4 address and its 64:ff9b::/96 and 64:ff9b:1::/96 forms classify identically", () => {
    fc.assert(
      fc.property(v4, (v) => {
        const cls = ipClass(new Uint8Array(v));
        const nat64 = b16([0, 0x64, 0xff, 0x9b], [], v);
        const local = b16([0, 0x64, 0xff, 0x9b, 0, 1], [], v);
        assert.equal(ipClass(nat64), cls);
        assert.equal(classifyIp(nat64).via, "nat64");
        assert.equal(ipClass(local), cls);
        assert.equal(classifyIp(local).embedded, v.join("."));
      }),
      { numRuns: 2000 },
    );
  });

  it("6to4 and IPv4-translated forms classify as their IPv4 address", () => {
    fc.assert(
      fc.property(v4, fc.array(fc.nat(255), { minLength: 10, maxLength: 10 }), (v, rest) => {
        const cls = ipClass(new Uint8Array(v));
        const sixToFour = new Uint8Array([0x20, 0x02, ...v, ...rest]);
        assert.equal(ipClass(sixToFour), cls);
        const translated = b16([0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0], [], v);
        assert.equal(ipClass(translated), cls);
      }),
      { numRuns: 1000 },
    );
  });

  it("Teredo classifies as the worse of server and XOR-ed client", () => {
    fc.assert(
      fc.property(v4, v4, fc.nat(0xffff), fc.nat(0xffff), (server, client, flags, port) => {
        const bytes = new Uint8Array([
          0x20, 0x01, 0, 0, ...server, flags >> 8, flags & 0xff, port >> 8, port & 0xff,
          ...client.map((b) => b ^ 0xff),
        ]);
        const sc = ipClass(new Uint8Array(server));
        const cc = ipClass(new Uint8Array(client));
        const worst = ipClassSeverity(sc) > ipClassSeverity(cc) ? sc : cc;
        assert.equal(ipClass(bytes), worst);
        assert.equal(classifyIp(bytes).cls, worst);
      }),
      { numRuns: 1000 },
    );
  });

  it("IPv4 classes agree with a reference list of CIDRs", () => {
    const reference: [string, IpClass][] = [
      ["169.254.169.254/32", "metadata"], ["169.254.170.2/32", "metadata"], ["169.254.170.23/32", "metadata"],
      ["100.100.100.200/32", "metadata"], ["192.0.0.192/32", "metadata"], ["168.63.129.16/32", "metadata"],
      ["0.0.0.0/8", "unspecified"], ["10.0.0.0/8", "private"], ["100.64.0.0/10", "cgnat"],
      ["127.0.0.0/8", "loopback"], ["169.254.0.0/16", "link-local"], ["172.16.0.0/12", "private"],
      ["192.0.0.0/24", "reserved"], ["192.0.2.0/24", "reserved"], ["192.88.99.0/24", "reserved"],
      ["192.168.0.0/16", "private"], ["198.18.0.0/15", "reserved"], ["198.51.100.0/24", "reserved"],
      ["203.0.113.0/24", "reserved"], ["224.0.0.0/4", "multicast"], ["255.255.255.255/32", "broadcast"],
      ["240.0.0.0/4", "reserved"],
    ];
    const cidrs = reference.map(([c, cls]) => [parseCidr(c), cls] as const);
    const expected = (b: Uint8Array): IpClass => cidrs.find(([c]) => cidrContains(c, b))?.[1] ?? "public";
    // bias towards the special first octets so small ranges are hit
    const octet = fc.oneof(fc.nat(255), fc.constantFrom(0, 10, 100, 127, 168, 169, 172, 192, 198, 203, 224, 240, 255));
    fc.assert(
      fc.property(fc.tuple(octet, octet, octet, octet), (v) => {
        const b = new Uint8Array(v);
        assert.equal(ipClass(b), expected(b), v.join("."));
      }),
      { numRuns: 5000 },
    );
  });

  it("every 16-byte address has one class, the same from both entry points", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const cls = ipClass(bytes);
        assert.ok(IP_CLASSES.includes(cls));
        assert.equal(classifyIp(bytes).cls, cls);
      }),
      { numRuns: 2000 },
    );
  });
});
