/**
 * `X-Forwarded-For`, `X-Forwarded-Proto`, `X-Forwarded-Host` and `Forwarded` (RFC 7239) for
 * requests a reverse listener passes to a backend.
 *
 * A client's own values are believed only when the connection comes from a trusted proxy
 * (`trustForwardedFrom`): then ours are appended to theirs (`X-Forwarded-For: a, b, peer`,
 * `Forwarded: …, for=peer;…`) and their `X-Forwarded-Proto` / `X-Forwarded-Host` are kept.
 * From anyone else every such field (and `X-Real-IP`, and look-alikes with `_` for `-`) is
 * removed first, so a backend never sees a client-chosen address.
 *
 * @example
 * ```ts
 * const trust = new TrustList(["10.0.0.0/8"]);
 * forwardedHeaders(headers, { peer: "192.0.2.7", proto: "https", host: "app.example", trusted: trust.has("192.0.2.7") });
 * // X-Forwarded-For: 192.0.2.7, X-Forwarded-Proto: https, X-Forwarded-Host: app.example,
 * // Forwarded: for=192.0.2.7;host=app.example;proto=https
 * ```
 * @module
 */
import { METHOD_OVERRIDE_FIELDS, PATH_OVERRIDE_FIELDS } from "../protocol/request-overrides.ts";
import { anyCidrContains, type Cidr, IpScratch, isIp } from "../core/ip.ts";
import { ipKey, parseClientCidr } from "../policy/host-pattern.ts";
import type { HeaderList } from "../protocol/http-headers.ts";

/**
 * Fields removed from an untrusted client's request: the standard ones, and those other
 * proxies and CDNs set that backends and their libraries read as the client's address
 * (request-ip reads `X-Client-IP` first, Rails `Client-IP`), its scheme (Rack's
 * `X-Forwarded-Scheme` and `X-Forwarded-Ssl`) or the path prefix it asked for (Spring's
 * `X-Forwarded-Prefix`).
 */
export const FORWARDING_FIELDS: readonly string[] = Object.freeze([
  "x-forwarded-for",
  "x-forwarded-proto",
  "x-forwarded-host",
  "x-forwarded-port",
  "x-real-ip",
  "forwarded",
  "x-forwarded",
  "forwarded-for",
  "x-forwarded-scheme",
  "x-forwarded-ssl",
  "x-forwarded-prefix",
  "x-forwarded-server",
  "front-end-https",
  "x-url-scheme",
  "x-client-ip",
  "client-ip",
  "true-client-ip",
  "cf-connecting-ip",
  "fastly-client-ip",
  "x-cluster-client-ip",
  "x-original-forwarded-for",
]);

/**
 * Fields some servers and frameworks take as the request's real path or method (IIS and
 * Symfony's `X-Original-URL`, method-override middleware): removed from an untrusted
 * client's request, since a route's rules judged the path and method of the request line
 * (a trusted proxy's go on, and the deny rules judge them too).
 */
export const OVERRIDE_FIELDS: readonly string[] = Object.freeze([...PATH_OVERRIDE_FIELDS, ...METHOD_OVERRIDE_FIELDS]);

/**
 * Fields that say who the client is, set by the gateway (or a proxy before it in the
 * listener's `trustIdentityFrom`) and removed from anyone else's request: the user signed
 * in, and the client certificate (RFC 9440).
 */
export const IDENTITY_FIELDS: readonly string[] = Object.freeze(["x-forwarded-user", "client-cert", "client-cert-chain"]);

/** `headers` without the fields `names` (lower case), nor their {@link withoutLookalikes look-alikes}. */
export function withoutFields(headers: HeaderList, names: readonly string[]): HeaderList {
  return withoutLookalikes(headers.delete(...names), names);
}

/**
 * `headers` without look-alikes of the fields `names` (lower case) with `_` for `-`
 * (`X_Forwarded_For`), which CGI-style backends take for the same field. No proxy sends
 * those: they go from anyone, also where the fields themselves are kept.
 */
export function withoutLookalikes(headers: HeaderList, names: readonly string[]): HeaderList {
  if (!headers.entries.some(([name]) => name.includes("_"))) return headers;
  return headers.filter(([name]) => !(name.includes("_") && names.includes(name.toLowerCase().replaceAll("_", "-"))));
}

const UTF8 = new TextEncoder();

/**
 * A user name as an `X-Forwarded-User` value: printable ASCII as it is, and `%`, any other
 * character (as its UTF-8 bytes) and a space at either end percent-encoded — `José` is
 * `Jos%C3%A9`, `50%` is `50%25`. A field value can carry any name this way, and each name has
 * its own value (a backend percent-decodes it to get the name back).
 */
export function forwardedUserValue(name: string): string {
  const chars = [...name]; // by code point: a surrogate pair is one character
  return chars.map((ch, i) => {
    const code = ch.codePointAt(0) ?? 0;
    if (code > 0x20 && code < 0x7f && ch !== "%") return ch;
    if (code === 0x20 && i !== 0 && i !== chars.length - 1) return ch;
    return [...UTF8.encode(ch)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`).join("");
  }).join("");
}

/** A set of CIDRs (bare addresses are /32 or /128); IPv4-mapped IPv6 addresses match IPv4 blocks. */
export class TrustList {
  readonly #cidrs: readonly Cidr[];

  /** @throws {TypeError} for an entry that is not an IP address or CIDR */
  constructor(cidrs: readonly string[]) {
    this.#cidrs = cidrs.map(parseClientCidr);
  }

  /** True when `ip` (text) is in the list. */
  has(ip: string): boolean {
    return anyCidrContains(this.#cidrs, ip);
  }

  get empty(): boolean {
    return this.#cidrs.length === 0;
  }
}

/** What the gateway knows about the hop it adds. */
export interface ForwardingInfo {
  /** The TCP peer's address. */
  readonly peer: string;
  /** The scheme the client used to reach the gateway. */
  readonly proto: "http" | "https";
  /** The `Host` the client sent (undefined when it sent none). */
  readonly host: string | undefined;
  /** The peer is a trusted proxy: keep and extend its forwarding fields. */
  readonly trusted: boolean;
}

const scratch = new IpScratch(); // for clientAddressText, which keeps only text

/** An address as the forwarding fields show it: IPv4-mapped IPv6 as plain IPv4. */
export function clientAddressText(ip: string): string {
  const bytes = scratch.parse(ip);
  return bytes === undefined ? ip : ipKey(bytes);
}

/** A `Forwarded` value: a token when it is one, else a quoted-string (RFC 7239 §4, RFC 9110 §5.6.4). */
function forwardedValue(value: string): string {
  if (/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value)) return value;
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** The `for=` node of an address: IPv6 in brackets and quoted (RFC 7239 §6). */
function forwardedNode(ip: string): string {
  return ip.includes(":") ? `"[${ip}]"` : ip;
}

/**
 * The request's fields with the gateway's forwarding fields set (see the module doc).
 * Call after hop-by-hop fields were removed.
 */
export function forwardedHeaders(headers: HeaderList, info: ForwardingInfo): HeaderList {
  const peer = clientAddressText(info.peer);
  let h = headers;
  let element = `for=${forwardedNode(peer)}`;
  if (info.host !== undefined && info.host !== "") element += `;host=${forwardedValue(info.host)}`;
  element += `;proto=${info.proto}`;
  if (info.trusted) {
    h = withoutLookalikes(h, FORWARDING_FIELDS);
    const xff = h.getAll("x-forwarded-for").map((v) => v.trim()).filter((v) => v !== "");
    h = h.delete("x-forwarded-for").append("X-Forwarded-For", [...xff, peer].join(", "));
    if (!h.has("x-forwarded-proto")) h = h.append("X-Forwarded-Proto", info.proto);
    if (!h.has("x-forwarded-host") && info.host !== undefined && info.host !== "") h = h.append("X-Forwarded-Host", info.host);
    const fwd = h.getAll("forwarded").map((v) => v.trim()).filter((v) => v !== "");
    return h.delete("forwarded").append("Forwarded", [...fwd, element].join(", "));
  }
  h = withoutFields(h, FORWARDING_FIELDS).append("X-Forwarded-For", peer).append("X-Forwarded-Proto", info.proto);
  if (info.host !== undefined && info.host !== "") h = h.append("X-Forwarded-Host", info.host);
  return h.append("Forwarded", element);
}

/**
 * What {@link originalClient} gives when a trusted proxy named its client with something
 * that is not an address (`unknown`, a name): no `clients` list, `detailsFor` or trust list
 * contains it, so such a client is let through nowhere a proxy's own address would be.
 */
export const UNKNOWN_CLIENT = "unknown";

/**
 * The address of an `X-Forwarded-For` entry: an IP address, also with a port as some
 * proxies write it (`192.0.2.1:4711`, `[2001:db8::1]`, `[2001:db8::1]:443`); undefined for
 * anything else.
 */
function entryAddress(entry: string): string | undefined {
  const m = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(entry) ?? /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(entry);
  if (m && m[2] !== undefined && Number(m[2]) > 65535) return undefined;
  const address = m?.[1] ?? entry;
  return isIp(address) ? address : undefined;
}

/**
 * The original client's address: the TCP peer, unless the peer is trusted; then the
 * `X-Forwarded-For` list is walked from the right past trusted addresses, and the first
 * untrusted (or the leftmost) address is the client. An entry on the way that is no
 * address makes the client {@link UNKNOWN_CLIENT}: the proxy vouched for someone it did not
 * name, and that is not the proxy itself.
 */
export function originalClient(headers: HeaderList, peer: string, trust: TrustList): string {
  if (!trust.has(peer)) return clientAddressText(peer);
  const list = headers.getAll("x-forwarded-for").flatMap((v) => v.split(",")).map((s) => s.trim()).filter((s) => s !== "");
  let client = clientAddressText(peer);
  for (let i = list.length - 1; i >= 0; i--) {
    const candidate = entryAddress(list[i] ?? "");
    if (candidate === undefined) return UNKNOWN_CLIENT;
    client = clientAddressText(candidate);
    if (!trust.has(candidate)) break;
  }
  return client;
}
