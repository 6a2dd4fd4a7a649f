/**
 * A minimal DER writer and reader: just what leaf minting and CA inspection need.
 *
 * The writer builds exact DER (definite, minimal lengths; minimal INTEGERs). The reader walks
 * TLVs of trusted-shape data (certificates we parse with `@peculiar/x509` first) and throws
 * `SyntaxError` on anything truncated or malformed.
 *
 * @module
 */

/** DER tag bytes used in this package. */
export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

/** Concatenates byte arrays into one new array. */
export function concat(parts: readonly Uint8Array<ArrayBuffer>[]): Uint8Array<ArrayBuffer> {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Encodes one TLV whose value is the concatenation of `parts`. */
export function tlv(tag: number, ...parts: Uint8Array<ArrayBuffer>[]): Uint8Array<ArrayBuffer> {
  let len = 0;
  for (const p of parts) len += p.length;
  const lenBytes = len < 0x80 ? 1 : len < 0x100 ? 2 : len < 0x10000 ? 3 : len < 0x1000000 ? 4 : 5;
  const out = new Uint8Array(1 + lenBytes + len);
  out[0] = tag;
  if (lenBytes === 1) {
    out[1] = len;
  } else {
    out[1] = 0x80 | (lenBytes - 1);
    for (let i = lenBytes - 1, v = len; i >= 1; i--, v = Math.floor(v / 256)) out[1 + i] = v & 0xff;
  }
  let at = 1 + lenBytes;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** `SEQUENCE { parts }`. */
export function sequence(...parts: Uint8Array<ArrayBuffer>[]): Uint8Array<ArrayBuffer> {
  return tlv(TAG.sequence, ...parts);
}

/** `OBJECT IDENTIFIER` from dotted text, e.g. `"2.5.29.17"`. */
export function oid(dotted: string): Uint8Array<ArrayBuffer> {
  const arcs = dotted.split(".").map((a) => {
    if (!/^\d+$/.test(a)) throw new SyntaxError(`Invalid OID "${dotted}"`);
    return Number(a);
  });
  const [first, second, ...rest] = arcs;
  if (first === undefined || second === undefined || first > 2) throw new SyntaxError(`Invalid OID "${dotted}"`);
  const bytes: number[] = [];
  for (const arc of [first * 40 + second, ...rest]) {
    const chunk = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(TAG.oid, Uint8Array.from(bytes));
}

/** A non-negative `INTEGER` from big-endian unsigned magnitude bytes, minimally encoded. */
export function unsignedInteger(magnitude: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const body = magnitude.subarray(start);
  if (body.length === 0) return tlv(TAG.integer, new Uint8Array(1));
  return (body[0] ?? 0) & 0x80 ? tlv(TAG.integer, new Uint8Array(1), body) : tlv(TAG.integer, body);
}

/** `BOOLEAN TRUE`. */
export const TRUE: Uint8Array<ArrayBuffer> = Uint8Array.of(TAG.boolean, 1, 0xff);

/** `NULL`. */
export const NULL: Uint8Array<ArrayBuffer> = Uint8Array.of(TAG.null, 0);

/** `OCTET STRING`. */
export function octetString(value: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  return tlv(TAG.octetString, value);
}

/** `BIT STRING` with zero unused bits. */
export function bitString(value: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  return tlv(TAG.bitString, Uint8Array.of(0), value);
}

const encoder = new TextEncoder();

/** A string TLV (`UTF8String`, `IA5String`, ...) of the given tag. */
export function stringOf(tag: number, value: string): Uint8Array<ArrayBuffer> {
  return tlv(tag, encoder.encode(value));
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

/**
 * X.509 `Time`: `UTCTime` for 1950–2049, `GeneralizedTime` otherwise (RFC 5280 §4.1.2.5),
 * at whole-second precision (milliseconds are dropped).
 */
export function time(date: Date): Uint8Array<ArrayBuffer> {
  const y = date.getUTCFullYear();
  const rest = pad2(date.getUTCMonth() + 1) + pad2(date.getUTCDate()) + pad2(date.getUTCHours()) +
    pad2(date.getUTCMinutes()) + pad2(date.getUTCSeconds()) + "Z";
  if (y >= 1950 && y < 2050) return stringOf(TAG.utcTime, pad2(y % 100) + rest);
  return stringOf(TAG.generalizedTime, String(y).padStart(4, "0") + rest);
}

/**
 * Converts a WebCrypto ECDSA signature (IEEE P1363 `r || s`) into the DER
 * `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` that X.509 carries.
 */
export function ecdsaSignatureToDer(raw: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  if (raw.length === 0 || raw.length % 2 !== 0) {
    throw new SyntaxError(`Invalid ECDSA signature length "${raw.length}"`);
  }
  const half = raw.length / 2;
  return sequence(unsignedInteger(raw.subarray(0, half)), unsignedInteger(raw.subarray(half)));
}

/** One parsed TLV: positions are absolute offsets into the buffer it was read from. */
export interface Tlv {
  readonly tag: number;
  /** Offset of the tag byte. */
  readonly start: number;
  /** Offset of the first value byte. */
  readonly valueStart: number;
  /** Offset just past the value. */
  readonly end: number;
}

/** Reads the TLV at `offset`, bounded by `limit` (default: end of `buf`). */
export function readTlv(buf: Uint8Array<ArrayBuffer>, offset: number, limit: number = buf.length): Tlv {
  const tag = buf[offset];
  const first = buf[offset + 1];
  if (tag === undefined || first === undefined || offset + 2 > limit) throw new SyntaxError("Truncated DER element");
  if ((tag & 0x1f) === 0x1f) throw new SyntaxError("Unsupported multi-byte DER tag");
  let len = first;
  let at = offset + 2;
  if (first & 0x80) {
    const n = first & 0x7f;
    if (n === 0 || n > 4) throw new SyntaxError(`Unsupported DER length of "${n}" bytes`);
    if (at + n > limit) throw new SyntaxError("Truncated DER length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[at + i] ?? 0);
    at += n;
  }
  const end = at + len;
  if (end > limit) throw new SyntaxError("Truncated DER value");
  return { tag, start: offset, valueStart: at, end };
}

/** Reads every TLV directly inside a constructed `parent`. */
export function readChildren(buf: Uint8Array<ArrayBuffer>, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.valueStart; at < parent.end;) {
    const child = readTlv(buf, at, parent.end);
    out.push(child);
    at = child.end;
  }
  return out;
}

const OID_COMMON_NAME = oid("2.5.4.3");

/** An X.501 `Name` holding one `CN` attribute as `UTF8String`: `SEQUENCE { SET { SEQUENCE { cn } } }`. */
export function commonNameDer(cn: string): Uint8Array<ArrayBuffer> {
  return sequence(tlv(TAG.set, sequence(OID_COMMON_NAME, stringOf(TAG.utf8String, cn))));
}
