/**
 * The proxy auto-config (PAC) file served at `GET /proxy.pac`: hosts in the bypass list
 * (policy host syntax), plain host names and loopback/private IP literals go `DIRECT`,
 * everything else through the explicit proxy. No DNS lookups: names are compared as text,
 * `isInNet` runs only on IPv4 literals.
 *
 * @module
 */
import { formatIp } from "../core/ip.ts";
import { parseHostPattern } from "../policy/host-pattern.ts";
import type { PacData } from "./state.ts";

/** `Content-Type` of a PAC file. */
export const PAC_CONTENT_TYPE = "application/x-ns-proxy-autoconfig";

/** The bypass list sorted by how the PAC script tests it. */
interface Bypass {
  any: boolean;
  exact: string[];
  /** "*.x": strict subdomains of x. */
  subdomains: string[];
  /** ".x": x and its subdomains. */
  domains: string[];
  /** IP addresses (IPv4 dotted, IPv6 canonical lowercase). */
  ips: string[];
  /** IPv4 networks as [address, mask]. */
  nets4: [string, string][];
  /** Patterns that cannot be expressed (IPv6 networks, invalid entries): they go through the proxy. */
  skipped: string[];
}

function maskText(prefix: number): string {
  const octets: number[] = [];
  for (let i = 0; i < 4; i++) {
    const bits = Math.max(0, Math.min(8, prefix - i * 8));
    octets.push(bits === 0 ? 0 : (0xff << (8 - bits)) & 0xff);
  }
  return octets.join(".");
}

function sortBypass(patterns: readonly string[]): Bypass {
  const b: Bypass = { any: false, exact: [], subdomains: [], domains: [], ips: [], nets4: [], skipped: [] };
  for (const text of patterns) {
    let p;
    try {
      p = parseHostPattern(text);
    } catch {
      b.skipped.push(text);
      continue;
    }
    switch (p.kind) {
      case "any":
        b.any = true;
        break;
      case "exact":
        b.exact.push(p.name);
        break;
      case "subdomains":
        b.subdomains.push("." + p.suffix);
        break;
      case "domain":
        b.domains.push(p.suffix);
        break;
      case "ip":
        b.ips.push(p.key);
        break;
      case "cidr":
        if (p.cidr.family === 4) b.nets4.push([formatIp(p.cidr.bytes), maskText(p.cidr.prefix)]);
        else b.skipped.push(text);
        break;
    }
  }
  return b;
}

/** A JS string/array literal (JSON is valid JavaScript; `<` escaped for good measure). */
function literal(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

/**
 * Generates the PAC script. `data.proxy` is the `host:port` clients should use (`HTTPS` when
 * `data.tls`, else `PROXY`); without one every host goes `DIRECT`.
 *
 * @example
 * ```ts
 * pacScript({ proxy: "127.0.0.1:3128", bypass: [".corp.example"] });
 * // function FindProxyForURL(url, host) { … return "PROXY 127.0.0.1:3128"; }
 * ```
 */
export function pacScript(data: PacData): string {
  const b = sortBypass(data.bypass);
  const proxy = data.proxy === undefined ? "DIRECT" : `${data.tls ? "HTTPS" : "PROXY"} ${data.proxy}`;
  const lines = [
    "// Tollgate proxy auto-config. Generated; do not edit.",
    `// Bypass (DIRECT): plain host names, loopback and private IP literals${data.bypass.length ? ", " + data.bypass.join(", ").replace(/[\r\n\u2028\u2029]/g, " ") : ""}.`,
    ...(b.skipped.length ? [`// Not expressible in PAC, sent through the proxy: ${b.skipped.join(", ").replace(/[\r\n\u2028\u2029]/g, " ")}`] : []),
    `var BYPASS_ANY = ${b.any};`,
    `var BYPASS_EXACT = ${literal(b.exact)};`,
    `var BYPASS_SUBDOMAINS = ${literal(b.subdomains)};`,
    `var BYPASS_DOMAINS = ${literal(b.domains)};`,
    `var BYPASS_IPS = ${literal(b.ips)};`,
    `var BYPASS_NETS4 = ${literal(b.nets4)};`,
    `var PROXY = ${literal(proxy)};`,
    "",
    "function tollgateIsIPv4(h) {",
    "  return /^\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}$/.test(h);",
    "}",
    "",
    "function tollgatePrivateIPv4(h) {",
    "  return isInNet(h, \"127.0.0.0\", \"255.0.0.0\") || isInNet(h, \"10.0.0.0\", \"255.0.0.0\") ||",
    "    isInNet(h, \"172.16.0.0\", \"255.240.0.0\") || isInNet(h, \"192.168.0.0\", \"255.255.0.0\") ||",
    "    isInNet(h, \"169.254.0.0\", \"255.255.0.0\");",
    "}",
    "",
    "function tollgatePrivateIPv6(h) {",
    "  return h === \"::1\" || /^f[cd][0-9a-f]{0,2}:/.test(h) || /^fe[89ab][0-9a-f]?:/.test(h);",
    "}",
    "",
    "function FindProxyForURL(url, host) {",
    "  var h = String(host).toLowerCase();",
    "  if (h.charAt(0) === \"[\" && h.charAt(h.length - 1) === \"]\") h = h.substring(1, h.length - 1);",
    "  if (h.length > 1 && h.charAt(h.length - 1) === \".\") h = h.substring(0, h.length - 1);",
    "  var i;",
    "  if (BYPASS_ANY) return \"DIRECT\";",
    "  if (h.indexOf(\":\") >= 0) {",
    "    if (tollgatePrivateIPv6(h)) return \"DIRECT\";",
    "    for (i = 0; i < BYPASS_IPS.length; i++) if (h === BYPASS_IPS[i]) return \"DIRECT\";",
    "    return PROXY;",
    "  }",
    "  if (tollgateIsIPv4(h)) {",
    "    if (tollgatePrivateIPv4(h)) return \"DIRECT\";",
    "    for (i = 0; i < BYPASS_IPS.length; i++) if (h === BYPASS_IPS[i]) return \"DIRECT\";",
    "    for (i = 0; i < BYPASS_NETS4.length; i++) if (isInNet(h, BYPASS_NETS4[i][0], BYPASS_NETS4[i][1])) return \"DIRECT\";",
    "    return PROXY;",
    "  }",
    "  if (isPlainHostName(h)) return \"DIRECT\";",
    "  for (i = 0; i < BYPASS_EXACT.length; i++) if (h === BYPASS_EXACT[i]) return \"DIRECT\";",
    "  for (i = 0; i < BYPASS_SUBDOMAINS.length; i++) if (dnsDomainIs(h, BYPASS_SUBDOMAINS[i])) return \"DIRECT\";",
    "  for (i = 0; i < BYPASS_DOMAINS.length; i++) {",
    "    if (h === BYPASS_DOMAINS[i] || dnsDomainIs(h, \".\" + BYPASS_DOMAINS[i])) return \"DIRECT\";",
    "  }",
    "  return PROXY;",
    "}",
    "",
  ];
  return lines.join("\n");
}
