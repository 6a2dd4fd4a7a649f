/**
 * The IPv4 address an IPv6 address designates by translation, for policy rules written on
 * IPv4 addresses. Web standards only.
 *
 * @module
 */
import { allZero, E_COMPAT, E_MAPPED, E_NAT64, E_NAT64_LOCAL, E_TRANSLATED, embeddingOf } from "./_ipv6-embedding.ts";

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
  return designatesIPv4(bytes) ? bytes.subarray(12) : undefined;
}

/**
 * Whether {@link translatedIPv4} finds an IPv4 address in `bytes` (then its last 4 bytes),
 * without making the view: for lookups that copy the 4 bytes into a buffer they reuse.
 */
export function designatesIPv4(bytes: Uint8Array): boolean {
  if (bytes.length !== 16) return false;
  switch (embeddingOf(bytes)) {
    case E_MAPPED:
    case E_COMPAT:
    case E_TRANSLATED:
    case E_NAT64:
      return true;
    case E_NAT64_LOCAL:
      return allZero(bytes, 6, 12);
    default:
      return false;
  }
}
