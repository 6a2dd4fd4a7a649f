/**
 * IP address and CIDR parsing, canonical text and containment tests.
 *
 * Addresses are `Uint8Array`s of 4 (IPv4) or 16 (IPv6) bytes. For CIDR matching an IPv4
 * address is identified with its IPv4-mapped IPv6 form `::ffff:a.b.c.d`, so a client that a
 * dual-stack runtime reports as `::ffff:127.0.0.1` matches `127.0.0.0/8`, and `::/0` matches
 * every address.
 *
 * @example
 * ```ts
 * const cidr = parseCidr("10.0.0.0/8");
 * cidrContains(cidr, parseIp("::ffff:10.1.2.3")!); // true
 * formatIp(parseIp("2001:DB8:0:0:0:0:0:1")!);     // "2001:db8::1"
 * ```
 * @module
 */

/** A parsed CIDR block. `bytes` holds the network address with the host bits cleared. */
export interface Cidr {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

const MAX_IP_TEXT = 64;

function _hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Parse dotted-quad IPv4 text from `start` to `end` into `out[at..at+4]`; false if malformed. */
function _parseIPv4Into(text: string, start: number, end: number, out: Uint8Array, at: number): boolean {
  let part = 0;
  let value = 0;
  let digits = 0;
  let leadingZero = false;
  for (let i = start; i <= end; i++) {
    const c = i === end ? 46 : text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part > 3) return false;
      out[at + part] = value;
      part++;
      value = 0;
      digits = 0;
      leadingZero = false;
    } else if (c >= 48 && c <= 57) {
      if (leadingZero) return false; // "01" is octal in some parsers: ambiguous, reject
      if (digits === 0 && c === 48) leadingZero = true;
      value = value * 10 + (c - 48);
      digits++;
      if (value > 255) return false;
    } else {
      return false;
    }
  }
  return part === 4;
}

function _checkInto(into: Uint8Array, length: number): Uint8Array {
  if (into.length !== length) throw new RangeError(`Expected a ${length}-byte buffer, got ${into.length} bytes`);
  return into;
}

/**
 * Parse strict dotted-quad IPv4 text ("192.0.2.1"). Leading zeros, shorthand ("127.1")
 * and hex/octal forms are rejected.
 *
 * @param into where to write the address (4 bytes; default: a new array). On failure its
 * contents are unspecified.
 * @returns 4 bytes (`into` when given), or `undefined` when `text` is not a strict IPv4 address.
 * @throws {RangeError} when `into` is not 4 bytes long
 */
export function parseIPv4(text: string, into?: Uint8Array): Uint8Array | undefined {
  if (text.length < 7 || text.length > 15) return undefined;
  const out = into === undefined ? new Uint8Array(4) : _checkInto(into, 4);
  return _parseIPv4Into(text, 0, text.length, out, 0) ? out : undefined;
}

/**
 * Parse IPv6 text in any RFC 4291 form: full, `::`-compressed, or with an embedded IPv4
 * tail (`::ffff:192.0.2.1`). Zone ids (`fe80::1%eth0`) and brackets are rejected.
 *
 * @param into where to write the address (16 bytes; default: a new array). On failure its
 * contents are unspecified.
 * @returns 16 bytes (`into` when given), or `undefined` when `text` is not an IPv6 address.
 * @throws {RangeError} when `into` is not 16 bytes long
 */
export function parseIPv6(text: string, into?: Uint8Array): Uint8Array | undefined {
  const n = text.length;
  if (n < 2 || n > 45) return undefined;
  const out = into === undefined ? new Uint8Array(16) : _checkInto(into, 16);
  let group = 0; // groups written so far
  let gap = -1; // group index where "::" occurred
  let i = 0;
  if (text.charCodeAt(0) === 58) {
    if (text.charCodeAt(1) !== 58) return undefined;
    gap = 0;
    i = 2;
    if (n === 2) return out.fill(0);
  }
  while (i < n) {
    if (group >= 8) return undefined;
    const start = i;
    let value = 0;
    while (i < n && i - start < 5) {
      const h = _hexValue(text.charCodeAt(i));
      if (h < 0) break;
      value = value * 16 + h;
      i++;
    }
    const c = i < n ? text.charCodeAt(i) : -1;
    if (c === 46) {
      // embedded IPv4 tail: must be last and fit in two groups
      if (group > 6) return undefined;
      if (!_parseIPv4Into(text, start, n, out, group * 2)) return undefined;
      group += 2;
      i = n;
      break;
    }
    const len = i - start;
    if (len === 0 || len > 4) return undefined;
    out[group * 2] = value >> 8;
    out[group * 2 + 1] = value & 0xff;
    group++;
    if (i === n) break;
    if (c !== 58) return undefined;
    i++;
    if (i < n && text.charCodeAt(i) === 58) {
      if (gap >= 0) return undefined;
      gap = group;
      i++;
      if (i === n) break;
    } else if (i === n) {
      return undefined; // trailing single ":"
    }
  }
  if (gap < 0) return group === 8 ? out : undefined;
  if (group >= 8) return undefined; // "::" must stand for at least one group
  const tail = (group - gap) * 2;
  const dest = 16 - tail;
  out.copyWithin(dest, gap * 2, gap * 2 + tail);
  out.fill(0, gap * 2, dest);
  return out;
}

/** Parse IPv4 (strict dotted quad) or IPv6 text; `undefined` when neither. */
export function parseIp(text: string): Uint8Array | undefined {
  if (text.length > MAX_IP_TEXT) return undefined;
  return text.includes(":") ? parseIPv6(text) : parseIPv4(text);
}

/**
 * {@link parseIp} into buffers it owns, for hot paths: on Deno every new typed array costs
 * ~0.6 µs whatever its size (docs/performance.md), as much as the rest of a policy decision.
 * `parse` returns one of its two buffers (4 bytes for IPv4, 16 for IPv6), which its next
 * `parse` overwrites: use the result at once and never keep it (`slice()` it to keep it).
 *
 * @example
 * ```ts
 * const scratch = new IpScratch();
 * const ip = scratch.parse("10.1.2.3");
 * cidrContains(parseCidr("10.0.0.0/8"), ip!); // true
 * scratch.parse("10.9.9.9"); // ip now holds 10.9.9.9 too
 * ```
 */
export class IpScratch {
  readonly #v4 = new Uint8Array(4);
  readonly #v6 = new Uint8Array(16);

  /** Like {@link parseIp}, but the result is one of this scratch's buffers. */
  parse(text: string): Uint8Array | undefined {
    if (text.length > MAX_IP_TEXT) return undefined;
    return text.includes(":") ? parseIPv6(text, this.#v6) : parseIPv4(text, this.#v4);
  }
}

// for results that never leave this module (booleans, text)
const _scratch = new IpScratch();

/** True when `text` is an IP address ({@link parseIp} would parse it), without allocating. */
export function isIp(text: string): boolean {
  return _scratch.parse(text) !== undefined;
}

/**
 * Parse an address as runtimes report it (a peer, a resolved address): plain, bracketed
 * (`[::1]`), or with a zone id (`fe80::1%eth0`, the zone is ignored; IPv6 only).
 * `undefined` when it is not an IP address. With a `scratch`, the result is one of its
 * buffers (see {@link IpScratch}); without, a new array.
 *
 * @example
 * ```ts
 * parseReportedIp("[fe80::1%25en0]"); // the bytes of fe80::1
 * parseReportedIp("10.0.0.1%x");      // undefined
 * ```
 */
export function parseReportedIp(text: string, scratch?: IpScratch): Uint8Array | undefined {
  let t = text;
  if (t.charCodeAt(0) === 91 && t.charCodeAt(t.length - 1) === 93) t = t.slice(1, -1);
  const zone = t.indexOf("%");
  if (zone >= 0 && t.includes(":")) t = t.slice(0, zone);
  return scratch === undefined ? parseIp(t) : scratch.parse(t);
}

/** True when a 16-byte address is IPv4-mapped (`::ffff:0:0/96`). */
export function isIPv4Mapped(bytes: Uint8Array): boolean {
  if (bytes.length !== 16) return false;
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/** Dotted-quad text of a 4-byte address (or of bytes 12-15 of a 16-byte one). */
export function formatIPv4(bytes: Uint8Array): string {
  const o = bytes.length === 16 ? 12 : 0;
  return `${bytes[o]}.${bytes[o + 1]}.${bytes[o + 2]}.${bytes[o + 3]}`;
}

// hex text of a byte, without and with its leading zero: a group is one or two lookups
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16));
const HEX2 = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

function _group(bytes: Uint8Array, g: number): string {
  const hi = bytes[g * 2] ?? 0;
  const lo = bytes[g * 2 + 1] ?? 0;
  return hi === 0 ? HEX[lo] as string : (HEX[hi] as string) + (HEX2[lo] as string);
}

/** The groups `from` to `to` (exclusive) of a 16-byte address, joined by ":". */
function _groups(bytes: Uint8Array, from: number, to: number): string {
  let s = "";
  for (let g = from; g < to; g++) s = g === from ? _group(bytes, g) : `${s}:${_group(bytes, g)}`;
  return s;
}

/**
 * RFC 5952 canonical text of a 16-byte IPv6 address: lowercase, no leading zeros, the
 * longest run (first on a tie) of two or more zero groups as `::`, and IPv4-mapped
 * addresses in mixed notation (`::ffff:192.0.2.1`, RFC 5952 section 5).
 */
export function formatIPv6(bytes: Uint8Array): string {
  if (isIPv4Mapped(bytes)) return `::ffff:${formatIPv4(bytes)}`;
  let bestStart = -1;
  let bestLen = 1;
  let runStart = -1;
  for (let g = 0; g <= 8; g++) {
    const zero = g < 8 && bytes[g * 2] === 0 && bytes[g * 2 + 1] === 0;
    if (zero) {
      if (runStart < 0) runStart = g;
    } else if (runStart >= 0) {
      if (g - runStart > bestLen) {
        bestStart = runStart;
        bestLen = g - runStart;
      }
      runStart = -1;
    }
  }
  if (bestStart < 0) return _groups(bytes, 0, 8);
  return `${_groups(bytes, 0, bestStart)}::${_groups(bytes, bestStart + bestLen, 8)}`;
}

/** Canonical text of a 4- or 16-byte address. */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return formatIPv4(bytes);
  if (bytes.length === 16) return formatIPv6(bytes);
  throw new RangeError(`Expected 4 or 16 address bytes, got ${bytes.length}`);
}

/** Canonical text of an IP address given as text; `undefined` when `text` is not an IP. */
export function canonicalIp(text: string): string | undefined {
  const bytes = _scratch.parse(text);
  return bytes === undefined ? undefined : formatIp(bytes);
}

/**
 * Parse "address/prefix" or a bare address (a /32 or /128). Host bits below the prefix
 * are cleared ("10.1.2.3/8" is 10.0.0.0/8).
 *
 * @throws {SyntaxError} when `text` is not an IPv4/IPv6 address or CIDR with a prefix in range
 */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf("/");
  const addr = slash < 0 ? text : text.slice(0, slash);
  const bytes = parseIp(addr);
  if (bytes === undefined) throw new SyntaxError(`Invalid IP address or CIDR "${text}"`);
  const bits = bytes.length * 8;
  let prefix = bits;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^(?:0|[1-9]\d{0,2})$/.test(p) || Number(p) > bits) {
      throw new SyntaxError(`Invalid prefix length in CIDR "${text}": expected 0-${bits}`);
    }
    prefix = Number(p);
  }
  for (let i = 0; i < bytes.length; i++) {
    const keep = prefix - i * 8;
    if (keep <= 0) bytes[i] = 0;
    else if (keep < 8) bytes[i] = (bytes[i] ?? 0) & (0xff << (8 - keep));
  }
  return { family: bytes.length === 4 ? 4 : 6, bytes, prefix };
}

/** Canonical "address/prefix" text of a CIDR. */
export function formatCidr(cidr: Cidr): string {
  return `${formatIp(cidr.bytes)}/${cidr.prefix}`;
}

/** Byte `i` of the 16-byte (IPv6 or IPv4-mapped) view of `ip`. */
function _byte16(ip: Uint8Array, i: number): number {
  if (ip.length === 16) return ip[i] ?? 0;
  if (i < 10) return 0;
  if (i < 12) return 0xff;
  return ip[i - 12] ?? 0;
}

/**
 * True when `ip` (4 or 16 bytes) lies in `cidr`. IPv4 addresses and their IPv4-mapped
 * IPv6 forms are the same address here. Allocation-free.
 */
export function cidrContains(cidr: Cidr, ip: Uint8Array): boolean {
  const net = cidr.bytes;
  if (cidr.family === 4) {
    let o: number;
    if (ip.length === 4) o = 0;
    else if (isIPv4Mapped(ip)) o = 12;
    else return false;
    return _prefixEqual(net, 0, ip, o, cidr.prefix);
  }
  if (ip.length === 16) return _prefixEqual(net, 0, ip, 0, cidr.prefix);
  // IPv4 address against an IPv6 CIDR: compare with its mapped form
  const full = cidr.prefix >> 3;
  for (let i = 0; i < full; i++) if (net[i] !== _byte16(ip, i)) return false;
  const rest = cidr.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((net[full] ?? 0) & mask) === (_byte16(ip, full) & mask);
}

/**
 * True when `text` is an IP address ({@link parseIp}) in one of `cidrs`, parsed once and
 * without allocating. For the address of a connection against an allowlist.
 *
 * @example
 * ```ts
 * anyCidrContains([parseCidr("10.0.0.0/8")], "::ffff:10.1.2.3"); // true
 * ```
 */
export function anyCidrContains(cidrs: readonly Cidr[], text: string): boolean {
  if (cidrs.length === 0) return false;
  const ip = _scratch.parse(text);
  if (ip === undefined) return false;
  for (let i = 0; i < cidrs.length; i++) if (cidrContains(cidrs[i] as Cidr, ip)) return true;
  return false;
}

function _prefixEqual(a: Uint8Array, ao: number, b: Uint8Array, bo: number, prefix: number): boolean {
  const full = prefix >> 3;
  for (let i = 0; i < full; i++) if (a[ao + i] !== b[bo + i]) return false;
  const rest = prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((a[ao + full] ?? 0) & mask) === ((b[bo + full] ?? 0) & mask);
}
