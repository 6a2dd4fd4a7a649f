/**
 * The address guard (SSRF): decides at dial time whether the gateway may connect to a
 * resolved IP address and port. The caller dials exactly the address it checked, which
 * closes DNS rebinding.
 *
 * Order of precedence, first match decides:
 * 1. `self` — one of the gateway's own listeners (no loops): always denied. A listener on an
 *    unspecified address (`0.0.0.0:p`, `[::]:p`) stands for every local address on port `p`:
 *    loopback, unspecified and `localAddresses`; `0.0.0.0` covers IPv4 only, `::` both
 *    families. An unspecified destination (which the kernel dials as a local address) matches
 *    every listener on its port.
 * 2. `deny` CIDRs: always denied.
 * 3. Public addresses: allowed.
 * 4. Any other class is allowed only when opened by `allowClasses`, by an `allow` CIDR or by a
 *    per-rule allowed CIDR. The pinpoint classes "metadata" and "unspecified" are opened only
 *    by a CIDR naming the exact address (`/32`, `/128`) or by `allowClasses`: a broad range
 *    such as `169.254.0.0/16` never exposes a cloud metadata endpoint by accident.
 *
 * IPv6 addresses embedding IPv4 (see `classifyIp`) are judged by the raw address and by
 * every embedded one: `self` and `deny` match either; an allowance opens the address when it
 * covers the raw address, or when every non-public embedded address is opened.
 *
 * @example
 * ```ts
 * const guard = createAddressGuard({ allow: ["10.1.0.0/16"], self: ["127.0.0.1:3128"] });
 * guard.check("10.1.2.3", 443);        // { allowed: true }
 * guard.check("169.254.169.254", 80);
 * // { allowed: false, cls: "metadata",
 * //   reason: "169.254.169.254 is a cloud metadata address (link-local); not in any allowed CIDR" }
 * ```
 * @module
 */

import type { Address } from "../core/conn.ts";
import {
  classifyIp,
  embeddedIPv4s,
  type EmbeddedIPv4,
  IP_CLASSES,
  ipClass,
  type IpClass,
  ipClassSeverity,
  type IPv4Embedding,
} from "../core/ip-class.ts";
import { type Cidr, cidrContains, formatCidr, formatIp, IpScratch, isIPv4Mapped, parseCidr, parseReportedIp } from "../core/ip.ts";

/** Options of {@link createAddressGuard}. */
export interface AddressGuardOptions {
  /** CIDRs (or bare addresses) allowed even when internal. */
  readonly allow?: readonly string[];
  /** CIDRs (or bare addresses) always denied; they override every allowance. */
  readonly deny?: readonly string[];
  /** The gateway's own listeners: "ip:port", "[ipv6]:port", or `{ address, port }`. */
  readonly self?: readonly (string | Address)[];
  /** The host's own interface addresses, covered by a listener on an unspecified address. */
  readonly localAddresses?: readonly string[];
  /** Classes allowed as a whole (e.g. `["private"]`). */
  readonly allowClasses?: readonly IpClass[];
}

/** Why an address was denied: its class, a gateway listener, or a `deny` CIDR. */
export type AddressDenial = IpClass | "self" | "denied-cidr";

/** The guard's answer. */
export type AddressVerdict =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly cls: AddressDenial; readonly reason: string };

/** A compiled address guard. */
export interface AddressGuard {
  /**
   * Decide whether the gateway may dial `address` (IPv4, IPv6 or IPv4-mapped text as
   * runtimes print it; brackets and a zone id are tolerated) on `port`. `ruleAllows` are
   * the matching rule's allowed CIDRs; they are parsed once per array and cached by
   * identity, so pass the same (unchanging) array each time.
   *
   * @throws {SyntaxError} when `address` is not an IP address or a rule CIDR is malformed
   * @throws {RangeError} when `port` is not an integer 0-65535
   */
  check(address: string, port: number, ruleAllows?: readonly string[]): AddressVerdict;
  /** {@link AddressGuard.check} for an address already parsed to 4 or 16 bytes. */
  checkIp(bytes: Uint8Array, port: number, ruleAllows?: readonly string[]): AddressVerdict;
}

interface Listener {
  readonly host: Cidr;
  readonly port: number;
  /** 0: a specific address; 4: 0.0.0.0 (IPv4 only); 6: :: (both families). */
  readonly wildcard: 0 | 4 | 6;
  readonly text: string;
}

const ALLOWED: AddressVerdict = Object.freeze({ allowed: true });
const NONE: readonly EmbeddedIPv4[] = Object.freeze([]);

const DESCRIPTION: Readonly<Record<IpClass, string>> = {
  public: "a public address",
  loopback: "a loopback address",
  private: "a private address",
  "link-local": "a link-local address",
  metadata: "a cloud metadata address",
  cgnat: "a shared (carrier-grade NAT) address",
  multicast: "a multicast address",
  unspecified: "an unspecified (this-network) address",
  broadcast: "the broadcast address",
  reserved: "a reserved (special-purpose or documentation) address",
};

const VIA_TEXT: Readonly<Record<IPv4Embedding, string>> = {
  "ipv4-mapped": "IPv4-mapped",
  "ipv4-compatible": "IPv4-compatible",
  "ipv4-translated": "IPv4-translated",
  nat64: "NAT64",
  "nat64-local": "local-use NAT64",
  "6to4": "6to4",
  "teredo-server": "Teredo server",
  "teredo-client": "Teredo client",
};

/**
 * Parse address text as runtimes print it; brackets and a zone id are tolerated. The result
 * is one of `scratch`'s buffers when given, else a new array (to keep).
 */
function _parseAddress(text: string, scratch?: IpScratch): Uint8Array {
  const bytes = parseReportedIp(text, scratch);
  if (bytes === undefined) throw new SyntaxError(`Invalid IP address "${text}"`);
  return bytes;
}

function _checkPort(port: number, min: number): void {
  if (!Number.isInteger(port) || port < min || port > 65535) {
    throw new RangeError(`Invalid port "${port}": expected an integer ${min}-65535`);
  }
}

function _host(bytes: Uint8Array): Cidr {
  return { family: bytes.length === 4 ? 4 : 6, bytes, prefix: bytes.length * 8 };
}

function _cidrs(list: readonly string[] | undefined, name: string): readonly Cidr[] {
  return (list ?? []).map((text, i) => {
    try {
      return parseCidr(text);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new SyntaxError(`${name}[${i}]: ${message}`, { cause: error });
    }
  });
}

function _listener(entry: string | Address): Listener {
  let addressText: string;
  let port: number;
  if (typeof entry === "string") {
    const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(entry);
    if (m === null) throw new SyntaxError(`Invalid listener "${entry}": expected "ip:port" or "[ipv6]:port"`);
    addressText = m[1] ?? m[2] ?? "";
    port = Number(m[3]);
  } else {
    addressText = entry.address;
    port = entry.port;
  }
  _checkPort(port, 1);
  const bytes = _parseAddress(addressText);
  const v4 = bytes.length === 4 || isIPv4Mapped(bytes);
  const unspecified = bytes.every((b, i) => b === 0 || (v4 && (i === 10 || i === 11)));
  const text = _endpoint(bytes, port);
  const wildcard = !unspecified ? 0 : v4 ? 4 : 6;
  return { host: _host(bytes), port, wildcard, text: wildcard === 0 ? text : `${text} (all local addresses)` };
}

function _endpoint(bytes: Uint8Array, port: number): string {
  return bytes.length === 4 ? `${formatIp(bytes)}:${port}` : `[${formatIp(bytes)}]:${port}`;
}

function _isHostCidr(cidr: Cidr): boolean {
  return cidr.prefix === (cidr.family === 4 ? 32 : 128);
}

/** true: a CIDR in `list` opens `ip`; a Cidr: only that too-broad one covers it; else undefined. */
function _covers(list: readonly Cidr[], ip: Uint8Array, pinpoint: boolean): true | Cidr | undefined {
  let broad: Cidr | undefined;
  for (const cidr of list) {
    if (!cidrContains(cidr, ip)) continue;
    if (!pinpoint || _isHostCidr(cidr)) return true;
    broad ??= cidr;
  }
  return broad;
}

function _describe(bytes: Uint8Array, cls: IpClass): string {
  if (cls !== "metadata") return DESCRIPTION[cls];
  const range = classifyIp(bytes).range;
  return range === undefined ? DESCRIPTION.metadata : `${DESCRIPTION.metadata} (${range})`;
}

/**
 * Compile an address guard. Defaults deny every non-public class: loopback, private,
 * link-local, metadata, cgnat, multicast, unspecified, broadcast and reserved.
 *
 * @throws {SyntaxError} when a CIDR, listener or local address is malformed
 * @throws {TypeError} when `allowClasses` names an unknown class
 * @throws {RangeError} when a listener port is not 1-65535
 */
export function createAddressGuard(options: AddressGuardOptions = {}): AddressGuard {
  const allow = _cidrs(options.allow, "allow");
  const deny = _cidrs(options.deny, "deny");
  const listeners = (options.self ?? []).map(_listener);
  const locals = (options.localAddresses ?? []).map((t) => _host(_parseAddress(t)));
  const openClasses = new Set<IpClass>();
  for (const cls of options.allowClasses ?? []) {
    if (!IP_CLASSES.includes(cls)) throw new TypeError(`Unknown address class "${String(cls)}" in allowClasses`);
    openClasses.add(cls);
  }
  const ruleCache = new WeakMap<readonly string[], readonly Cidr[]>();
  // check() parses into it: the verdict keeps only text, and a dial should not pay for an array
  const scratch = new IpScratch();

  const ruleCidrs = (list: readonly string[] | undefined): readonly Cidr[] => {
    if (list === undefined || list.length === 0) return [];
    let cidrs = ruleCache.get(list);
    if (cidrs === undefined) {
      cidrs = _cidrs(list, "rule allowance");
      ruleCache.set(list, cidrs);
    }
    return cidrs;
  };

  /** Whether a listener on the destination's port is reached by `ip` (of class `cls`). */
  const reaches = (l: Listener, ip: Uint8Array, cls: IpClass): boolean => {
    if (cls === "unspecified") return true;
    if (l.wildcard === 0) return cidrContains(l.host, ip);
    if (l.wildcard === 4 && ip.length === 16 && !isIPv4Mapped(ip)) return false;
    if (cls === "loopback") return true;
    for (const local of locals) if (cidrContains(local, ip)) return true;
    return false;
  };

  /** true: opened; a Cidr: covered only by that too-broad CIDR; undefined: not covered. */
  const opens = (ip: Uint8Array, cls: IpClass, rule: readonly Cidr[]): true | Cidr | undefined => {
    if (cls === "public" || openClasses.has(cls)) return true;
    const pinpoint = cls === "metadata" || cls === "unspecified";
    const a = _covers(allow, ip, pinpoint);
    if (a === true) return true;
    const r = _covers(rule, ip, pinpoint);
    return r === true ? true : a ?? r;
  };

  const denial = (
    bytes: Uint8Array,
    subject: Uint8Array,
    cls: IpClass,
    via: IPv4Embedding | undefined,
    broad: Cidr | undefined,
  ): AddressVerdict => {
    const what = _describe(subject, cls);
    const head = via === undefined
      ? `${formatIp(bytes)} is ${what}`
      : `${formatIp(bytes)} embeds ${formatIp(subject)} (${VIA_TEXT[via]}), ${what}`;
    const tail = broad === undefined
      ? "not in any allowed CIDR"
      : `allowed CIDR ${formatCidr(broad)} is too broad to open it: allow exactly ${formatIp(subject)}/${
        subject.length * 8
      } or the "${cls}" class`;
    return { allowed: false, cls, reason: `${head}; ${tail}` };
  };

  const checkIp = (bytes: Uint8Array, port: number, ruleAllows?: readonly string[]): AddressVerdict => {
    _checkPort(port, 0);
    const cls = ipClass(bytes);
    const embedded = bytes.length === 16 && !isIPv4Mapped(bytes) ? embeddedIPv4s(bytes) : NONE;

    for (const l of listeners) {
      if (l.port !== port) continue;
      let hit: EmbeddedIPv4 | undefined;
      if (!reaches(l, bytes, cls)) {
        hit = embedded.find((e) => reaches(l, e.bytes, e.cls));
        if (hit === undefined) continue;
      }
      const dest = _endpoint(bytes, port);
      const how = hit === undefined ? "is" : `embeds ${formatIp(hit.bytes)} (${VIA_TEXT[hit.via]}), which is`;
      return { allowed: false, cls: "self", reason: `${dest} ${how} the gateway's own listener ${l.text}` };
    }

    for (const cidr of deny) {
      let hit: EmbeddedIPv4 | undefined;
      if (!cidrContains(cidr, bytes)) {
        hit = embedded.find((e) => cidrContains(cidr, e.bytes));
        if (hit === undefined) continue;
      }
      const how = hit === undefined ? "is" : `embeds ${formatIp(hit.bytes)} (${VIA_TEXT[hit.via]}),`;
      return { allowed: false, cls: "denied-cidr", reason: `${formatIp(bytes)} ${how} in denied CIDR ${formatCidr(cidr)}` };
    }

    if (cls === "public") return ALLOWED;
    const rule = ruleCidrs(ruleAllows);
    const raw = opens(bytes, cls, rule);
    if (raw === true) return ALLOWED;
    if (embedded.length === 0) return denial(bytes, bytes, cls, undefined, raw);

    // Every non-public embedded address must be opened; the worst refusal is reported.
    let worst: { e: EmbeddedIPv4; broad: Cidr | undefined } | undefined;
    let worstEmbedded: IpClass = "public";
    for (const e of embedded) {
      if (ipClassSeverity(e.cls) > ipClassSeverity(worstEmbedded)) worstEmbedded = e.cls;
      const r = opens(e.bytes, e.cls, rule);
      if (r === true) continue;
      if (worst === undefined || ipClassSeverity(e.cls) > ipClassSeverity(worst.e.cls)) worst = { e, broad: r };
    }
    if (worst !== undefined) return denial(bytes, worst.e.bytes, worst.e.cls, worst.e.via, worst.broad);
    // The raw address may be stricter than what it embeds (local-use NAT64 off the /96 layout).
    if (cls !== worstEmbedded) return denial(bytes, bytes, cls, undefined, raw);
    return ALLOWED;
  };

  return {
    check: (address, port, ruleAllows) => checkIp(_parseAddress(address, scratch), port, ruleAllows),
    checkIp: (bytes, port, ruleAllows) => {
      if (bytes.length !== 4 && bytes.length !== 16) {
        throw new RangeError(`Expected 4 or 16 address bytes, got ${bytes.length}`);
      }
      return checkIp(bytes, port, ruleAllows);
    },
  };
}
