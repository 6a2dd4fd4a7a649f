/**
 * Host normalisation: the single place where a destination host (from a CONNECT line, a
 * Host header, an SNI or a policy pattern) becomes a comparable {@link Host}.
 *
 * Rules: one trailing dot is stripped, names are lowercased and converted to punycode by
 * IDNA (via the WHATWG URL parser, available in every runtime), IPv4/IPv6 literals
 * (IPv6 with or without brackets) become canonical addresses. Numeric shorthand that a
 * URL parser turns into an IPv4 address (`127.1`, `0x7f.1`, `2130706433`) IS that address,
 * so it can never pass as a name and dodge IP rules.
 *
 * @example
 * ```ts
 * normalizeHost("EXAMPLE.com.");  // { kind: "dns", name: "example.com" }
 * normalizeHost("bücher.de");     // { kind: "dns", name: "xn--bcher-kva.de" }
 * normalizeHost("[::1]");         // { kind: "ipv6", address: "::1" }
 * normalizeHost("127.1");         // { kind: "ipv4", address: "127.0.0.1" }
 * ```
 * @module
 */

import type { Host } from "../policy/types.ts";
import { formatIPv6, parseIPv4, parseIPv6 } from "./ip.ts";

/** Longest input accepted before normalisation (Unicode input can shrink or grow). */
const MAX_INPUT = 1024;
const MAX_NAME = 253;
const MAX_LABEL = 63;
// what addresses are parsed into: only checked or formatted here, never returned
const V4 = new Uint8Array(4);
const V6 = new Uint8Array(16);

function _fail(input: string, why: string): never {
  throw new TypeError(`Invalid host ${JSON.stringify(input)}: ${why}`);
}

/**
 * True when the label of `name` starting at `from` is a number to the WHATWG URL parser
 * (decimal digits, or "0x" and hex digits), which makes the whole host an IPv4 address.
 */
function _isNumber(name: string, from: number): boolean {
  const n = name.length;
  if (from >= n) return false;
  let i = from;
  if (n - from >= 2 && name.charCodeAt(i) === 48 && (name.charCodeAt(i + 1) | 0x20) === 120) {
    for (i += 2; i < n; i++) {
      const c = name.charCodeAt(i) | 0x20;
      if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
    }
    return true;
  }
  for (; i < n; i++) {
    const c = name.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * Check a lowercase ASCII name: labels of 1-63 characters from [a-z0-9-_], at most 253
 * characters in total. Returns a reason, or `undefined` when valid.
 */
function _nameError(name: string): string | undefined {
  if (name.length > MAX_NAME) return `name longer than ${MAX_NAME} characters`;
  let labelStart = 0;
  for (let i = 0; i <= name.length; i++) {
    const c = i === name.length ? 46 : name.charCodeAt(i);
    if (c === 46) {
      const len = i - labelStart;
      if (len === 0) return "empty label";
      if (len > MAX_LABEL) return `label longer than ${MAX_LABEL} characters`;
      labelStart = i + 1;
    } else if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 95)) {
      return `character ${JSON.stringify(name[i])} not allowed in a host name`;
    }
  }
  return undefined;
}

/**
 * Normalise a host given as text.
 *
 * @throws {TypeError} on empty input, whitespace, control characters, percent-encoding,
 * userinfo, ports, paths, empty or over-long labels (>63), over-long names (>253), zone
 * ids, and anything IDNA rejects
 */
export function normalizeHost(input: string): Host {
  if (input.length === 0) _fail(input, "empty");
  if (input.length > MAX_INPUT) _fail(input.slice(0, 64) + "…", `longer than ${MAX_INPUT} characters`);

  // IPv6 literal, bracketed or not
  if (input.charCodeAt(0) === 91) {
    if (input.charCodeAt(input.length - 1) !== 93) _fail(input, "unterminated \"[\" or port after IPv6 literal");
    const bytes = parseIPv6(input.slice(1, -1), V6);
    if (bytes === undefined) _fail(input, "invalid IPv6 address");
    return { kind: "ipv6", address: formatIPv6(bytes) };
  }
  if (input.includes(":")) {
    const bytes = parseIPv6(input, V6);
    if (bytes !== undefined) return { kind: "ipv6", address: formatIPv6(bytes) };
    if (input.includes("%")) _fail(input, "zone ids and percent-encoding are not allowed");
    _fail(input, "ports are not allowed (or invalid IPv6 address)");
  }

  // one pass: character classes and label lengths (of the ASCII form)
  const stripped = input.charCodeAt(input.length - 1) === 46;
  const end = stripped ? input.length - 1 : input.length;
  if (end === 0) _fail(input, "empty label");
  let ascii = true;
  let upper = false;
  let badLabel = false;
  let labelStart = 0;
  let lastLabel = 0;
  for (let i = 0; i <= end; i++) {
    const c = i === end ? 46 : input.charCodeAt(i);
    if (c === 46) {
      const len = i - labelStart;
      if (len === 0 || len > MAX_LABEL) badLabel = true;
      lastLabel = labelStart;
      labelStart = i + 1;
    } else if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 95) {
      // common case
    } else if (c >= 65 && c <= 90) upper = true;
    else if (c >= 128) ascii = false;
    else if (c <= 32 || c === 127) _fail(input, "whitespace and control characters are not allowed");
    else if (c === 37) _fail(input, "percent-encoding is not allowed");
    else if (c === 64) _fail(input, "userinfo is not allowed");
    else if (c === 47 || c === 92 || c === 63 || c === 35) _fail(input, "paths, queries and fragments are not allowed");
    else _fail(input, `character ${JSON.stringify(input[i])} not allowed in a host name`);
  }

  let name = stripped ? input.slice(0, end) : input;
  if (ascii) {
    if (upper) name = name.toLowerCase();
    if (badLabel || end > MAX_NAME) _fail(input, _nameError(name) ?? "invalid name");
    if (!_isNumber(name, lastLabel) && !name.includes("xn--")) return { kind: "dns", name };
    if (parseIPv4(name, V4) !== undefined) return { kind: "ipv4", address: name };
  }
  // IDNA, punycode validation and WHATWG IPv4 shorthand
  if (name.startsWith(".") || name.endsWith(".") || name.includes("..")) _fail(input, "empty label");
  let hostname: string;
  try {
    hostname = new URL(`http://${name}/`).hostname;
  } catch {
    _fail(input, ascii ? "not a valid host name or IPv4 address" : "IDNA conversion failed");
  }
  if (parseIPv4(hostname, V4) !== undefined) {
    // "0177.0.0.1" is 127.0.0.1 to WHATWG and inet_aton but 177.0.0.1 to others: refuse
    const parts = (ascii ? name : name.normalize("NFKC")).split(/[.\u3002\uff0e\uff61]/);
    if (parts.some((p) => /^0\d/.test(p))) _fail(input, "IPv4 components with leading zeros are ambiguous");
    return { kind: "ipv4", address: hostname };
  }
  if (hostname.charCodeAt(0) === 91) {
    // defensive: a Unicode form that maps to an IPv6 literal
    const bytes = parseIPv6(hostname.slice(1, -1), V6);
    if (bytes !== undefined) return { kind: "ipv6", address: formatIPv6(bytes) };
  }
  // IDNA maps Unicode full stops ("。") to ".": strip a trailing one unless one went already
  name = hostname.endsWith(".") && !stripped ? hostname.slice(0, -1) : hostname;
  const why = _nameError(name);
  if (why !== undefined) _fail(input, why);
  return { kind: "dns", name };
}

/**
 * Like {@link normalizeHost} but returns `undefined` instead of throwing.
 */
export function tryNormalizeHost(input: string): Host | undefined {
  try {
    return normalizeHost(input);
  } catch {
    return undefined;
  }
}

/**
 * The name or the address of a host, IPv6 without brackets: as SNI, a minted certificate,
 * a SOCKS request and the flow line's `host` take it.
 */
export function bareHost(host: Host): string {
  return host.kind === "dns" ? host.name : host.address;
}

/**
 * Text of a host as it appears in a URL authority or Host header: the name, the IPv4
 * address, or the IPv6 address in brackets.
 */
export function hostText(host: Host): string {
  switch (host.kind) {
    case "dns":
      return host.name;
    case "ipv4":
      return host.address;
    case "ipv6":
      return `[${host.address}]`;
  }
}

/** True when two hosts are the same normalised host. */
export function hostEquals(a: Host, b: Host): boolean {
  return a.kind === b.kind && hostText(a) === hostText(b);
}

/** True for names and addresses that only reach this machine: "localhost", 127.0.0.0/8, ::1. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}
