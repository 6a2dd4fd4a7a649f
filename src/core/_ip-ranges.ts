/**
 * The special-purpose address ranges and the class of each, for addresses that carry no
 * other address: an IPv4 address, or an IPv6 address that embeds none. The choices behind
 * them are listed in `ip-class.ts`, which is the way in. Web standards only.
 *
 * @module
 */
import type { IpClass } from "./ip-class.ts";
import { allZero } from "./_ipv6-embedding.ts";

/** Cloud instance-metadata endpoints, as unsigned 32-bit numbers. */
const V4_METADATA: readonly number[] = [
  0xa9fea9fe, // 169.254.169.254
  0xa9feaa02, // 169.254.170.2
  0xa9feaa17, // 169.254.170.23
  0x646464c8, // 100.100.100.200
  0xc00000c0, // 192.0.0.192
  0xa83f8110, // 168.63.129.16
];

/** [network, prefix length, class], most specific first; first match wins. */
const V4_RANGES: readonly (readonly [number, number, IpClass])[] = [
  [0x00000000, 8, "unspecified"], // 0/8 "this network"
  [0x0a000000, 8, "private"], // 10/8
  [0x64400000, 10, "cgnat"], // 100.64/10
  [0x7f000000, 8, "loopback"], // 127/8
  [0xa9fe0000, 16, "link-local"], // 169.254/16
  [0xac100000, 12, "private"], // 172.16/12
  [0xc0000000, 24, "reserved"], // 192.0.0/24 IETF protocol assignments
  [0xc0000200, 24, "reserved"], // 192.0.2/24 TEST-NET-1
  [0xc0586300, 24, "reserved"], // 192.88.99/24 6to4 relay anycast (deprecated)
  [0xc0a80000, 16, "private"], // 192.168/16
  [0xc6120000, 15, "reserved"], // 198.18/15 benchmarking
  [0xc6336400, 24, "reserved"], // 198.51.100/24 TEST-NET-2
  [0xcb007100, 24, "reserved"], // 203.0.113/24 TEST-NET-3
  [0xe0000000, 4, "multicast"], // 224/4
  [0xffffffff, 32, "broadcast"], // 255.255.255.255
  [0xf0000000, 4, "reserved"], // 240/4
];
const V4_NET = Uint32Array.from(V4_RANGES, (r) => r[0]);
const V4_SHIFT = Uint8Array.from(V4_RANGES, (r) => 32 - r[1]);
const V4_CLASS: readonly IpClass[] = V4_RANGES.map((r) => r[2]);

/** First octets that start a special range or a metadata endpoint; the rest are public. */
const V4_SPECIAL_OCTET = new Uint8Array(256);
for (const [net, prefix] of V4_RANGES) {
  const first = net >>> 24;
  const last = (net | (prefix >= 8 ? 0 : 0xffffffff >>> prefix)) >>> 24;
  V4_SPECIAL_OCTET.fill(1, first, last + 1);
}
for (const u of V4_METADATA) V4_SPECIAL_OCTET[u >>> 24] = 1;

/** Class of an IPv4 address given as an unsigned 32-bit number, ignoring metadata endpoints. */
export function rangeV4(u: number): IpClass {
  if (V4_SPECIAL_OCTET[u >>> 24] === 0) return "public";
  for (let i = 0; i < V4_CLASS.length; i++) {
    const shift = V4_SHIFT[i] ?? 0;
    if (u >>> shift === (V4_NET[i] ?? 0) >>> shift) return V4_CLASS[i] ?? "reserved";
  }
  return "public";
}

/** Class of an IPv4 address given as an unsigned 32-bit number. */
export function classV4(u: number): IpClass {
  if (V4_SPECIAL_OCTET[u >>> 24] === 0) return "public";
  return V4_METADATA.includes(u) ? "metadata" : rangeV4(u);
}

/** Class of a 16-byte address that embeds no IPv4 address. */
export function classV6Plain(b: Uint8Array): IpClass {
  const b0 = b[0] ?? 0;
  const b1 = b[1] ?? 0;
  if ((b0 & 0xe0) === 0x20) {
    // 2000::/3 global unicast
    if (b0 === 0x20 && b1 === 0x01) {
      const b2 = b[2] ?? 0;
      if ((b2 & 0xfe) === 0) return "reserved"; // 2001::/23 (2001:2::/48 benchmarking included)
      if (b2 === 0x0d && b[3] === 0xb8) return "reserved"; // 2001:db8::/32 documentation
    }
    if (b0 === 0x3f && b1 === 0xff && ((b[2] ?? 0) & 0xf0) === 0) return "reserved"; // 3fff::/20 documentation
    return "public";
  }
  if ((b0 & 0xfe) === 0xfc) {
    // fc00::/7 unique local; metadata endpoints are fd00:ec2::254, fd00:ec2::23, fd20:ce::254
    if (allZero(b, 4, 14)) {
      const w0 = (b0 << 8) | b1;
      const w1 = ((b[2] ?? 0) << 8) | (b[3] ?? 0);
      const w7 = ((b[14] ?? 0) << 8) | (b[15] ?? 0);
      if (w0 === 0xfd00 && w1 === 0x0ec2 && (w7 === 0x254 || w7 === 0x23)) return "metadata";
      if (w0 === 0xfd20 && w1 === 0x00ce && w7 === 0x254) return "metadata";
    }
    return "private";
  }
  if (b0 === 0xfe && (b1 & 0xc0) === 0x80) return "link-local"; // fe80::/10
  if (b0 === 0xfe && (b1 & 0xc0) === 0xc0) return "private"; // fec0::/10 site-local (deprecated)
  if (b0 === 0xff) return "multicast";
  return "reserved";
}
