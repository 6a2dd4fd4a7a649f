/**
 * The few BER (X.690) shapes LDAP's bind needs: definite-length TLVs with single-byte tags,
 * written and read. Reading is strict: an indefinite or over-long length, or a length past
 * what the caller allows, throws.
 * @module
 */

/** A tag-length-value: `tag`, and `value` as a view into the bytes it was read from. */
export interface Tlv {
  readonly tag: number;
  readonly value: Uint8Array;
  /** Bytes the whole TLV took (header and value). */
  readonly size: number;
}

/** Encodes one TLV (definite length, short or long form). */
export function tlv(tag: number, value: Uint8Array): Uint8Array {
  const n = value.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : n < 0x10000 ? [0x82, n >> 8, n & 0xff] : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  const out = new Uint8Array(1 + len.length + n);
  out[0] = tag;
  out.set(len, 1);
  out.set(value, 1 + len.length);
  return out;
}

/** A SEQUENCE (or any constructed `tag`) of the given parts. */
export function constructed(tag: number, parts: readonly Uint8Array[]): Uint8Array {
  const total = parts.reduce((s, p) => s + p.length, 0);
  const body = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    body.set(p, at);
    at += p.length;
  }
  return tlv(tag, body);
}

/** A non-negative INTEGER (or ENUMERATED with `tag` 0x0a), minimal two's complement. */
export function integer(value: number, tag = 0x02): Uint8Array {
  const bytes: number[] = [];
  let v = value;
  do {
    bytes.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (v > 0);
  if ((bytes[0] ?? 0) & 0x80) bytes.unshift(0);
  return tlv(tag, Uint8Array.from(bytes));
}

/**
 * Reads the TLV at the start of `bytes`: undefined when it is not all there yet.
 * @throws {Error} on an indefinite length, a length of more than 4 bytes, or a TLV larger than `maxSize`
 */
export function readTlv(bytes: Uint8Array, maxSize: number): Tlv | undefined {
  if (bytes.length < 2) return undefined;
  const tag = bytes[0]!;
  if ((tag & 0x1f) === 0x1f) throw new Error("BER: multi-byte tags are not used by LDAP");
  const first = bytes[1]!;
  let length: number;
  let header = 2;
  if (first < 0x80) {
    length = first;
  } else {
    const count = first & 0x7f;
    if (count === 0) throw new Error("BER: indefinite length is not allowed in LDAP");
    if (count > 4) throw new Error(`BER: a ${count}-byte length`);
    if (bytes.length < 2 + count) return undefined;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[2 + i]!;
    header += count;
  }
  if (header + length > maxSize) throw new Error(`BER: a ${header + length}-byte element (limit ${maxSize})`);
  if (bytes.length < header + length) return undefined;
  return { tag, value: bytes.subarray(header, header + length), size: header + length };
}

/** The TLVs that make up a constructed value, in order. @throws {Error} when they do not fill it exactly */
export function children(value: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  let at = 0;
  while (at < value.length) {
    const t = readTlv(value.subarray(at), value.length - at);
    if (!t) throw new Error("BER: an element runs past its parent");
    out.push(t);
    at += t.size;
  }
  return out;
}

/** A non-negative INTEGER or ENUMERATED value (at most 4 bytes). @throws {Error} otherwise */
export function readInteger(value: Uint8Array): number {
  if (value.length === 0 || value.length > 4) throw new Error(`BER: a ${value.length}-byte integer`);
  if (value[0]! & 0x80) throw new Error("BER: a negative integer");
  let n = 0;
  for (const b of value) n = n * 256 + b;
  return n;
}
