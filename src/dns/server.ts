/**
 * A configured DNS server: an IP address and port, parsed from the config's text.
 *
 * @module
 */
import { IPV4_STRICT_RE, parseIpLiteral } from "./ip-literal.ts";

/** A DNS server: an IP address and port. */
export interface DnsServer {
  readonly address: string;
  readonly port: number;
}

/**
 * Parses a DNS server: an IP address (port 53), `ip:port` or `[ipv6]:port`.
 *
 * @example
 * ```ts
 * parseDnsServer("10.0.0.53"); // { address: "10.0.0.53", port: 53 }
 * parseDnsServer("[::1]:5353"); // { address: "::1", port: 5353 }
 * ```
 * @throws {TypeError} naming the text when it is not one of these
 */
export function parseDnsServer(text: string): DnsServer {
  const bad = () => new TypeError(`expected an IP address, "ip:port" or "[ipv6]:port", got ${JSON.stringify(text)}`);
  const ip = (t: string) => {
    try {
      return IPV4_STRICT_RE.test(t) || t.includes(":") ? parseIpLiteral(t)?.address : undefined;
    } catch {
      return undefined;
    }
  };
  const bare = ip(text);
  if (bare !== undefined) return { address: bare, port: 53 };
  const m = /^(?:\[([^\]]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(text);
  const address = m && (m[1] === undefined || m[1].includes(":")) ? ip(m[1] ?? m[2]!) : undefined;
  const port = m ? Number(m[3]) : 0;
  if (address === undefined || port < 1 || port > 65_535) throw bad();
  return { address, port };
}
