/**
 * Writing the PROXY protocol header (HAProxy's, versions 1 and 2) that the gateway sends
 * first on a connection to a backend that expects one (`reverse.pools.<name>.proxyProtocol`),
 * so that the backend learns the original client. The reader is `proxy-header.ts`.
 * Spec: https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt
 *
 * @module
 */
import type { Address } from "../core/conn.ts";
import { encodeLatin1 } from "../core/bytes.ts";
import { formatIp, isIPv4Mapped, parseIp } from "../core/ip.ts";

/** Which PROXY protocol version a backend expects. */
export type ProxyProtocolVersion = "v1" | "v2";

/** What a header says: a relayed client, or LOCAL (the sender's own connection, e.g. a health check). */
export type ProxyHeaderFields =
  | {
    readonly command: "proxy";
    /** The original client. */
    readonly source: Address;
    /** The address the client connected to. */
    readonly destination: Address;
    /** v2 only: the host name the client asked for (TLV `PP2_TYPE_AUTHORITY`, the SNI). */
    readonly authority?: string;
  }
  | { readonly command: "local" };

const V2_SIGNATURE = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
const TLV_AUTHORITY = 0x02;
/** Longest authority sent: a DNS name is at most 253 characters. */
const MAX_AUTHORITY = 255;

/**
 * The two addresses in one family: both IPv4, or both IPv6 (an IPv4 address next to an
 * IPv6 one is written IPv4-mapped); undefined when either is not an IP address.
 */
function sameFamily(a: Address, b: Address): { readonly src: Uint8Array; readonly dst: Uint8Array } | undefined {
  let src = parseIp(a.address);
  let dst = parseIp(b.address);
  if (!src || !dst) return undefined;
  if (src.length === 16 && isIPv4Mapped(src) && dst.length === 4) src = src.subarray(12);
  if (dst.length === 16 && isIPv4Mapped(dst) && src.length === 4) dst = dst.subarray(12);
  if (src.length !== dst.length) {
    const mapped = (v4: Uint8Array) => Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...v4);
    if (src.length === 4) src = mapped(src);
    else dst = mapped(dst);
  }
  return { src, dst };
}

/**
 * The header for `fields` in `version`. v1 is a text line (`PROXY TCP4 src dst sport dport`,
 * or `PROXY UNKNOWN` for LOCAL and for addresses that are not IPs); v2 is binary, LOCAL or
 * PROXY over TCP, with the authority TLV when one is given.
 *
 * @throws {RangeError} for a port outside 0-65535 or an authority over 255 bytes
 * @example
 * ```ts
 * proxyHeader("v1", { command: "proxy", source: { address: "192.0.2.7", port: 51000 }, destination: { address: "10.0.0.1", port: 443 } });
 * // "PROXY TCP4 192.0.2.7 10.0.0.1 51000 443\r\n" as bytes
 * ```
 */
export function proxyHeader(version: ProxyProtocolVersion, fields: ProxyHeaderFields): Uint8Array {
  const addresses = fields.command === "proxy" ? sameFamily(fields.source, fields.destination) : undefined;
  if (fields.command === "proxy") {
    for (const p of [fields.source.port, fields.destination.port]) {
      if (!Number.isInteger(p) || p < 0 || p > 65535) throw new RangeError(`Expected a port 0-65535, got ${p}`);
    }
  }
  if (version === "v1") {
    if (!addresses || fields.command !== "proxy") return encodeLatin1("PROXY UNKNOWN\r\n");
    const family = addresses.src.length === 4 ? "TCP4" : "TCP6";
    const line = `PROXY ${family} ${formatIp(addresses.src)} ${formatIp(addresses.dst)} ${fields.source.port} ${fields.destination.port}\r\n`;
    return encodeLatin1(line);
  }
  if (!addresses || fields.command !== "proxy") return Uint8Array.of(...V2_SIGNATURE, 0x20, 0x00, 0x00, 0x00);
  const size = addresses.src.length;
  const authority = fields.authority === undefined ? undefined : new TextEncoder().encode(fields.authority);
  if (authority && authority.byteLength > MAX_AUTHORITY) throw new RangeError(`Authority of ${authority.byteLength} bytes is over ${MAX_AUTHORITY}`);
  const tlvBytes = authority ? 3 + authority.byteLength : 0;
  const body = 2 * size + 4 + tlvBytes;
  const out = new Uint8Array(16 + body);
  out.set(V2_SIGNATURE, 0);
  out[12] = 0x21; // version 2, PROXY
  out[13] = size === 4 ? 0x11 : 0x21; // TCP over IPv4 / IPv6
  const view = new DataView(out.buffer);
  view.setUint16(14, body);
  out.set(addresses.src, 16);
  out.set(addresses.dst, 16 + size);
  view.setUint16(16 + 2 * size, fields.source.port);
  view.setUint16(18 + 2 * size, fields.destination.port);
  if (authority) {
    const at = 20 + 2 * size;
    out[at] = TLV_AUTHORITY;
    view.setUint16(at + 1, authority.byteLength);
    out.set(authority, at + 3);
  }
  return out;
}
