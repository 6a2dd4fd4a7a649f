/**
 * Shared HTTP/1.1 head tokenizer and character-class checks (RFC 9110 §5, RFC 9112 §2, §5),
 * used by the request, response and chunked-trailer parsers.
 */
import { HttpParseError } from "./http-errors.ts";
import { adoptHeaderEntries, type HeaderEntry, type HeaderList } from "./http-headers.ts";

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
  return isFieldValueAt(text, 0, text.length);
}

/** {@link isFieldValue} of `text.slice(from, to)`, without making that slice. */
function isFieldValueAt(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x09) continue;
    if (c < 0x20 || c === 0x7f || c > 0xff) return false;
  }
  return true;
}

const VISIBLE_ASCII = /^[\x21-\x7e]+$/;

/** True when every character is visible ASCII (0x21-0x7E), and `text` is non-empty. */
export function isVisibleAscii(text: string): boolean {
  // a native scan: half the cost of a loop over a request target on Deno
  return VISIBLE_ASCII.test(text);
}

/** Quote a value for an error message: JSON-escaped, truncated to 64 characters. */
export function quote(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);
}

/** Remove leading and trailing SP / HTAB (OWS). */
export function trimOws(text: string): string {
  const start = skipOws(text, 0, text.length);
  return text.slice(start, owsEnd(text, start, text.length));
}

/** The first index in `[from, to)` past leading SP / HTAB (`to` if none). */
function skipOws(text: string, from: number, to: number): number {
  while (from < to && isOws(text.charCodeAt(from))) from++;
  return from;
}

/** The end of `[from, to)` without its trailing SP / HTAB. */
function owsEnd(text: string, from: number, to: number): number {
  while (to > from && isOws(text.charCodeAt(to - 1))) to--;
  return to;
}

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/**
 * Check the lines of a complete head (decoded one byte per code unit): it must end with an
 * empty line (CRLF CRLF) and contain no bare CR or bare LF. Returns the number of lines
 * before the final empty one.
 *
 * @param what "Request head", "Response head" or "Trailer section", for messages.
 */
export function countHeadLines(text: string, status: number, what: string): number {
  // Native searches from line end to line end, not a loop over every character (2-3x
  // faster on both runtimes). Each CR must have its LF right after it; an LF found before
  // the next CR has none right before it (a CR there would have been found first).
  let lines = -1;
  let cr = text.indexOf("\r");
  let lf = text.indexOf("\n");
  while (cr !== -1 || lf !== -1) {
    if (lf !== -1 && (cr === -1 || lf < cr)) {
      throw new HttpParseError(status, `${what} contains a bare LF at offset ${lf}`);
    }
    if (lf !== cr + 1) throw new HttpParseError(status, `${what} contains a bare CR at offset ${cr}`);
    lines++;
    cr = text.indexOf("\r", lf + 1);
    lf = text.indexOf("\n", lf + 1);
  }
  if (!text.endsWith("\r\n\r\n")) {
    throw new HttpParseError(status, `${what} does not end with an empty line`);
  }
  return lines;
}

/**
 * Split a complete head (decoded one byte per code unit) into lines, checked as by
 * {@link countHeadLines}. The final empty line is not returned.
 */
export function splitHeadLines(text: string, status: number, what: string): string[] {
  countHeadLines(text, status, what);
  return text.slice(0, -4).split("\r\n");
}

/**
 * Parse one `field-line` (RFC 9112 §5): `name ":" OWS value OWS`. Rejects obs-fold (a line
 * starting with SP/HTAB), whitespace before the colon, non-token names and control
 * characters in the value.
 */
export function parseFieldLine(line: string, status: number): HeaderEntry {
  return parseFieldAt(line, 0, line.length, status);
}

/** {@link parseFieldLine} of `text.slice(start, end)`, without making that slice. */
function parseFieldAt(text: string, start: number, end: number, status: number): HeaderEntry {
  if (start === end) throw new HttpParseError(status, "Empty line inside header section");
  const first = text.charCodeAt(start);
  if (first === 0x20 || first === 0x09) {
    throw new HttpParseError(status, `Obsolete line folding is not allowed: ${quote(text.slice(start, end))}`);
  }
  // one pass to the first colon, noting on the way whether the name is a token
  let colon = start;
  let token = true;
  for (; colon < end; colon++) {
    const c = text.charCodeAt(colon);
    if (c === 0x3a) break;
    if (!isTokenCode(c)) token = false;
  }
  if (colon === end) throw new HttpParseError(status, `Header line ${quote(text.slice(start, end))} has no colon`);
  if (colon === start) throw new HttpParseError(status, `Empty field name in ${quote(text.slice(start, end))}`);
  const name = text.slice(start, colon);
  if (isOws(text.charCodeAt(colon - 1))) {
    throw new HttpParseError(status, `Whitespace between field name ${quote(trimOws(name))} and colon`);
  }
  if (!token) throw new HttpParseError(status, `Invalid field name ${quote(name)}`);
  const from = skipOws(text, colon + 1, end);
  const to = owsEnd(text, from, end);
  if (!isFieldValueAt(text, from, to)) {
    throw new HttpParseError(status, `Invalid character in value of field ${quote(name)}`);
  }
  return [name, text.slice(from, to)];
}

function checkFieldCount(count: number, maxFields: number, overflowStatus: number): void {
  if (count > maxFields) {
    throw new HttpParseError(overflowStatus, `Too many header fields (${count}, limit ${maxFields})`);
  }
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
  checkFieldCount(lines.length - from, maxFields, overflowStatus);
  const entries: HeaderEntry[] = [];
  for (let i = from; i < lines.length; i++) entries.push(parseFieldLine(lines[i] ?? "", status));
  return adoptHeaderEntries(entries);
}

/**
 * Parse the field lines of a whole head, as {@link parseFieldLines} of its lines after the
 * start line, reading them in place instead of from split strings.
 *
 * @param text the head, already checked by {@link countHeadLines}.
 * @param lines what {@link countHeadLines} returned for it.
 */
export function parseHeadFields(
  text: string,
  lines: number,
  maxFields: number,
  status: number,
  overflowStatus: number,
): HeaderList {
  checkFieldCount(lines - 1, maxFields, overflowStatus);
  const entries: HeaderEntry[] = [];
  // the lookup names: one lowercasing of the head is far cheaper on Bun than one per name
  const lowerText = text.toLowerCase();
  const lower: string[] | undefined = lowerText.length === text.length ? [] : undefined;
  // every CR is followed by LF (checked), so a line ends at the next CR
  let start = text.indexOf("\r") + 2;
  PLAIN_FIELDS.lastIndex = start;
  // when every line is plain, none can fail a check: only find the colon and trim the value
  const plain = PLAIN_FIELDS.test(text);
  for (let i = 1; i < lines; i++) {
    const end = text.indexOf("\r", start);
    const field = plain ? plainFieldAt(text, start, end) : parseFieldAt(text, start, end, status);
    entries.push(field);
    lower?.push(lowerText.slice(start, start + field[0].length));
    start = end + 2;
  }
  return adoptHeaderEntries(entries, lower);
}

/**
 * Field lines to the end of the head that pass every check of {@link parseFieldAt}: a token
 * name, the colon right after it, a value of HTAB, SP, VCHAR and obs-text; then the empty
 * line. One native scan instead of a loop over each character (sticky: from `lastIndex`).
 */
const PLAIN_FIELDS = /(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e\x80-\xff]*\r\n)*\r\n$/y;

/** A field line known to match {@link PLAIN_FIELDS}, in `text.slice(start, end)`. */
function plainFieldAt(text: string, start: number, end: number): HeaderEntry {
  const colon = text.indexOf(":", start);
  const from = skipOws(text, colon + 1, end);
  return [text.slice(start, colon), text.slice(from, owsEnd(text, from, end))];
}

/**
 * Split a comma-separated field value into trimmed elements (RFC 9110 §5.6.1). Empty
 * elements are kept as "" so callers can decide whether to reject them.
 */
export function splitList(value: string): string[] {
  return value.split(",").map(trimOws);
}
