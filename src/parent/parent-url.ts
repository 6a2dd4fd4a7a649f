/**
 * Parent proxy addresses: `http://host:port` or `socks5://host:port`, the forms the config's
 * `parents.<name>.url` takes.
 * @module
 */
import { hostText, normalizeHost } from "../core/host.ts";
import { parseHostPort } from "../protocol/http-authority.ts";
import type { Host } from "../policy/types.ts";

/** How the gateway talks to a parent: HTTP `CONNECT` (and absolute-form requests), or SOCKS5. */
export type ParentProtocol = "http" | "socks5";

/** A parsed parent proxy URL. */
export interface ParentAddress {
  readonly protocol: ParentProtocol;
  /** Normalised host: resolved through the gateway's resolver (static hosts first) when a name. */
  readonly host: Host;
  readonly port: number;
  /** `host:port` as messages name it (IPv6 in brackets). */
  readonly authority: string;
}

/**
 * Parses a parent proxy URL: scheme `http`, `socks5` or `socks5h` (the same: the gateway
 * always sends the destination's name), a host and a port, nothing else. The port is
 * required (proxies listen on 3128, 8080, 1080…: no default is right). Credentials go in
 * `username` / `passwordFile`, never in the URL, so the URL can be shown and logged.
 *
 * @throws {SyntaxError} `expected an "http://host:port" or "socks5://host:port" URL, got "…" (why)`
 * @example
 * ```ts
 * parseParentUrl("http://Proxy.Corp.Example:3128"); // { protocol: "http", host: { kind: "dns", name: "proxy.corp.example" }, port: 3128, authority: "proxy.corp.example:3128" }
 * parseParentUrl("socks5://10.0.0.5:1080"); // { protocol: "socks5", host: { kind: "ipv4", address: "10.0.0.5" }, port: 1080, authority: "10.0.0.5:1080" }
 * ```
 */
export function parseParentUrl(text: string): ParentAddress {
  const fail = (why: string): never => {
    throw new SyntaxError(`expected an "http://host:port" or "socks5://host:port" URL, got ${JSON.stringify(text)} (${why})`);
  };
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)(\/?)$/i.exec(text);
  if (!m) return fail(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*[/?#]./i.test(text) ? "no path, query or fragment" : "not a URL");
  const scheme = (m[1] ?? "").toLowerCase();
  const protocol: ParentProtocol | undefined = scheme === "http" ? "http" : scheme === "socks5" || scheme === "socks5h" ? "socks5" : undefined;
  if (!protocol) {
    return fail(scheme === "https" ? "TLS to the parent proxy is not supported; use http" : scheme === "socks4" || scheme === "socks4a" ? "SOCKS4 is not supported; use socks5" : `scheme "${scheme}" is not http or socks5`);
  }
  const raw = m[2] ?? "";
  if (raw === "") fail("no host");
  if (raw.includes("@")) fail('no credentials in the URL: use "username" and "passwordFile"');
  const authority = parseHostPort(raw);
  if (!authority) return fail("host:port with a port 1-65535 is required");
  let host: Host;
  try {
    host = normalizeHost(authority.host);
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e));
  }
  return { protocol, host, port: authority.port, authority: `${hostText(host)}:${authority.port}` };
}

/** `undefined` when `text` is a valid parent URL, else the reason. */
export function parentUrlError(text: string): string | undefined {
  try {
    parseParentUrl(text);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
