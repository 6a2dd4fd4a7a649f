/**
 * Classify a resolved IP address for the address guard (SSRF): loopback, private,
 * link-local, cloud metadata, CGNAT, multicast, unspecified, broadcast, reserved or public.
 *
 * IPv6 forms that carry an IPv4 address are unwrapped and classified by that address:
 * IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), IPv4-translated
 * (`::ffff:0:a.b.c.d`), NAT64 (`64:ff9b::/96`, local-use `64:ff9b:1::/48`), 6to4
 * (`2002::/16`) and Teredo (`2001::/32`, server and XOR-ed client; the worse one wins).
 * {@link translatedIPv4} reads the IPv4 address of the forms that designate it by translation
 * (not 6to4 and Teredo, which tunnel to it), for policy rules written on IPv4 addresses.
 *
 * Decisions for a security gateway (conservative: when in doubt, not public):
 * - Documentation (192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20),
 *   benchmarking (198.18/15, 2001:2::/48), 240/4, 192.0.0/24, the deprecated 6to4 relay
 *   anycast 192.88.99/24, the IETF protocol block 2001::/23 (outside Teredo) and every IPv6
 *   address outside 2000::/3 that has no class of its own are "reserved".
 * - Site-local fec0::/10 (deprecated) is "private", like fc00::/7.
 * - "metadata" names exact cloud instance-metadata endpoints, more specific than the range
 *   holding them (reported as `range`): 169.254.169.254 (AWS, GCP, Azure, OCI, OpenStack…),
 *   169.254.170.2 (AWS ECS task metadata), 169.254.170.23 (EKS Pod Identity), 100.100.100.200
 *   (Alibaba), 192.0.0.192 (OCI legacy), 168.63.129.16 (Azure WireServer, a public-range
 *   address reachable only inside Azure), fd00:ec2::254 and fd00:ec2::23 (AWS),
 *   fd20:ce::254 (GCP).
 * - Local-use NAT64 (64:ff9b:1::/48) is read with the /96 layout (IPv4 in the last 32 bits);
 *   when bits 48-95 are not zero (a translator prefix other than 64:ff9b:1::/96, whose
 *   layout cannot be known) the address is at least "reserved".
 *
 * @example
 * ```ts
 * classifyIp(parseIp("169.254.169.254")!); // { cls: "metadata", range: "link-local" }
 * classifyIp(parseIp("64:ff9b::a00:1")!);  // { cls: "private", embedded: "10.0.0.1", via: "nat64" }
 * ipClass(parseIp("2606:4700::1111")!);    // "public"
 * ```
 * @module
 */

/** The class of an IP address, as the address guard sees it. */
export type IpClass =
  | "public"
  | "loopback"
  | "private"
  | "link-local"
  | "metadata"
  | "cgnat"
  | "multicast"
  | "unspecified"
  | "broadcast"
  | "reserved";

/** Every class, from least to most severe (the order "worst wins" uses). */
export const IP_CLASSES: readonly IpClass[] = Object.freeze([
  "public",
  "reserved",
  "multicast",
  "broadcast",
  "cgnat",
  "private",
  "link-local",
  "unspecified",
  "loopback",
  "metadata",
] as const);

/** How an IPv6 address carries an IPv4 address. */
export type IPv4Embedding =
  | "ipv4-mapped"
  | "ipv4-compatible"
  | "ipv4-translated"
  | "nat64"
  | "nat64-local"
  | "6to4"
  | "teredo-server"
  | "teredo-client";

/** The result of {@link classifyIp}. */
export interface IpClassification {
  readonly cls: IpClass;
  /** The embedded IPv4 address that decided `cls` (dotted quad), for IPv6 embeddings. */
  readonly embedded?: string;
  /** How `embedded` is carried. */
  readonly via?: IPv4Embedding;
  /** For `cls: "metadata"`: the class of the range holding the address ("link-local", …). */
  readonly range?: IpClass;
}

/** One IPv4 address embedded in an IPv6 address, as {@link embeddedIPv4s} lists them. */
export interface EmbeddedIPv4 {
  readonly via: IPv4Embedding;
  /** 4 bytes. */
  readonly bytes: Uint8Array;
  readonly cls: IpClass;
}

/** Severity rank of a class: higher is worse. */
export function ipClassSeverity(cls: IpClass): number {
  return IP_CLASSES.indexOf(cls);
}

function _worse(a: IpClass, b: IpClass): IpClass {
  return ipClassSeverity(b) > ipClassSeverity(a) ? b : a;
}

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
function _rangeV4(u: number): IpClass {
  if (V4_SPECIAL_OCTET[u >>> 24] === 0) return "public";
  for (let i = 0; i < V4_CLASS.length; i++) {
    const shift = V4_SHIFT[i] ?? 0;
    if (u >>> shift === (V4_NET[i] ?? 0) >>> shift) return V4_CLASS[i] ?? "reserved";
  }
  return "public";
}

/** Class of an IPv4 address given as an unsigned 32-bit number. */
function _classV4(u: number): IpClass {
  if (V4_SPECIAL_OCTET[u >>> 24] === 0) return "public";
  return V4_METADATA.includes(u) ? "metadata" : _rangeV4(u);
}

function _u32(b: Uint8Array, o: number): number {
  return (((b[o] ?? 0) << 24) | ((b[o + 1] ?? 0) << 16) | ((b[o + 2] ?? 0) << 8) | (b[o + 3] ?? 0)) >>> 0;
}

function _zero(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}

const E_NONE = 0;
const E_MAPPED = 1;
const E_COMPAT = 2;
const E_TRANSLATED = 3;
const E_NAT64 = 4;
const E_NAT64_LOCAL = 5;
const E_6TO4 = 6;
const E_TEREDO = 7;
const E_LOOPBACK = 8; // ::1
const E_UNSPECIFIED = 9; // ::

/** Which embedding (or special all-zero form) a 16-byte address is. */
function _embedding(b: Uint8Array): number {
  const b0 = b[0] ?? 0;
  if (b0 === 0) {
    if (!_zero(b, 1, 8)) {
      if (b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b) {
        if (_zero(b, 4, 12)) return E_NAT64;
        if (b[4] === 0 && b[5] === 1) return E_NAT64_LOCAL;
      }
      return E_NONE;
    }
    const w8 = (b[8] ?? 0) << 8 | (b[9] ?? 0);
    const w10 = (b[10] ?? 0) << 8 | (b[11] ?? 0);
    if (w8 === 0 && w10 === 0xffff) return E_MAPPED;
    if (w8 === 0xffff && w10 === 0) return E_TRANSLATED;
    if (w8 !== 0 || w10 !== 0) return E_NONE;
    if (_zero(b, 12, 15)) {
      if (b[15] === 0) return E_UNSPECIFIED;
      if (b[15] === 1) return E_LOOPBACK;
    }
    return E_COMPAT;
  }
  if (b0 === 0x20) {
    if (b[1] === 0x02) return E_6TO4;
    if (b[1] === 0x01 && b[2] === 0 && b[3] === 0) return E_TEREDO;
  }
  return E_NONE;
}

/** Class of a 16-byte address that embeds no IPv4 address. */
function _classV6Plain(b: Uint8Array): IpClass {
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
    if (_zero(b, 4, 14)) {
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

/** Offset of the (first) embedded IPv4 address for an embedding code. */
function _embeddedOffset(kind: number): number {
  return kind === E_6TO4 ? 2 : kind === E_TEREDO ? 4 : 12;
}

function _teredoClient(b: Uint8Array): number {
  return ~_u32(b, 12) >>> 0;
}

function _checkLength(bytes: Uint8Array): void {
  if (bytes.length !== 4 && bytes.length !== 16) {
    throw new RangeError(`Expected 4 or 16 address bytes, got ${bytes.length}`);
  }
}

/**
 * Class of an address (4 or 16 bytes), without allocating. Same as `classifyIp(bytes).cls`.
 *
 * @throws {RangeError} when `bytes` is not 4 or 16 bytes long
 */
export function ipClass(bytes: Uint8Array): IpClass {
  _checkLength(bytes);
  if (bytes.length === 4) return _classV4(_u32(bytes, 0));
  const kind = _embedding(bytes);
  switch (kind) {
    case E_NONE:
      return _classV6Plain(bytes);
    case E_UNSPECIFIED:
      return "unspecified";
    case E_LOOPBACK:
      return "loopback";
    case E_TEREDO:
      return _worse(_classV4(_u32(bytes, 4)), _classV4(_teredoClient(bytes)));
    case E_NAT64_LOCAL: {
      const cls = _classV4(_u32(bytes, 12));
      return _zero(bytes, 6, 12) ? cls : _worse(cls, "reserved");
    }
    default:
      return _classV4(_u32(bytes, _embeddedOffset(kind)));
  }
}

const VIA: readonly (IPv4Embedding | undefined)[] = [
  undefined,
  "ipv4-mapped",
  "ipv4-compatible",
  "ipv4-translated",
  "nat64",
  "nat64-local",
  "6to4",
  "teredo-server",
];

function _formatU32(u: number): string {
  return `${u >>> 24}.${(u >>> 16) & 0xff}.${(u >>> 8) & 0xff}.${u & 0xff}`;
}

const PLAIN: Readonly<Record<IpClass, IpClassification>> = Object.freeze(
  Object.fromEntries(IP_CLASSES.map((cls) => [cls, Object.freeze({ cls })])) as Record<IpClass, IpClassification>,
);

function _result(cls: IpClass, u: number, via: IPv4Embedding): IpClassification {
  const out: { cls: IpClass; embedded: string; via: IPv4Embedding; range?: IpClass } = {
    cls,
    embedded: _formatU32(u),
    via,
  };
  if (cls === "metadata") out.range = _rangeV4(u);
  return out;
}

/**
 * Classify an address (4 or 16 bytes). For IPv6 embeddings, `embedded` and `via` name the
 * IPv4 address that decided the class (for Teredo, the worse of server and client; the
 * client on a tie). For a metadata endpoint, `range` is the class of its range.
 *
 * @throws {RangeError} when `bytes` is not 4 or 16 bytes long
 */
export function classifyIp(bytes: Uint8Array): IpClassification {
  _checkLength(bytes);
  if (bytes.length === 4) {
    const u = _u32(bytes, 0);
    const cls = _classV4(u);
    return cls === "metadata" ? { cls, range: _rangeV4(u) } : PLAIN[cls];
  }
  const kind = _embedding(bytes);
  if (kind === E_NONE) {
    const cls = _classV6Plain(bytes);
    return cls === "metadata" ? { cls, range: "private" } : PLAIN[cls];
  }
  if (kind === E_UNSPECIFIED) return PLAIN.unspecified;
  if (kind === E_LOOPBACK) return PLAIN.loopback;
  if (kind === E_TEREDO) {
    const server = _u32(bytes, 4);
    const client = _teredoClient(bytes);
    const sc = _classV4(server);
    const cc = _classV4(client);
    return ipClassSeverity(sc) > ipClassSeverity(cc)
      ? _result(sc, server, "teredo-server")
      : _result(cc, client, "teredo-client");
  }
  const u = _u32(bytes, _embeddedOffset(kind));
  return _result(ipClass(bytes), u, VIA[kind] ?? "ipv4-mapped");
}

const NONE: readonly EmbeddedIPv4[] = Object.freeze([]);

function _embedded(via: IPv4Embedding, u: number): EmbeddedIPv4 {
  const bytes = new Uint8Array([u >>> 24, (u >>> 16) & 0xff, (u >>> 8) & 0xff, u & 0xff]);
  return { via, bytes, cls: _classV4(u) };
}

/**
 * Every IPv4 address embedded in `bytes` (none for IPv4 and plain IPv6; two for Teredo:
 * server, then client), each with its own class. Allocates only when there is one.
 *
 * @throws {RangeError} when `bytes` is not 4 or 16 bytes long
 */
export function embeddedIPv4s(bytes: Uint8Array): readonly EmbeddedIPv4[] {
  _checkLength(bytes);
  if (bytes.length === 4) return NONE;
  const kind = _embedding(bytes);
  if (kind === E_NONE || kind === E_UNSPECIFIED || kind === E_LOOPBACK) return NONE;
  if (kind === E_TEREDO) {
    return [_embedded("teredo-server", _u32(bytes, 4)), _embedded("teredo-client", _teredoClient(bytes))];
  }
  return [_embedded(VIA[kind] ?? "ipv4-mapped", _u32(bytes, _embeddedOffset(kind)))];
}

/**
 * The IPv4 address an IPv6 address designates through translation, as a view of its last 4
 * bytes: IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), IPv4-translated
 * (`::ffff:0:a.b.c.d`), NAT64 (`64:ff9b::/96`) and local-use NAT64 in the /96 layout
 * (`64:ff9b:1::/96`). `undefined` for IPv4, other IPv6 addresses, 6to4 and Teredo (their IPv4
 * address is a tunnel's end, not the host reached) and local-use NAT64 with bits 48-95 set
 * (its layout cannot be known). Policy rules on IPv4 addresses match these forms too.
 *
 * @example
 * ```ts
 * formatIp(translatedIPv4(parseIp("64:ff9b::5db8:d822")!)!); // "93.184.216.34"
 * translatedIPv4(parseIp("2002:5db8:d822::1")!);             // undefined (6to4)
 * ```
 */
export function translatedIPv4(bytes: Uint8Array): Uint8Array | undefined {
  if (bytes.length !== 16) return undefined;
  switch (_embedding(bytes)) {
    case E_MAPPED:
    case E_COMPAT:
    case E_TRANSLATED:
    case E_NAT64:
      return bytes.subarray(12);
    case E_NAT64_LOCAL:
      return _zero(bytes, 6, 12) ? bytes.subarray(12) : undefined;
    default:
      return undefined;
  }
}
