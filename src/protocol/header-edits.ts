/**
 * Configured header changes (a reverse route's request and response fields, a url rule's
 * request fields on decrypted connections), and the validators the config uses.
 * @module
 */
import type { HeaderList } from "./http-headers.ts";

/** Header changes applied in order: `remove`, then `set` (replace), then `add` (append). */
export interface HeaderEditsConfig {
  readonly remove: readonly string[];
  readonly set: readonly (readonly [string, string])[];
  readonly add: readonly (readonly [string, string])[];
}

/** A field-name token (RFC 9110 §5.1). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/;

/**
 * Fields a route may not touch: framing and connection management are the framer's, and
 * `Host` has its own setting (`hostHeader`).
 */
const RESERVED = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "proxy-connection",
  "upgrade",
  "te",
  "trailer",
]);

/** `undefined` when `name` may be edited by a route, else the reason. */
export function editableHeaderError(name: string): string | undefined {
  if (typeof name !== "string" || !TOKEN.test(name)) return `expected a header name (an HTTP token), got ${JSON.stringify(name)}`;
  if (RESERVED.has(name.toLowerCase())) {
    return `expected a header other than ${JSON.stringify(name)} (framing, connection and Host fields cannot be edited; see "hostHeader")`;
  }
  return undefined;
}

/** `undefined` when `value` is a valid field value (visible ASCII, spaces and tabs inside), else the reason. */
export function headerValueError(value: string): string | undefined {
  if (typeof value !== "string" || !/^(?:[\x21-\x7e](?:[\x20\x21-\x7e\t]*[\x21-\x7e])?)?$/.test(value) || value.length > 8192) {
    return `expected a header value of visible ASCII characters (no line breaks), got ${JSON.stringify(value)}`;
  }
  return undefined;
}

/** No changes. */
export const NO_EDITS: HeaderEditsConfig = Object.freeze({ remove: [], set: [], add: [] });

/** True when `edits` changes nothing. */
export function isNoop(edits: HeaderEditsConfig): boolean {
  return edits.remove.length === 0 && edits.set.length === 0 && edits.add.length === 0;
}

/** The field names `edits` removes, sets or adds (lower case): a client's own must not reach the peer in trailers either. */
export function editedNames(edits: HeaderEditsConfig): string[] {
  return [...edits.remove, ...edits.set.map(([n]) => n), ...edits.add.map(([n]) => n)].map((n) => n.toLowerCase());
}

/**
 * Applies `edits` to `headers`: every `remove` name is deleted, each `set` replaces all lines
 * of its name with one, each `add` appends a line.
 *
 * @example
 * ```ts
 * applyHeaderEdits(h, { remove: ["X-Debug"], set: [["X-Env", "prod"]], add: [["Cache-Control", "no-store"]] });
 * ```
 */
export function applyHeaderEdits(headers: HeaderList, edits: HeaderEditsConfig): HeaderList {
  let h = edits.remove.length > 0 ? headers.delete(...edits.remove) : headers;
  for (const [name, value] of edits.set) h = h.set(name, value);
  for (const [name, value] of edits.add) h = h.append(name, value);
  return h;
}
