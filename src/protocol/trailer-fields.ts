/**
 * Fields that may not travel in a trailer section (RFC 9110 §6.5.1): those needed to frame
 * or route the message, to authenticate it, or to read its content, which are all settled
 * before the content is. The gateway drops them from the trailers it passes on, because
 * servers that merge trailers into the header section (Apache's `MergeTrailers`, some
 * frameworks) would otherwise take a client's late `Host`, `Authorization` or
 * `Content-Length` for the request's own, after every check on the head was made.
 * @module
 */
import type { HeaderList } from "./http-headers.ts";

/** The field names dropped from trailers (lower case). */
export const FORBIDDEN_TRAILER_FIELDS: readonly string[] = Object.freeze([
  // framing and connection
  "transfer-encoding",
  "content-length",
  "trailer",
  "te",
  "connection",
  "keep-alive",
  "upgrade",
  "proxy-connection",
  // routing and request modifiers
  "host",
  "expect",
  "max-forwards",
  "range",
  "if-match",
  "if-none-match",
  "if-modified-since",
  "if-unmodified-since",
  "if-range",
  "cache-control",
  "pragma",
  // authentication and state
  "authorization",
  "proxy-authorization",
  "proxy-authenticate",
  "www-authenticate",
  "cookie",
  "set-cookie",
  // how the content is read
  "content-encoding",
  "content-type",
  "content-range",
  "content-location",
  "location",
]);

/** `trailers` without the fields {@link FORBIDDEN_TRAILER_FIELDS} names. */
export function allowedTrailers(trailers: HeaderList): HeaderList {
  return trailers.delete(...FORBIDDEN_TRAILER_FIELDS);
}
