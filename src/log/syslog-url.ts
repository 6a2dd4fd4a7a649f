/**
 * Syslog collector addresses: `udp://host:port`, `tcp://host:port` or `tls://host:port`, the
 * forms the config's `log.syslog.url` takes.
 * @module
 */
import { hostText, normalizeHost } from "../core/host.ts";
import { parseHostPort } from "../protocol/http-authority.ts";
import type { Host } from "../policy/types.ts";

/** UDP (RFC 5426), TCP (RFC 6587) or TLS (RFC 5425). */
export type SyslogTransport = "udp" | "tcp" | "tls";

/** The port each transport is registered for, used when the URL names none. */
export const SYSLOG_DEFAULT_PORTS: Readonly<Record<SyslogTransport, number>> = { udp: 514, tcp: 514, tls: 6514 };

/** A parsed collector URL. */
export interface SyslogAddress {
  readonly transport: SyslogTransport;
  /** Normalised host: resolved through the gateway's resolver (static hosts first) when a name. */
  readonly host: Host;
  readonly port: number;
  /** `host:port` as messages name it (IPv6 in brackets). */
  readonly authority: string;
}

/**
 * Parses a collector URL: scheme `udp`, `tcp` or `tls`, a host, and a port (default 514,
 * or 6514 for TLS), nothing else.
 *
 * @throws {SyntaxError} `expected a "udp://", "tcp://" or "tls://host:port" URL, got "…" (why)`
 * @example
 * ```ts
 * parseSyslogUrl("tls://SIEM.corp.example"); // { transport: "tls", host: { kind: "dns", name: "siem.corp.example" }, port: 6514, authority: "siem.corp.example:6514" }
 * ```
 */
export function parseSyslogUrl(text: string): SyslogAddress {
  const fail = (why: string): never => {
    throw new SyntaxError(`expected a "udp://", "tcp://" or "tls://host:port" URL, got ${JSON.stringify(text)} (${why})`);
  };
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)(\/?)$/i.exec(text);
  if (!m) return fail(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*[/?#]./i.test(text) ? "no path, query or fragment" : "not a URL");
  const scheme = (m[1] ?? "").toLowerCase();
  if (scheme !== "udp" && scheme !== "tcp" && scheme !== "tls") return fail(`scheme "${scheme}" is not udp, tcp or tls`);
  const raw = m[2] ?? "";
  if (raw === "") fail("no host");
  if (raw.includes("@")) fail("no credentials in the URL");
  const authority = parseHostPort(raw, SYSLOG_DEFAULT_PORTS[scheme]);
  if (!authority) return fail("a host, and a port 1-65535 if any");
  let host: Host;
  try {
    host = normalizeHost(authority.host);
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e));
  }
  return { transport: scheme, host, port: authority.port, authority: `${hostText(host)}:${authority.port}` };
}

/** `undefined` when `text` is a valid collector URL, else the reason. */
export function syslogUrlError(text: string): string | undefined {
  try {
    parseSyslogUrl(text);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
