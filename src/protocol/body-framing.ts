/**
 * Message body framing (RFC 9112 §6): validation of Content-Length / Transfer-Encoding and
 * the decision how a body is delimited.
 */
import { HttpParseError } from "./http-errors.ts";
import type { HeaderList } from "./http-headers.ts";
import { isToken, quote, splitList, trimOws, type HttpVersion } from "./http-head.ts";

/** How the body of a message is delimited. */
export type BodyFraming =
  /** No body (length 0 for requests without framing fields; HEAD, 1xx, 204, 304 responses). */
  | { readonly kind: "none" }
  /** Exactly `length` bytes (may be 0). */
  | { readonly kind: "length"; readonly length: number }
  /** Chunked transfer coding; decode with `ChunkedDecoder`. */
  | { readonly kind: "chunked" }
  /** Response body runs until the server closes the connection. */
  | { readonly kind: "close" }
  /** The connection becomes an opaque tunnel (2xx to CONNECT, 101 Switching Protocols). */
  | { readonly kind: "tunnel" };

/** The validated framing fields of a message. */
export interface FramingFields {
  /** The Content-Length value when present (identical repeated values merged). */
  readonly contentLength: number | undefined;
  /** Transfer codings in order, lowercase, without parameters; `undefined` when absent. */
  readonly transferCodings: readonly string[] | undefined;
  /** True when the final transfer coding is chunked. */
  readonly chunked: boolean;
}

const KNOWN_CODINGS = new Set(["chunked", "gzip", "x-gzip", "deflate", "compress", "x-compress"]);
const DIGITS = /^[0-9]+$/;
const PARAM = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+)[ \t]*=[ \t]*([!#$%&'*+\-.^_`|~0-9A-Za-z]+|"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*")$/;

/**
 * Validate Content-Length and Transfer-Encoding against request smuggling (RFC 9112 §6.1,
 * §6.3) and return what they say.
 *
 * Refused (400 for requests, 502 for responses): both fields present; Transfer-Encoding in
 * HTTP/1.0; conflicting, non-numeric, empty or oversize (> 2^53-1) Content-Length; empty
 * list elements; `chunked` more than once, not last, or with parameters; a request whose
 * final coding is not chunked. Unknown codings: 501 in requests, 502 in responses.
 */
export function readFramingFields(headers: HeaderList, version: HttpVersion, role: "request" | "response"): FramingFields {
  const status = role === "request" ? 400 : 502;
  const contentLength = readContentLength(headers, status);
  const te = headers.getAll("transfer-encoding");
  if (te.length === 0) return { contentLength, transferCodings: undefined, chunked: false };
  if (version === "HTTP/1.0") {
    throw new HttpParseError(status, `Transfer-Encoding is not allowed in an HTTP/1.0 ${role}`);
  }
  if (contentLength !== undefined) {
    throw new HttpParseError(status, "Transfer-Encoding and Content-Length must not both be present");
  }
  const codings: string[] = [];
  for (const value of te) {
    for (const element of splitList(value)) {
      if (element === "") throw new HttpParseError(status, `Empty element in Transfer-Encoding ${quote(value)}`);
      const [rawName = "", ...params] = element.split(";");
      const name = trimOws(rawName).toLowerCase();
      if (!isToken(name)) throw new HttpParseError(status, `Invalid transfer coding ${quote(element)}`);
      for (const p of params) {
        if (!PARAM.test(trimOws(p))) throw new HttpParseError(status, `Invalid transfer coding ${quote(element)}`);
      }
      if (!KNOWN_CODINGS.has(name)) {
        throw new HttpParseError(role === "request" ? 501 : 502, `Unsupported transfer coding ${quote(name)}`);
      }
      if (name === "chunked" && params.length > 0) {
        throw new HttpParseError(status, `Transfer coding "chunked" takes no parameters: ${quote(element)}`);
      }
      if (codings.includes("chunked")) {
        throw new HttpParseError(
          status,
          name === "chunked" ? 'Transfer coding "chunked" is applied more than once' : `Transfer coding ${quote(name)} follows "chunked"`,
        );
      }
      codings.push(name);
    }
  }
  const chunked = codings[codings.length - 1] === "chunked";
  if (role === "request" && !chunked) {
    throw new HttpParseError(400, `Final transfer coding of a request must be "chunked", got ${quote(te.join(", "))}`);
  }
  return { contentLength: undefined, transferCodings: codings, chunked };
}

function readContentLength(headers: HeaderList, status: number): number | undefined {
  const values = headers.getAll("content-length");
  let first: string | undefined;
  let length: number | undefined;
  for (const value of values) {
    for (const element of splitList(value)) {
      if (!DIGITS.test(element)) throw new HttpParseError(status, `Invalid Content-Length ${quote(value)}`);
      const significant = element.replace(/^0+(?=.)/, "");
      const n = Number(significant);
      if (significant.length > 16 || !Number.isSafeInteger(n)) {
        throw new HttpParseError(status, `Content-Length ${quote(element)} is too large`);
      }
      if (first === undefined) {
        first = element;
        length = n;
      } else if (n !== length) {
        throw new HttpParseError(status, `Conflicting Content-Length values ${quote(first)} and ${quote(element)}`);
      }
    }
  }
  return length;
}

/**
 * How the body of a request is delimited (RFC 9112 §6.3 rules 4-6): chunked, a length, or
 * none when neither field is present.
 *
 * @throws {HttpParseError} as {@link readFramingFields}.
 * @example
 * ```ts
 * requestBodyFraming(parseRequestHead(bytes)); // { kind: "length", length: 5 }
 * ```
 */
export function requestBodyFraming(head: { readonly version: HttpVersion; readonly headers: HeaderList }): BodyFraming {
  const fields = readFramingFields(head.headers, head.version, "request");
  if (fields.chunked) return { kind: "chunked" };
  if (fields.contentLength !== undefined) return { kind: "length", length: fields.contentLength };
  return { kind: "none" };
}

/**
 * How the body of a response is delimited (RFC 9112 §6.3 rules 1-7), given the method of
 * the request it answers: none for HEAD, 1xx (except 101), 204 and 304; tunnel for 101 and
 * for 2xx to CONNECT; then chunked, a length, or close-delimited.
 *
 * @throws {HttpParseError} 502 as {@link readFramingFields}.
 * @example
 * ```ts
 * responseBodyFraming(parseResponseHead(bytes), "HEAD"); // { kind: "none" }
 * ```
 */
export function responseBodyFraming(
  head: { readonly status: number; readonly version: HttpVersion; readonly headers: HeaderList },
  requestMethod: string,
): BodyFraming {
  const { status } = head;
  if (status === 101) return { kind: "tunnel" };
  if (status < 200 || status === 204 || status === 304 || requestMethod === "HEAD") return { kind: "none" };
  if (requestMethod === "CONNECT" && status < 300) return { kind: "tunnel" };
  const fields = readFramingFields(head.headers, head.version, "response");
  if (fields.transferCodings !== undefined) return fields.chunked ? { kind: "chunked" } : { kind: "close" };
  if (fields.contentLength !== undefined) return { kind: "length", length: fields.contentLength };
  return { kind: "close" };
}
