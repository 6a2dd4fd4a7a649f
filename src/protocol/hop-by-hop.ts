/** Hop-by-hop header handling and connection persistence (RFC 9110 §7.6.1, RFC 9112 §9.3). */
import { isToken, splitList } from "./http-head.ts";
import type { HeaderList } from "./http-headers.ts";

/** Fields that never cross a proxy (lowercase). */
export const HOP_BY_HOP_FIELDS: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "proxy-authorization",
  "proxy-authenticate",
]);

/**
 * Fields a Connection header may not remove: dropping them would change how the next hop
 * frames or routes the message (e.g. `Connection: content-length` to desynchronise it).
 */
const PROTECTED_FIELDS: ReadonlySet<string> = new Set(["host", "content-length"]);

/**
 * The connection options named in all Connection fields: lowercase tokens; empty and
 * non-token elements are ignored.
 *
 * @example
 * ```ts
 * connectionOptions(new HeaderList([["Connection", "Keep-Alive, X-Foo"]])); // Set {"keep-alive", "x-foo"}
 * ```
 */
export function connectionOptions(headers: HeaderList): Set<string> {
  const out = new Set<string>();
  for (const value of headers.getAll("connection")) {
    for (const element of splitList(value)) if (isToken(element)) out.add(element.toLowerCase());
  }
  return out;
}

/**
 * A new list without the hop-by-hop fields (Connection, Keep-Alive, Proxy-Connection, TE,
 * Trailer, Transfer-Encoding, Upgrade, Proxy-Authorization, Proxy-Authenticate) and the
 * fields named in Connection, except Host and Content-Length which are always kept.
 *
 * Strip before adding the proxy's own fields (Via, Forwarded, ...), and re-add framing
 * (Transfer-Encoding: chunked) for the next hop as needed.
 *
 * @example
 * ```ts
 * stripHopByHop(new HeaderList([["Connection", "x-a"], ["X-A", "1"], ["Accept", "*\/*"]]));
 * // [["Accept", "*\/*"]]
 * ```
 */
export function stripHopByHop(headers: HeaderList): HeaderList {
  const named = connectionOptions(headers);
  return headers.filter(([name]) => {
    const key = name.toLowerCase();
    if (HOP_BY_HOP_FIELDS.has(key)) return false;
    return PROTECTED_FIELDS.has(key) || !named.has(key);
  });
}

/**
 * Whether the connection stays open after this message (RFC 9112 §9.3): HTTP/1.1 unless
 * `Connection: close`; HTTP/1.0 only with `Connection: keep-alive` (and no close).
 * Unknown versions are not persistent.
 *
 * @example
 * ```ts
 * keepAlive("HTTP/1.0", new HeaderList([["Connection", "keep-alive"]])); // true
 * ```
 */
export function keepAlive(version: string, headers: HeaderList): boolean {
  const options = connectionOptions(headers);
  if (options.has("close")) return false;
  if (version === "HTTP/1.1") return true;
  if (version === "HTTP/1.0") return options.has("keep-alive");
  return false;
}
