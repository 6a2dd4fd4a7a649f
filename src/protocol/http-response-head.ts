/** HTTP/1.1 response head parser (RFC 9112 §4), strict and sans-IO; errors are 502. */
import { decodeLatin1 } from "../core/bytes.ts";
import { readFramingFields } from "./body-framing.ts";
import { HttpParseError } from "./http-errors.ts";
import {
  DEFAULT_MAX_HEAD_BYTES,
  DEFAULT_MAX_HEADERS,
  countHeadLines,
  isFieldValue,
  parseHeadFields,
  quote,
  type HeadLimits,
  type HttpVersion,
} from "./http-head.ts";
import type { HeaderList } from "./http-headers.ts";

/** A parsed, validated response head. */
export interface ResponseHead {
  readonly version: HttpVersion;
  /** Status code, 100-599. */
  readonly status: number;
  /** Reason phrase as sent (may be empty). */
  readonly reason: string;
  readonly headers: HeaderList;
}

const STATUS_LINE = /^(HTTP\/1\.[01]) ([0-9]{3})(?: (.*))?$/;

/**
 * Parse and validate a complete response head (ending with CRLF CRLF). A status line
 * without the space before an empty reason ("HTTP/1.1 200") is accepted.
 *
 * @throws {HttpParseError} 502 for anything malformed, oversize or ambiguous.
 * @example
 * ```ts
 * parseResponseHead(new TextEncoder().encode("HTTP/1.1 204 No Content\r\n\r\n")).status; // 204
 * ```
 */
export function parseResponseHead(bytes: Uint8Array, limits: HeadLimits = {}): ResponseHead {
  const maxBytes = limits.maxHeadBytes ?? DEFAULT_MAX_HEAD_BYTES;
  if (bytes.length > maxBytes) throw new HttpParseError(502, `Response head exceeds ${maxBytes} bytes`);
  const text = decodeLatin1(bytes);
  const lines = countHeadLines(text, 502, "Response head");
  const statusLine = text.slice(0, text.indexOf("\r"));
  const m = STATUS_LINE.exec(statusLine);
  if (m === null) {
    if (/^HTTP\/[0-9]\.[0-9] /.test(statusLine) && !/^HTTP\/1\.[01] /.test(statusLine)) {
      throw new HttpParseError(502, `Unsupported response version ${quote(statusLine.slice(0, 8))}`);
    }
    throw new HttpParseError(502, `Malformed status line ${quote(statusLine)}`);
  }
  const version: HttpVersion = m[1] === "HTTP/1.0" ? "HTTP/1.0" : "HTTP/1.1";
  const status = Number(m[2]);
  const reason = m[3] ?? "";
  if (status < 100 || status > 599) throw new HttpParseError(502, `Invalid status code ${quote(m[2] ?? "")}`);
  if (!isFieldValue(reason)) throw new HttpParseError(502, `Invalid character in reason phrase ${quote(reason)}`);
  const headers = parseHeadFields(text, lines, limits.maxHeaders ?? DEFAULT_MAX_HEADERS, 502, 502);
  readFramingFields(headers, version, "response");
  return { version, status, reason, headers };
}
