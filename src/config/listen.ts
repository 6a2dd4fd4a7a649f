import { IPV4_STRICT_RE, parseIpLiteral } from "../dns/ip-literal.ts";
import { hostNameError } from "../dns/name.ts";
import { normalizeHost } from "../core/host.ts";

/** A parsed listen address. `hostname` is an IP address (IPv6 without brackets) or a host name. */
export interface ListenAddress {
  readonly hostname: string;
  readonly port: number;
}

/**
 * Parse "host:port" or "[ipv6]:port" (port 0 = any free port). Throws a `SyntaxError`
 * whose message reads like `expected "host:port" …, got "…"`.
 *
 * @example
 * ```ts
 * parseListenAddress("127.0.0.1:3128"); // { hostname: "127.0.0.1", port: 3128 }
 * parseListenAddress("[::1]:3128"); // { hostname: "::1", port: 3128 }
 * ```
 */
export function parseListenAddress(text: string): ListenAddress {
  const got = JSON.stringify(text);
  const bad = (): never => {
    throw new SyntaxError(`expected "host:port" (IPv6 as "[::1]:port"), got ${got}`);
  };
  let hostname: string;
  let portText: string;
  if (text.startsWith("[")) {
    const end = text.indexOf("]");
    if (end < 0 || text[end + 1] !== ":") return bad();
    const literal = ipv6(text.slice(1, end));
    if (literal === undefined) return bad();
    hostname = literal;
    portText = text.slice(end + 2);
  } else {
    const colon = text.lastIndexOf(":");
    if (colon < 0) return bad();
    hostname = text.slice(0, colon).toLowerCase();
    portText = text.slice(colon + 1);
    if (hostname.includes(":")) {
      throw new SyntaxError(`expected an IPv6 address in brackets ("[::1]:port"), got ${got}`);
    }
    const looksNumeric = /^[\d.]+$/.test(hostname);
    if (looksNumeric ? !IPV4_STRICT_RE.test(hostname) : hostNameError(hostname) !== undefined) return bad();
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw new SyntaxError(`expected a port 0-65535 after the host, got ${got}`);
  }
  return { hostname, port: Number(portText) };
}

/**
 * Validate a listen address; `undefined` when valid, else the message.
 *
 * @example
 * ```ts
 * listenAddressError("localhost"); // 'expected "host:port" (IPv6 as "[::1]:port"), got "localhost"'
 * ```
 */
export function listenAddressError(text: string): string | undefined {
  try {
    parseListenAddress(text);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/**
 * Parse an upstream address "host:port" or "[ipv6]:port" (port 1-65535). Throws a
 * `SyntaxError` whose message reads like `expected "host:port" …, got "…"`.
 *
 * @example
 * ```ts
 * parseUpstreamAddress("Origin.Example:443"); // { hostname: "origin.example", port: 443 }
 * ```
 */
export function parseUpstreamAddress(text: string): ListenAddress {
  const portError = () => new SyntaxError(`expected a port 1-65535 after the host, got ${JSON.stringify(text)}`);
  let address: ListenAddress;
  try {
    address = parseListenAddress(text);
  } catch (error) {
    if (error instanceof SyntaxError && error.message.startsWith("expected a port")) throw portError();
    throw error;
  }
  if (address.port === 0) throw portError();
  // the gateway dials it as a flow's host: what normalizeHost refuses (an all-numeric last
  // label, "0x7f", a malformed "xn--" label) would fail every flow sent there
  try {
    normalizeHost(address.hostname);
  } catch (error) {
    throw new SyntaxError(`expected "host:port" with a host the gateway can dial, got ${JSON.stringify(text)} (${error instanceof Error ? error.message : String(error)})`);
  }
  return address;
}

/**
 * Validate an upstream address; `undefined` when valid, else the message.
 *
 * @example
 * ```ts
 * upstreamAddressError("origin.example:0"); // 'expected a port 1-65535 after the host, got "origin.example:0"'
 * ```
 */
export function upstreamAddressError(text: string): string | undefined {
  try {
    parseUpstreamAddress(text);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

function ipv6(text: string): string | undefined {
  if (!text.includes(":")) return undefined;
  try {
    return parseIpLiteral(text)?.address;
  } catch {
    return undefined;
  }
}
