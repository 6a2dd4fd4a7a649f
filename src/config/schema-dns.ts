/**
 * Config schema for `dns`: the static hosts map, the resolver's cache and timeout, and the
 * DNS servers asked instead of the system resolver, over UDP, TCP or TLS.
 * @module
 */
import * as v from "valibot";
import { IPV4_STRICT_RE, parseIpLiteral } from "../dns/ip-literal.ts";
import { hostNameError, normaliseName } from "../dns/name.ts";
import { parseDnsServer } from "../dns/server.ts";
import { cidrError } from "../policy/host-pattern.ts";
import { checkedString, expected, filePath, integer, isPlainObject, object, record } from "./schema-kit.ts";

function ipAddressError(text: string): string | undefined {
  const bad = `expected an IP address, got ${JSON.stringify(text)}`;
  if (IPV4_STRICT_RE.test(text)) return undefined;
  if (!text.includes(":") || text.includes("/") || cidrError(text) !== undefined) return bad;
  try {
    return parseIpLiteral(text) === undefined ? bad : undefined;
  } catch {
    return bad;
  }
}

function dnsServerError(text: string): string | undefined {
  try {
    parseDnsServer(text);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

const staticHostsSchema = v.pipe(
  record(
    checkedString("a host name", (name) => (hostNameError(normaliseName(name)) === undefined ? undefined : `expected a host name, got ${JSON.stringify(name)}`)),
    v.pipe(
      v.array(checkedString("an IP address", ipAddressError), expected("an array of IP addresses")),
      v.check((list) => list.length > 0, "expected at least one IP address, got an empty array"),
    ),
    'an object like {"host.example": ["192.0.2.1"]}',
  ),
  v.rawCheck<Record<string, string[]>>(({ dataset, addIssue }) => {
    const hosts: unknown = dataset.value;
    if (!isPlainObject(hosts)) return;
    const seen = new Map<string, string>();
    for (const [name, value] of Object.entries(hosts)) {
      const first = seen.get(normaliseName(name));
      if (first === undefined) seen.set(normaliseName(name), name);
      else {
        addIssue({
          message: `duplicate host ${JSON.stringify(name)}, same as ${JSON.stringify(first)} (names ignore case and a trailing dot)`,
          path: [{ type: "object", origin: "key", input: hosts, key: name, value }],
        });
      }
    }
  }),
);

const dnsObject = object({
  hosts: v.optional(staticHostsSchema, {}),
  cacheSize: v.optional(integer(0, 1_000_000), 10_000),
  ttlSeconds: v.optional(integer(0, 86_400), 30),
  negativeTtlSeconds: v.optional(integer(0, 3_600), 5),
  timeoutMs: v.optional(integer(1, 60_000), 5_000),
  /** DNS servers asked instead of the system resolver, in order. */
  servers: v.optional(
    v.pipe(
      v.array(checkedString("a DNS server", dnsServerError), expected('an array of DNS servers like ["10.0.0.53", "[2001:db8::53]:5353"]')),
      v.maxLength(8, "expected at most 8 DNS servers"),
    ),
    [],
  ),
  /** How `servers` are asked: "udp" (TCP when an answer is truncated), "tcp" only, or "tls" only (DNS over TLS, port 853). */
  transport: v.optional(v.picklist(["udp", "tcp", "tls"], expected('"udp", "tcp" or "tls"')), "udp"),
  /** tls: CA certificates trusted for the servers, besides the system roots. */
  caFile: v.optional(filePath),
});

/** `#name` and `caFile` are for DNS over TLS. */
export const dnsSchema = v.pipe(
  dnsObject,
  v.check((d) => d.transport === "tls" || !d.servers.some((s) => s.includes("#")), 'a server\'s "#name" is for "transport": "tls"'),
  v.check((d) => d.transport === "tls" || d.caFile === undefined, '"caFile" is for "transport": "tls"'),
  v.check((d) => d.transport !== "tls" || d.servers.length > 0, '"transport": "tls" needs "servers" (the system resolver does not speak TLS)'),
);
