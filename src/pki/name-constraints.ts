/**
 * The name constraints (RFC 5280 §4.2.1.10) of the interception CA and its chain, as far as
 * the leaves it mints are concerned: dNSName and iPAddress subtrees, permitted and excluded.
 * Other name forms (e-mail, URI, directory names) do not bind DNS names or addresses, and are
 * ignored. Matching follows what strict clients (OpenSSL, Go) do, so a name this allows is one
 * they accept and a name it refuses is one they would reject the whole leaf for.
 *
 * @module
 */
import { formatIp } from "../core/ip.ts";
import { readChildren, readTlv, type Tlv } from "./_der.ts";
import type { SubjectName } from "./_names.ts";

/** An iPAddress subtree: address and mask, 8 bytes (IPv4) or 32 (IPv6) as the extension has them. */
interface IpSubtree {
  readonly bytes: Uint8Array<ArrayBuffer>;
  readonly text: string;
}

/** The DNS and IP subtrees of one NameConstraints extension. DNS bases are lowercase. */
export interface NameConstraints {
  readonly permittedDns: readonly string[];
  readonly excludedDns: readonly string[];
  readonly permittedIp: readonly IpSubtree[];
  readonly excludedIp: readonly IpSubtree[];
  /**
   * It has directoryName subtrees (permitted or excluded): they bind a leaf's subject, which
   * a leaf therefore leaves empty (its names are in the SAN; clients check no empty subject).
   */
  readonly directoryNames: boolean;
}

const TAG_PERMITTED = 0xa0;
const TAG_EXCLUDED = 0xa1;
const TAG_DNS = 0x82;
const TAG_IP = 0x87;
const TAG_DIRECTORY = 0xa4;

/**
 * Parses the DER value of a NameConstraints extension (the bytes inside its OCTET STRING).
 *
 * @throws {SyntaxError} when it is not a well-formed NameConstraints
 */
export function parseNameConstraints(der: Uint8Array<ArrayBuffer>): NameConstraints {
  const top = readTlv(der, 0);
  if (top.tag !== 0x30 || top.end !== der.length) throw new SyntaxError("Malformed NameConstraints");
  const out = { permittedDns: [] as string[], excludedDns: [] as string[], permittedIp: [] as IpSubtree[], excludedIp: [] as IpSubtree[], directoryNames: false };
  for (const subtrees of readChildren(der, top)) {
    if (subtrees.tag !== TAG_PERMITTED && subtrees.tag !== TAG_EXCLUDED) throw new SyntaxError("Malformed NameConstraints");
    const permitted = subtrees.tag === TAG_PERMITTED;
    for (const subtree of readChildren(der, subtrees)) {
      const base: Tlv | undefined = subtree.tag === 0x30 ? readChildren(der, subtree)[0] : undefined;
      if (base === undefined) throw new SyntaxError("Malformed GeneralSubtree");
      const value = der.slice(base.valueStart, base.end);
      if (base.tag === TAG_DNS) {
        let text = "";
        for (const b of value) text += String.fromCharCode(b);
        (permitted ? out.permittedDns : out.excludedDns).push(text.toLowerCase());
      } else if (base.tag === TAG_IP) {
        (permitted ? out.permittedIp : out.excludedIp).push({ bytes: value, text: ipSubtreeText(value) });
      } else if (base.tag === TAG_DIRECTORY) {
        out.directoryNames = true;
      }
    }
  }
  return out;
}

/**
 * Why `constraints` forbid a leaf naming `name`, e.g. `not within the permitted DNS names
 * "corp.example"`; `undefined` when they allow it. A name form with no permitted subtree of
 * its own is not restricted by the permitted ones of another form.
 */
export function constraintViolation(constraints: NameConstraints, name: SubjectName): string | undefined {
  if (name.kind === "dns") {
    const excluded = constraints.excludedDns.find((base) => dnsWithin(name.value, base) || wildcardCovers(name.value, base));
    if (excluded !== undefined) return `within the excluded DNS names "${excluded}"`;
    const permitted = constraints.permittedDns;
    if (permitted.length > 0 && !permitted.some((base) => dnsWithin(name.value, base))) {
      return `not within the permitted DNS names ${permitted.map((b) => `"${b}"`).join(", ")}`;
    }
    return undefined;
  }
  const excluded = constraints.excludedIp.find((subtree) => ipWithin(name.bytes, subtree.bytes));
  if (excluded !== undefined) return `within the excluded IP addresses "${excluded.text}"`;
  const permitted = constraints.permittedIp;
  if (permitted.length > 0 && !permitted.some((subtree) => ipWithin(name.bytes, subtree.bytes))) {
    return `not within the permitted IP addresses ${permitted.map((s) => `"${s.text}"`).join(", ")}`;
  }
  return undefined;
}

/**
 * RFC 5280: `corp.example` covers the name and every name made by adding labels on the left;
 * `.corp.example` only the latter; an empty base covers every name. A wildcard name is
 * compared as written (`*.corp.example` is within `corp.example`), as clients do.
 */
function dnsWithin(name: string, base: string): boolean {
  if (base === "") return true;
  if (base.startsWith(".")) return name.endsWith(base);
  return name === base || name.endsWith(`.${base}`);
}

/**
 * Whether the wildcard `name` (`*.corp.example`) would also stand for a name in the excluded
 * subtree `base` (`secret.corp.example`): such a leaf would certify an excluded host, so it
 * is refused even where a client compares the wildcard as written.
 */
function wildcardCovers(name: string, base: string): boolean {
  if (!name.startsWith("*.")) return false;
  const parent = name.slice(1); // ".corp.example"
  const bare = base.startsWith(".") ? base.slice(1) : base;
  if (!bare.endsWith(parent)) return false;
  const label = bare.slice(0, -parent.length);
  return label.length > 0 && !label.includes(".");
}

/** `bytes` (4 or 16) within an address+mask subtree of twice its length. */
function ipWithin(bytes: Uint8Array<ArrayBuffer>, subtree: Uint8Array<ArrayBuffer>): boolean {
  if (subtree.length !== bytes.length * 2) return false;
  for (let i = 0; i < bytes.length; i++) {
    const mask = subtree[bytes.length + i] ?? 0;
    if (((bytes[i] ?? 0) & mask) !== ((subtree[i] ?? 0) & mask)) return false;
  }
  return true;
}

/** `10.0.0.0/8`, `fd00::/8`, or the mask in full when it is not a prefix. */
function ipSubtreeText(bytes: Uint8Array<ArrayBuffer>): string {
  const half = bytes.length / 2;
  if (half !== 4 && half !== 16) return `(${bytes.length} bytes)`;
  const mask = bytes.subarray(half);
  const bits = [...mask].map((b) => b.toString(2).padStart(8, "0")).join("");
  const prefix = /^1*0*$/.test(bits) ? String(bits.indexOf("0") === -1 ? bits.length : bits.indexOf("0")) : formatIp(mask);
  return `${formatIp(bytes.subarray(0, half))}/${prefix}`;
}
