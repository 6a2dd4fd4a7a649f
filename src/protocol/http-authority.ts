/** A host and port as written in a request target or Host header. */
export interface Authority {
  /** Host as written (case kept); IPv6 literals without brackets. */
  readonly host: string;
  readonly port: number;
}

/** Longest host accepted (a DNS name is at most 253 characters). */
export const MAX_HOST_LENGTH = 255;

const REG_NAME = /^[A-Za-z0-9._-]+$/;
const IPV6 = /^[0-9A-Fa-f:.]+$/;
const PORT = /^[0-9]{1,5}$/;

/**
 * Parse `host [ ":" port ]` (RFC 9110 §7.2, RFC 3986 §3.2.2) strictly: a registered name of
 * letters, digits, ".", "-", "_", or an IPv6 literal in brackets (no zone id), and a decimal
 * port 1-65535. Userinfo, percent-encoding and other characters are refused.
 *
 * @param defaultPort used when the port is absent; when omitted the port is required.
 * @returns the authority, or `undefined` when `text` is not acceptable.
 * @example
 * ```ts
 * parseHostPort("[::1]:443");           // { host: "::1", port: 443 }
 * parseHostPort("example.com", 80);     // { host: "example.com", port: 80 }
 * parseHostPort("example.com");         // undefined (port required)
 * ```
 */
export function parseHostPort(text: string, defaultPort?: number): Authority | undefined {
  let host: string;
  let rest: string;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close === -1) return undefined;
    host = text.slice(1, close);
    rest = text.slice(close + 1);
    if (!IPV6.test(host) || !host.includes(":") || !isIpv6(host)) return undefined;
  } else {
    const colon = text.indexOf(":");
    host = colon === -1 ? text : text.slice(0, colon);
    rest = colon === -1 ? "" : text.slice(colon);
    if (!REG_NAME.test(host)) return undefined;
  }
  if (host.length > MAX_HOST_LENGTH) return undefined;
  let port: number;
  if (rest === "") {
    if (defaultPort === undefined) return undefined;
    port = defaultPort;
  } else {
    if (!rest.startsWith(":")) return undefined;
    const digits = rest.slice(1);
    if (!PORT.test(digits)) return undefined;
    port = Number(digits);
    if (port < 1 || port > 65535) return undefined;
  }
  return { host, port };
}

function isIpv6(text: string): boolean {
  try {
    new URL(`http://[${text}]/`);
    return true;
  } catch {
    return false;
  }
}
