/**
 * Classify a resolved IP address for the address guard (SSRF): loopback, private,
 * link-local, cloud metadata, CGNAT, multicast, unspecified, broadcast, reserved or public.
 *
 * IPv6 forms that carry an IPv4 address are unwrapped and classified by that address:
 * IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), IPv4-translated
 * (`::ffff:0:a.b.c.d`), NAT64 (`64:ff9b::/96`, local-use `64:ff9b:1::/48`), 6to4
 * (`2002::/16`) and Teredo (`2001::/32`, server and XOR-ed client; the worse one wins).
 * `translatedIPv4` (translated-ipv4.ts) reads the IPv4 address of the forms that designate it
 * by translation (not 6to4 and Teredo, which tunnel to it), for policy rules on IPv4 addresses.
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
import { classV4, classV6Plain, rangeV4 } from "./_ip-ranges.ts";
import {
  allZero,
  E_LOOPBACK,
  E_NAT64_LOCAL,
  E_NONE,
  E_TEREDO,
  E_UNSPECIFIED,
  embeddedOffset,
  embeddingOf,
  teredoClient,
  u32,
} from "./_ipv6-embedding.ts";

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
  if (bytes.length === 4) return classV4(u32(bytes, 0));
  const kind = embeddingOf(bytes);
  switch (kind) {
    case E_NONE:
      return classV6Plain(bytes);
    case E_UNSPECIFIED:
      return "unspecified";
    case E_LOOPBACK:
      return "loopback";
    case E_TEREDO:
      return _worse(classV4(u32(bytes, 4)), classV4(teredoClient(bytes)));
    case E_NAT64_LOCAL: {
      const cls = classV4(u32(bytes, 12));
      return allZero(bytes, 6, 12) ? cls : _worse(cls, "reserved");
    }
    default:
      return classV4(u32(bytes, embeddedOffset(kind)));
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
  if (cls === "metadata") out.range = rangeV4(u);
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
    const u = u32(bytes, 0);
    const cls = classV4(u);
    return cls === "metadata" ? { cls, range: rangeV4(u) } : PLAIN[cls];
  }
  const kind = embeddingOf(bytes);
  if (kind === E_NONE) {
    const cls = classV6Plain(bytes);
    return cls === "metadata" ? { cls, range: "private" } : PLAIN[cls];
  }
  if (kind === E_UNSPECIFIED) return PLAIN.unspecified;
  if (kind === E_LOOPBACK) return PLAIN.loopback;
  if (kind === E_TEREDO) {
    const server = u32(bytes, 4);
    const client = teredoClient(bytes);
    const sc = classV4(server);
    const cc = classV4(client);
    return ipClassSeverity(sc) > ipClassSeverity(cc)
      ? _result(sc, server, "teredo-server")
      : _result(cc, client, "teredo-client");
  }
  const u = u32(bytes, embeddedOffset(kind));
  return _result(ipClass(bytes), u, VIA[kind] ?? "ipv4-mapped");
}

const NONE: readonly EmbeddedIPv4[] = Object.freeze([]);

function _embedded(via: IPv4Embedding, u: number): EmbeddedIPv4 {
  const bytes = new Uint8Array([u >>> 24, (u >>> 16) & 0xff, (u >>> 8) & 0xff, u & 0xff]);
  return { via, bytes, cls: classV4(u) };
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
  const kind = embeddingOf(bytes);
  if (kind === E_NONE || kind === E_UNSPECIFIED || kind === E_LOOPBACK) return NONE;
  if (kind === E_TEREDO) {
    return [_embedded("teredo-server", u32(bytes, 4)), _embedded("teredo-client", teredoClient(bytes))];
  }
  return [_embedded(VIA[kind] ?? "ipv4-mapped", u32(bytes, embeddedOffset(kind)))];
}
