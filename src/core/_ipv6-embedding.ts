/**
 * Where a 16-byte IPv6 address carries an IPv4 address, read without allocating: the
 * internals shared by `ip-class.ts` (which classifies by the IPv4 address) and
 * `translated-ipv4.ts` (which reads it for policy rules). Web standards only.
 *
 * @module
 */

/** Embedding codes {@linkcode embeddingOf} returns; numbers, so a lookup allocates nothing. */
export const E_NONE = 0;
export const E_MAPPED = 1;
export const E_COMPAT = 2;
export const E_TRANSLATED = 3;
export const E_NAT64 = 4;
export const E_NAT64_LOCAL = 5;
export const E_6TO4 = 6;
export const E_TEREDO = 7;
export const E_LOOPBACK = 8; // ::1
export const E_UNSPECIFIED = 9; // ::

/** The 4 bytes of `b` at `o` as an unsigned 32-bit number. */
export function u32(b: Uint8Array, o: number): number {
  return (((b[o] ?? 0) << 24) | ((b[o + 1] ?? 0) << 16) | ((b[o + 2] ?? 0) << 8) | (b[o + 3] ?? 0)) >>> 0;
}

/** Whether bytes `from` to `to` (exclusive) of `b` are all zero. */
export function allZero(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}

/** Which embedding (or special all-zero form) a 16-byte address is. */
export function embeddingOf(b: Uint8Array): number {
  const b0 = b[0] ?? 0;
  if (b0 === 0) {
    if (!allZero(b, 1, 8)) {
      if (b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b) {
        if (allZero(b, 4, 12)) return E_NAT64;
        if (b[4] === 0 && b[5] === 1) return E_NAT64_LOCAL;
      }
      return E_NONE;
    }
    const w8 = (b[8] ?? 0) << 8 | (b[9] ?? 0);
    const w10 = (b[10] ?? 0) << 8 | (b[11] ?? 0);
    if (w8 === 0 && w10 === 0xffff) return E_MAPPED;
    if (w8 === 0xffff && w10 === 0) return E_TRANSLATED;
    if (w8 !== 0 || w10 !== 0) return E_NONE;
    if (allZero(b, 12, 15)) {
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

/** Offset of the (first) embedded IPv4 address for an embedding code. */
export function embeddedOffset(kind: number): number {
  return kind === E_6TO4 ? 2 : kind === E_TEREDO ? 4 : 12;
}

/** A Teredo address's client IPv4 address (its last 4 bytes, inverted) as a 32-bit number. */
export function teredoClient(b: Uint8Array): number {
  return ~u32(b, 12) >>> 0;
}
