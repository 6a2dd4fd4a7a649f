/** HTTP/1.1 head serialisation with injection-safe validation. */
import { encodeLatin1 } from "../core/bytes.ts";
import { isFieldValue, isToken, isVisibleAscii, quote, trimOws, type HttpVersion } from "./http-head.ts";

/** What {@link serializeRequestHead} needs (a `RequestHead` fits). */
export interface RequestHeadInit {
  readonly method: string;
  readonly target: string;
  readonly version: HttpVersion;
  readonly headers: Iterable<readonly [string, string]>;
}

/** What {@link serializeResponseHead} needs (a `ResponseHead` fits). */
export interface ResponseHeadInit {
  readonly version: HttpVersion;
  readonly status: number;
  readonly reason?: string;
  readonly headers: Iterable<readonly [string, string]>;
}

/**
 * Format header fields as `name: value CRLF` lines.
 *
 * @throws {TypeError} when a name is not a token or a value has CR, LF, NUL or other
 * controls, leading/trailing whitespace, or characters above 0xFF.
 */
export function formatFieldLines(headers: Iterable<readonly [string, string]>): string {
  let out = "";
  for (const [name, value] of headers) {
    if (!isToken(name)) throw new TypeError(`Invalid header name ${quote(name)}`);
    if (!isFieldValue(value) || trimOws(value) !== value) {
      throw new TypeError(`Invalid value for header ${quote(name)}: ${quote(value)}`);
    }
    out += `${name}: ${value}\r\n`;
  }
  return out;
}

function checkVersion(version: string): void {
  if (version !== "HTTP/1.1" && version !== "HTTP/1.0") throw new TypeError(`Invalid HTTP version ${quote(version)}`);
}

/**
 * Serialise a request head (request line, fields, empty line).
 *
 * @throws {TypeError} for an invalid method, target, version or field.
 * @example
 * ```ts
 * serializeRequestHead({ method: "GET", target: "/", version: "HTTP/1.1", headers: [["Host", "a"]] });
 * // "GET / HTTP/1.1\r\nHost: a\r\n\r\n" as bytes
 * ```
 */
export function serializeRequestHead(init: RequestHeadInit): Uint8Array {
  if (!isToken(init.method)) throw new TypeError(`Invalid method ${quote(init.method)}`);
  if (!isVisibleAscii(init.target)) throw new TypeError(`Invalid request target ${quote(init.target)}`);
  checkVersion(init.version);
  return encodeLatin1(`${init.method} ${init.target} ${init.version}\r\n${formatFieldLines(init.headers)}\r\n`);
}

/**
 * Serialise a response head (status line, fields, empty line).
 *
 * @throws {RangeError} for a status outside 100-599; {TypeError} for an invalid reason,
 * version or field.
 * @example
 * ```ts
 * serializeResponseHead({ version: "HTTP/1.1", status: 200, reason: "Connection established", headers: [] });
 * ```
 */
export function serializeResponseHead(init: ResponseHeadInit): Uint8Array {
  if (!Number.isInteger(init.status) || init.status < 100 || init.status > 599) {
    throw new RangeError(`Invalid status code "${init.status}"`);
  }
  const reason = init.reason ?? "";
  if (!isFieldValue(reason)) throw new TypeError(`Invalid reason phrase ${quote(reason)}`);
  checkVersion(init.version);
  return encodeLatin1(`${init.version} ${init.status} ${reason}\r\n${formatFieldLines(init.headers)}\r\n`);
}

const FRAMING_FIELDS = new Set(["content-length", "transfer-encoding", "connection"]);

/**
 * A complete, self-delimited HTTP/1.1 error response with a UTF-8 text body and
 * `Connection: close`. An extra Content-Type replaces the default one. With `omitBody` (the
 * answer to a `HEAD`) it is the head alone, whose Content-Length still says the body's size.
 *
 * @throws {TypeError} when `extraHeaders` sets Content-Length, Transfer-Encoding or
 * Connection, or a field is invalid.
 * @example
 * ```ts
 * errorResponse(403, "Forbidden", "Blocked by policy\n", [["X-Tollgate-Rule", "ads"]]);
 * ```
 */
export function errorResponse(
  status: number,
  reasonText: string,
  bodyText: string,
  extraHeaders: Iterable<readonly [string, string]> = [],
  options: { readonly omitBody?: boolean } = {},
): Uint8Array {
  const body = new TextEncoder().encode(bodyText);
  const extra = Array.from(extraHeaders);
  for (const [name] of extra) {
    if (FRAMING_FIELDS.has(name.toLowerCase())) throw new TypeError(`Header ${quote(name)} is set by errorResponse`);
  }
  const hasType = extra.some(([name]) => name.toLowerCase() === "content-type");
  const headers: (readonly [string, string])[] = [];
  if (!hasType) headers.push(["Content-Type", "text/plain; charset=utf-8"]);
  headers.push(["Content-Length", String(body.length)], ["Connection", "close"], ...extra);
  const head = serializeResponseHead({ version: "HTTP/1.1", status, reason: reasonText, headers });
  if (options.omitBody) return head;
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}
