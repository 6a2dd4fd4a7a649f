/**
 * A configured DNS server: an IP address and port, and for DNS over TLS the name its
 * certificate must carry, parsed from the config's text.
 *
 * @module
 */
import { hostNameError, normaliseName } from "./name.ts";
import { IPV4_STRICT_RE, parseIpLiteral } from "./ip-literal.ts";

/** A DNS server: an IP address and port. */
export interface DnsServer {
  readonly address: string;
  readonly port: number;
  /** DNS over TLS: the name its certificate is checked against (and SNI); absent, its address. */
  readonly tlsName?: string;
}

/**
 * Parses a DNS server: an IP address (port `defaultPort`), `ip:port` or `[ipv6]:port`; for
 * DNS over TLS followed by `#name`, the name its certificate must carry (systemd-resolved's
 * and unbound's spelling).
 *
 * @example
 * ```ts
 * parseDnsServer("10.0.0.53"); // { address: "10.0.0.53", port: 53 }
 * parseDnsServer("[::1]:5353"); // { address: "::1", port: 5353 }
 * parseDnsServer("9.9.9.9#dns.quad9.net", 853); // { address: "9.9.9.9", port: 853, tlsName: "dns.quad9.net" }
 * ```
 * @throws {TypeError} naming the text when it is not one of these
 */
export function parseDnsServer(text: string, defaultPort = 53): DnsServer {
  const hash = text.indexOf("#");
  if (hash >= 0) {
    const name = normaliseName(text.slice(hash + 1));
    if (hostNameError(name) !== undefined) {
      throw new TypeError(`expected a host name after "#" (the name on the server's certificate), got ${JSON.stringify(text.slice(hash + 1))}`);
    }
    return { ...parseDnsServer(text.slice(0, hash), defaultPort), tlsName: name };
  }
  const bad = () => new TypeError(`expected an IP address, "ip:port" or "[ipv6]:port", got ${JSON.stringify(text)}`);
  const ip = (t: string) => {
    try {
      return IPV4_STRICT_RE.test(t) || t.includes(":") ? parseIpLiteral(t)?.address : undefined;
    } catch {
      return undefined;
    }
  };
  const bare = ip(text);
  if (bare !== undefined) return { address: bare, port: defaultPort };
  const m = /^(?:\[([^\]]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(text);
  const address = m && (m[1] === undefined || m[1].includes(":")) ? ip(m[1] ?? m[2]!) : undefined;
  const port = m ? Number(m[3]) : 0;
  if (address === undefined || port < 1 || port > 65_535) throw bad();
  return { address, port };
}
