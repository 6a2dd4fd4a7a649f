/**
 * Distinguished names as LDAP writes them (RFC 4514): `cn=Proxy Users,ou=groups,dc=corp`,
 * with `\,`-style and `\2c`-style escapes. Read leniently about spaces around separators
 * (older servers write `CN=x, OU=y`), strictly about everything else.
 * @module
 */

/** One attribute of an RDN: its type in lower case, its value unescaped. */
export interface Ava {
  readonly type: string;
  readonly value: string;
}

/** An RDN: one attribute, or several joined by `+`. */
export type Rdn = readonly Ava[];

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });
const TYPE_RE = /^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)*)$/;
const HEX_RE = /^[0-9A-Fa-f]{2}$/;

/**
 * The RDNs of `text`, most specific first (`""` has none).
 * @throws {Error} on a missing `=`, a bad attribute type, a bad escape, or bytes that are not UTF-8
 */
export function parseDn(text: string): Rdn[] {
  const rdns: Rdn[] = [];
  if (text.trim() === "") return rdns;
  let avas: Ava[] = [];
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`not a distinguished name (${why}): ${JSON.stringify(text.slice(0, 200))}`);
  };
  for (;;) {
    const eq = text.indexOf("=", i);
    if (eq < 0) fail("an attribute without \"=\"");
    const type = text.slice(i, eq).trim();
    if (!TYPE_RE.test(type)) fail(`attribute type ${JSON.stringify(type)}`);
    i = eq + 1;
    while (text[i] === " ") i++;
    const bytes: number[] = [];
    let kept = 0; // bytes up to the last one that is not a trailing unescaped space
    for (; i < text.length; i++) {
      const c = text[i]!;
      if (c === "," || c === "+" || c === ";") break;
      if (c === "\\") {
        const pair = text.slice(i + 1, i + 3);
        if (HEX_RE.test(pair)) {
          bytes.push(parseInt(pair, 16));
          i += 2;
        } else if (i + 1 < text.length && ' "#+,;<=>\\'.includes(text[i + 1]!)) {
          bytes.push(text.charCodeAt(++i));
        } else fail("a bad escape");
        kept = bytes.length;
        continue;
      }
      const code = text.codePointAt(i)!;
      if (code > 0xffff) i++;
      bytes.push(...enc.encode(String.fromCodePoint(code)));
      if (c !== " ") kept = bytes.length;
    }
    let value: string;
    try {
      value = dec.decode(Uint8Array.from(bytes.slice(0, kept)));
    } catch {
      return fail("a value that is not UTF-8");
    }
    avas.push({ type: type.toLowerCase(), value });
    const sep = text[i];
    i++;
    if (sep !== "+") {
      rdns.push(avas);
      avas = [];
      if (sep === undefined) return rdns;
    }
  }
}

/** The RDNs of `text` when it is a DN with at least one (see {@link parseDn}), else undefined. */
export function tryParseDn(text: string): Rdn[] | undefined {
  try {
    const rdns = parseDn(text);
    return rdns.length > 0 ? rdns : undefined;
  } catch {
    return undefined;
  }
}

/** The same RDN: the same types with values equal but for case, in any order. */
function sameRdn(a: Rdn, b: Rdn): boolean {
  if (a.length !== b.length) return false;
  return a.every((x) => b.some((y) => y.type === x.type && y.value.toLowerCase() === x.value.toLowerCase()));
}

/** True when `dn` is strictly below `base` (`cn=x,ou=groups,dc=corp` is within `ou=groups,dc=corp`). */
export function dnWithin(dn: readonly Rdn[], base: readonly Rdn[]): boolean {
  if (dn.length <= base.length) return false;
  const offset = dn.length - base.length;
  return base.every((rdn, k) => sameRdn(dn[offset + k]!, rdn));
}
