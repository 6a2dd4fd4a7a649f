/**
 * Small byte helpers shared by the sans-IO parsers. Web standards only.
 *
 * "Latin-1" here means ISO-8859-1 byte ↔ code unit mapping (byte 0xE9 ↔ "\u00e9"), which is
 * lossless for arbitrary bytes. It is NOT the WHATWG "latin1" label (that is windows-1252).
 */

/**
 * Concatenate byte arrays into one new array.
 *
 * @example
 * ```ts
 * concatBytes([new Uint8Array([1]), new Uint8Array([2, 3])]); // Uint8Array [1, 2, 3]
 * ```
 */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const c of chunks) total += c.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

/**
 * Index of the first occurrence of `needle` in `haystack` at or after `fromIndex`, or -1.
 * An empty needle matches at `fromIndex` (clamped to the haystack length).
 *
 * @example
 * ```ts
 * indexOfBytes(encodeLatin1("a\r\n\r\nb"), encodeLatin1("\r\n\r\n")); // 1
 * ```
 */
export function indexOfBytes(haystack: Uint8Array, needle: Uint8Array, fromIndex = 0): number {
  const from = Math.max(0, fromIndex);
  if (needle.length === 0) return Math.min(from, haystack.length);
  const first = needle[0];
  if (first === undefined) return -1;
  const last = haystack.length - needle.length;
  let i = haystack.indexOf(first, from);
  while (i !== -1 && i <= last) {
    let j = 1;
    while (j < needle.length && haystack[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
    i = haystack.indexOf(first, i + 1);
  }
  return -1;
}

/** True when both arrays hold the same bytes. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const DECODE_STEP = 8192;
/** UTF-8 decodes ASCII as Latin-1 does, natively: a 170-byte head in ~0.1 µs, not ~0.4. */
const ASCII = new TextDecoder();
/** Below this, `fromCharCode` costs no more than the decoder call (Deno). */
const ASCII_DECODE_MIN = 16;

/**
 * Decode bytes to a string, one code unit per byte (ISO-8859-1). Lossless for any input.
 *
 * @example
 * ```ts
 * decodeLatin1(new Uint8Array([0x48, 0x69, 0xe9])); // "Hi\u00e9"
 * ```
 */
export function decodeLatin1(bytes: Uint8Array): string {
  if (bytes.length >= ASCII_DECODE_MIN) {
    // Decoded as UTF-8, any byte above 0x7F shortens the text (a sequence or a stripped BOM)
    // or becomes U+FFFD: so this length and no U+FFFD mean the bytes were all ASCII.
    const text = ASCII.decode(bytes);
    if (text.length === bytes.length && !text.includes("\ufffd")) return text;
  }
  let out = "";
  for (let i = 0; i < bytes.length; i += DECODE_STEP) {
    // the view itself is the argument list (array-like): copying it into an Array first
    // made a request head cost ~2.3 µs instead of ~0.45 (both runtimes)
    out += Reflect.apply(String.fromCharCode, null, bytes.subarray(i, i + DECODE_STEP)) as string;
  }
  return out;
}

/**
 * Encode a string to bytes, one byte per code unit (ISO-8859-1).
 *
 * @throws {RangeError} when a code unit is above 0xFF.
 * @example
 * ```ts
 * encodeLatin1("GET"); // Uint8Array [71, 69, 84]
 * ```
 */
export function encodeLatin1(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) {
      throw new RangeError(`Cannot encode character "${text[i] ?? ""}" at index ${i} as Latin-1`);
    }
    out[i] = c;
  }
  return out;
}
