/**
 * Shared HTTP/1.1 head tokenizer and character-class checks (RFC 9110 §5, RFC 9112 §2, §5),
 * used by the request, response and chunked-trailer parsers.
 */
import { HttpParseError } from "./http-errors.ts";
import { HeaderList, type HeaderEntry } from "./http-headers.ts";

/** The HTTP/1.x versions this layer speaks. */
export type HttpVersion = "HTTP/1.1" | "HTTP/1.0";

/** Default cap on the size of a message head, start line to final CRLF inclusive. */
export const DEFAULT_MAX_HEAD_BYTES = 65536;
/** Default cap on the number of header field lines. */
export const DEFAULT_MAX_HEADERS = 100;

/** Size limits for head parsing. */
export interface HeadLimits {
  /** Largest head in bytes (default 65536). */
  readonly maxHeadBytes?: number;
  /** Most header field lines (default 100). */
  readonly maxHeaders?: number;
}

const TOKEN_TABLE: Uint8Array = (() => {
  const t = new Uint8Array(128);
  const chars = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  return t;
})();

/** True when the character code is a `tchar` (RFC 9110 §5.6.2). */
export function isTokenCode(code: number): boolean {
  return code < 128 && TOKEN_TABLE[code] === 1;
}

/** True when `text` is a non-empty `token` (RFC 9110 §5.6.2). */
export function isToken(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) if (!isTokenCode(text.charCodeAt(i))) return false;
  return true;
}

/**
 * True when `text` may be a field value: HTAB, SP, VCHAR and obs-text only (no CR, LF,
 * NUL or other controls), code units at most 0xFF.
 */
export function isFieldValue(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x09) continue;
    if (c < 0x20 || c === 0x7f || c > 0xff) return false;
  }
  return true;
}

/** True when every character is visible ASCII (0x21-0x7E), and `text` is non-empty. */
export function isVisibleAscii(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/** Quote a value for an error message: JSON-escaped, truncated to 64 characters. */
export function quote(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);
}

/** Remove leading and trailing SP / HTAB (OWS). */
export function trimOws(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isOws(text.charCodeAt(start))) start++;
  while (end > start && isOws(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/**
 * Split a complete head (decoded one byte per code unit) into lines. The head must end with
 * an empty line (CRLF CRLF) and contain no bare CR or bare LF. The final empty line is not
 * returned.
 *
 * @param what "Request head", "Response head" or "Trailer section", for messages.
 */
export function splitHeadLines(text: string, status: number, what: string): string[] {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0d && text.charCodeAt(i + 1) !== 0x0a) {
      throw new HttpParseError(status, `${what} contains a bare CR at offset ${i}`);
    }
    if (c === 0x0a && (i === 0 || text.charCodeAt(i - 1) !== 0x0d)) {
      throw new HttpParseError(status, `${what} contains a bare LF at offset ${i}`);
    }
  }
  if (!text.endsWith("\r\n\r\n")) {
    throw new HttpParseError(status, `${what} does not end with an empty line`);
  }
  return text.slice(0, -4).split("\r\n");
}

/**
 * Parse one `field-line` (RFC 9112 §5): `name ":" OWS value OWS`. Rejects obs-fold (a line
 * starting with SP/HTAB), whitespace before the colon, non-token names and control
 * characters in the value.
 */
export function parseFieldLine(line: string, status: number): HeaderEntry {
  const first = line.charCodeAt(0);
  if (first === 0x20 || first === 0x09) {
    throw new HttpParseError(status, `Obsolete line folding is not allowed: ${quote(line)}`);
  }
  if (line.length === 0) throw new HttpParseError(status, "Empty line inside header section");
  const colon = line.indexOf(":");
  if (colon === -1) throw new HttpParseError(status, `Header line ${quote(line)} has no colon`);
  if (colon === 0) throw new HttpParseError(status, `Empty field name in ${quote(line)}`);
  const name = line.slice(0, colon);
  if (isOws(name.charCodeAt(name.length - 1))) {
    throw new HttpParseError(status, `Whitespace between field name ${quote(trimOws(name))} and colon`);
  }
  if (!isToken(name)) throw new HttpParseError(status, `Invalid field name ${quote(name)}`);
  const value = trimOws(line.slice(colon + 1));
  if (!isFieldValue(value)) {
    throw new HttpParseError(status, `Invalid character in value of field ${quote(name)}`);
  }
  return [name, value];
}

/**
 * Parse field lines `lines[from..]` into a HeaderList.
 *
 * @param overflowStatus status when there are more than `maxFields` lines (431 for requests).
 */
export function parseFieldLines(
  lines: readonly string[],
  from: number,
  maxFields: number,
  status: number,
  overflowStatus: number,
): HeaderList {
  const count = lines.length - from;
  if (count > maxFields) {
    throw new HttpParseError(overflowStatus, `Too many header fields (${count}, limit ${maxFields})`);
  }
  const entries: HeaderEntry[] = [];
  for (let i = from; i < lines.length; i++) entries.push(parseFieldLine(lines[i] ?? "", status));
  return new HeaderList(entries);
}

/**
 * Split a comma-separated field value into trimmed elements (RFC 9110 §5.6.1). Empty
 * elements are kept as "" so callers can decide whether to reject them.
 */
export function splitList(value: string): string[] {
  return value.split(",").map(trimOws);
}
