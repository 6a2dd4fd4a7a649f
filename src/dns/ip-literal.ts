/** Recognise IP literals among host names, the way URL parsing (and so browsers) does. */

/** Strict dotted-quad IPv4 (no leading zeros, no shorthand). */
export const IPV4_STRICT_RE = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** A recognised IP literal in canonical form (IPv6 without brackets). */
export interface IpLiteral {
  readonly kind: "ipv4" | "ipv6";
  readonly address: string;
}

/**
 * Classify `text` as an IP literal. Returns `undefined` for a DNS name, the canonical
 * address for an IP literal (WHATWG URL rules: "127.1" and "0x7f.0.0.1" are IPv4
 * "127.0.0.1", "[::1]" and "0:0::1" are IPv6 "::1"), and throws a `RangeError` for text
 * that is an IP literal by those rules but invalid ("1.2.3.999", "::g").
 *
 * @example
 * ```ts
 * parseIpLiteral("127.1"); // { kind: "ipv4", address: "127.0.0.1" }
 * parseIpLiteral("example.com"); // undefined
 * ```
 */
export function parseIpLiteral(text: string): IpLiteral | undefined {
  if (IPV4_STRICT_RE.test(text)) return { kind: "ipv4", address: text };
  if (text.includes(":")) {
    const inner = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
    const host = urlHost(`[${inner}]`, text, "IPv6");
    return { kind: "ipv6", address: host.slice(1, -1) };
  }
  const trimmed = text.endsWith(".") ? text.slice(0, -1) : text;
  const last = trimmed.slice(trimmed.lastIndexOf(".") + 1);
  // WHATWG "ends in a number": the host is parsed as IPv4 or rejected.
  if (/^(?:\d+|0x[0-9a-f]*)$/i.test(last)) return { kind: "ipv4", address: urlHost(text, text, "IPv4") };
  return undefined;
}

function urlHost(host: string, original: string, kind: string): string {
  try {
    return new URL(`http://${host}/`).hostname;
  } catch {
    throw new RangeError(`Invalid ${kind} address ${JSON.stringify(original)}`);
  }
}
