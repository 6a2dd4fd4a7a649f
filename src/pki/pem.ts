/**
 * PEM encoding and decoding (RFC 7468), strict enough for certificates and PKCS#8 keys.
 *
 * @module
 */

/** Largest PEM text accepted by {@linkcode decodePem} (1 MiB): certificates and keys are small. */
export const MAX_PEM_LENGTH = 1024 * 1024;

/** One decoded PEM block. */
export interface PemBlock {
  /** The label between `BEGIN ` and the dashes, e.g. `"CERTIFICATE"`. */
  readonly label: string;
  readonly der: Uint8Array<ArrayBuffer>;
}

/**
 * Encodes DER bytes as one PEM block with 64-character lines, ending with a newline.
 *
 * @example
 * ```ts
 * encodePem(Uint8Array.of(1, 2, 3), "CERTIFICATE");
 * // "-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n"
 * ```
 */
export function encodePem(der: Uint8Array, label: string): string {
  let binary = "";
  for (let i = 0; i < der.length; i += 0x2000) {
    binary += String.fromCharCode.apply(null, Array.from(der.subarray(i, i + 0x2000)));
  }
  const b64 = btoa(binary);
  let body = "";
  for (let i = 0; i < b64.length; i += 64) body += b64.slice(i, i + 64) + "\n";
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]{1,64})-----\r?\n([A-Za-z0-9+/=\r\n\t ]*?)-----END ([A-Z0-9 ]{1,64})-----/g;

/**
 * Decodes every PEM block in `text` (text outside blocks, such as `openssl` comments, is
 * ignored). Throws `SyntaxError` on a mismatched label or invalid base64, `RangeError` when
 * `text` is longer than `maxLength` ({@linkcode MAX_PEM_LENGTH} unless a caller reads larger
 * files, such as CRLs).
 *
 * @example
 * ```ts
 * const [block] = decodePem(pemText);
 * block?.label; // "CERTIFICATE"
 * ```
 */
export function decodePem(text: string, maxLength: number = MAX_PEM_LENGTH): PemBlock[] {
  if (text.length > maxLength) {
    throw new RangeError(`PEM text is longer than "${maxLength}" characters`);
  }
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(BLOCK)) {
    const [, label = "", body = "", endLabel = ""] = match;
    if (label !== endLabel) throw new SyntaxError(`PEM block "${label}" ends with "${endLabel}"`);
    let binary: string;
    try {
      binary = atob(body.replace(/[\r\n\t ]/g, ""));
    } catch {
      throw new SyntaxError(`PEM block "${label}" has invalid base64`);
    }
    const der = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) der[i] = binary.charCodeAt(i);
    blocks.push({ label, der });
  }
  return blocks;
}
