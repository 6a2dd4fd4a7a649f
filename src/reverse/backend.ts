/**
 * Backend URLs of reverse-proxy pools: `http://host:port` or `https://host:port`.
 * @module
 */
import { hostText, normalizeHost } from "../core/host.ts";
import { parseHostPort } from "../protocol/http-authority.ts";
import type { Host } from "../policy/types.ts";

/** A parsed backend URL. */
export interface BackendAddress {
  /** The URL as configured. */
  readonly url: string;
  readonly scheme: "http" | "https";
  /** Normalised host: resolved through the gateway's resolver (static hosts first) when a name. */
  readonly host: Host;
  readonly port: number;
  /** `host[:port]` as a `Host` header names it (port left out when it is the scheme's default). */
  readonly authority: string;
}

/**
 * Parse a backend URL. Only a scheme, a host and an optional port are allowed: no
 * userinfo, path (other than `/`), query or fragment.
 *
 * @throws {SyntaxError} `expected an "http://host:port" or "https://host:port" URL, got "…"` (with the reason)
 * @example
 * ```ts
 * parseBackendUrl("https://App.Internal:8443");
 * // { url, scheme: "https", host: { kind: "dns", name: "app.internal" }, port: 8443, authority: "app.internal:8443" }
 * ```
 */
export function parseBackendUrl(text: string): BackendAddress {
  const fail = (why: string): never => {
    throw new SyntaxError(`expected an "http://host:port" or "https://host:port" URL, got ${JSON.stringify(text)} (${why})`);
  };
  const m = /^(https?):\/\/([^/?#]*)(\/?)$/i.exec(text);
  if (!m) {
    if (/^https?:\/\/[^/?#]*[/?#]./i.test(text)) fail("a backend URL has no path, query or fragment");
    return fail("the scheme must be http or https");
  }
  const scheme = (m[1] ?? "").toLowerCase() === "https" ? "https" : "http";
  const rawAuthority = m[2] ?? "";
  if (rawAuthority === "") fail("no host");
  if (rawAuthority.includes("@")) fail("userinfo is not allowed");
  const defaultPort = scheme === "https" ? 443 : 80;
  const authority = parseHostPort(rawAuthority, defaultPort);
  if (!authority) return fail("not host[:port] with a port 1-65535");
  let host: Host;
  try {
    host = normalizeHost(authority.host);
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e));
  }
  const port = authority.port;
  const shown = hostText(host);
  return { url: text, scheme, host, port, authority: port === defaultPort ? shown : `${shown}:${port}` };
}

/** `undefined` when `text` is a valid backend URL, else the reason. */
export function backendUrlError(text: string): string | undefined {
  try {
    parseBackendUrl(text);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}
