/**
 * Host patterns of policy rules, and the validators the config schema uses.
 *
 * | pattern          | matches                                                        |
 * |------------------|----------------------------------------------------------------|
 * | `example.com`    | exactly that name                                              |
 * | `*.example.com`  | strict subdomains at a label boundary (not example.com itself) |
 * | `.example.com`   | example.com and all its subdomains                             |
 * | `*`              | any host, names and IPs                                        |
 * | `192.0.2.1`, `[::1]`, `10.0.0.0/8` | IP destinations only (an IPv4-mapped, NAT64… form counts as its IPv4) |
 *
 * Patterns are normalised like hosts (case, one trailing dot, IDNA, `127.1` is an IP).
 *
 * @example
 * ```ts
 * const p = parseHostPattern("*.Example.COM.");   // { kind: "subdomains", suffix: "example.com" }
 * hostPatternMatches(p, normalizeHost("a.example.com")); // true
 * hostPatternError("exa mple.com"); // 'expected a host name, ... got "exa mple.com" (...)'
 * ```
 * @module
 */

import { normalizeHost } from "../core/host.ts";
import { type Cidr, cidrContains, formatCidr, formatIp, isIPv4Mapped, parseCidr, parseIp } from "../core/ip.ts";
import { translatedIPv4 } from "../core/translated-ipv4.ts";
import type { Host } from "./types.ts";

export { portSpecError } from "./ports.ts";
export { regexError } from "./host-regex.ts";

/** A parsed host pattern. Names are normalised; `ip` holds a canonical address key. */
export type HostPattern =
  | { readonly kind: "any" }
  | { readonly kind: "exact"; readonly name: string }
  | { readonly kind: "subdomains"; readonly suffix: string }
  | { readonly kind: "domain"; readonly suffix: string }
  | { readonly kind: "ip"; readonly key: string }
  | { readonly kind: "cidr"; readonly cidr: Cidr };

const EXPECTED = `expected a host name, "*.suffix", ".suffix", an IP address or a CIDR`;

function _fail(pattern: string, detail?: string): never {
  const got = JSON.stringify(pattern) ?? String(pattern);
  throw new TypeError(`${EXPECTED}, got ${got}${detail === undefined ? "" : ` (${detail})`}`);
}

function _detail(e: unknown): string {
  const m = (e as Error).message;
  const i = m.indexOf(": ");
  return i >= 0 ? m.slice(i + 2) : m;
}

/**
 * Canonical lookup key of an IP address: IPv4 text for IPv4 and IPv4-mapped IPv6,
 * RFC 5952 text otherwise.
 */
export function ipKey(bytes: Uint8Array): string {
  return isIPv4Mapped(bytes) ? formatIp(bytes.subarray(12)) : formatIp(bytes);
}

function _suffix(pattern: string, rest: string): string {
  if (rest.length === 0 || rest.startsWith(".") || rest.includes("*")) _fail(pattern);
  let host: Host;
  try {
    host = normalizeHost(rest);
  } catch (e) {
    _fail(pattern, _detail(e));
  }
  if (host.kind !== "dns") _fail(pattern, "a wildcard suffix must be a DNS name");
  return host.name;
}

/**
 * Parse and normalise a host pattern.
 *
 * @throws {TypeError} with a message naming the pattern when it is not valid
 */
export function parseHostPattern(pattern: string): HostPattern {
  if (typeof pattern !== "string" || pattern.length === 0) _fail(pattern);
  if (pattern === "*") return { kind: "any" };
  if (pattern.startsWith("*.")) return { kind: "subdomains", suffix: _suffix(pattern, pattern.slice(2)) };
  if (pattern.startsWith(".")) return { kind: "domain", suffix: _suffix(pattern, pattern.slice(1)) };
  if (pattern.includes("*")) _fail(pattern, `"*" is only allowed as "*" or a leading "*."`);
  if (pattern.includes("/")) {
    try {
      return { kind: "cidr", cidr: parseCidr(pattern) };
    } catch (e) {
      _fail(pattern, (e as Error).message);
    }
  }
  let host: Host;
  try {
    host = normalizeHost(pattern);
  } catch (e) {
    _fail(pattern, _detail(e));
  }
  if (host.kind === "dns") return { kind: "exact", name: host.name };
  const bytes = parseIp(host.address);
  if (bytes === undefined) _fail(pattern);
  return { kind: "ip", key: ipKey(bytes) };
}

/** Canonical text of a parsed pattern, as shown in decision reasons. */
export function hostPatternText(p: HostPattern): string {
  switch (p.kind) {
    case "any":
      return "*";
    case "exact":
      return p.name;
    case "subdomains":
      return `*.${p.suffix}`;
    case "domain":
      return `.${p.suffix}`;
    case "ip":
      return p.key;
    case "cidr":
      return formatCidr(p.cidr);
  }
}

/**
 * Reference matcher (linear, used by `explain` and tests; the compiled policy uses an
 * index). `ip` may pass the already parsed address of an IP host. An IP or CIDR pattern
 * matches an IPv6 host that designates an IPv4 address in it (NAT64, IPv4-translated, …:
 * see `translatedIPv4`) as well as the IPv6 address itself.
 */
export function hostPatternMatches(p: HostPattern, host: Host, ip?: Uint8Array): boolean {
  if (p.kind === "any") return true;
  if (host.kind === "dns") {
    const name = host.name;
    switch (p.kind) {
      case "exact":
        return name === p.name;
      case "subdomains":
        return name.length > p.suffix.length && name.endsWith(p.suffix) &&
          name.charCodeAt(name.length - p.suffix.length - 1) === 46;
      case "domain":
        return name === p.suffix || (name.endsWith(p.suffix) && name.charCodeAt(name.length - p.suffix.length - 1) === 46);
      default:
        return false;
    }
  }
  if (p.kind !== "ip" && p.kind !== "cidr") return false;
  const bytes = ip ?? parseIp(host.address);
  if (bytes === undefined) return false;
  if (_ipMatches(p, bytes)) return true;
  // an IPv6 form of an IPv4 address (NAT64, translated, …) is that address too
  const v4 = bytes.length === 16 && !isIPv4Mapped(bytes) ? translatedIPv4(bytes) : undefined;
  return v4 !== undefined && _ipMatches(p, v4);
}

function _ipMatches(p: HostPattern, bytes: Uint8Array): boolean {
  if (p.kind === "ip") return ipKey(bytes) === p.key;
  if (p.kind === "cidr") return cidrContains(p.cidr, bytes);
  return false;
}

/** `undefined` when `pattern` is a valid host pattern, else the reason. */
export function hostPatternError(pattern: string): string | undefined {
  try {
    parseHostPattern(pattern);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * Parse a client condition: an IPv4/IPv6 address or CIDR (a bare address is a /32 or /128).
 *
 * @throws {TypeError} when `spec` is not valid
 */
export function parseClientCidr(spec: string): Cidr {
  if (typeof spec !== "string") throw new TypeError(`expected an IP address or CIDR, got ${String(spec)}`);
  try {
    return parseCidr(spec);
  } catch (e) {
    throw new TypeError(`expected an IP address or CIDR, got ${JSON.stringify(spec)} (${(e as Error).message})`);
  }
}

/** `undefined` when `spec` is an IPv4/IPv6 address or a CIDR with a prefix in range, else the reason. */
export function cidrError(spec: string): string | undefined {
  try {
    parseClientCidr(spec);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
