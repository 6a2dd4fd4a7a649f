/**
 * Validation and normalisation of the names a leaf certificate is minted for: DNS names
 * (A-labels, optionally a leading `*.` wildcard label) and IPv4/IPv6 literals.
 *
 * @module
 */

/** A name ready to be put in a SAN: DNS names lowercased without a trailing dot. */
export type SubjectName =
  | { readonly kind: "dns"; readonly value: string }
  | { readonly kind: "ip"; readonly value: string; readonly bytes: Uint8Array<ArrayBuffer> };

const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

/** Parses a dotted-quad IPv4 literal (no leading zeros) into 4 bytes, or returns `null`. */
export function parseIPv4(text: string): Uint8Array<ArrayBuffer> | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i] ?? "";
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    out[i] = v;
  }
  return out;
}

/** Parses an IPv6 literal (optionally bracketed, `::` and IPv4 tail allowed, no zone) into 16 bytes, or `null`. */
export function parseIPv6(input: string): Uint8Array<ArrayBuffer> | null {
  const text = input.startsWith("[") && input.endsWith("]") ? input.slice(1, -1) : input;
  if (!text.includes(":") || text.length > 45) return null;
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (s: string): number[] | null => {
    if (s === "") return [];
    const out: number[] = [];
    const parts = s.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i] ?? "";
      if (i === parts.length - 1 && p.includes(".")) {
        const v4 = parseIPv4(p);
        if (v4 === null) return null;
        out.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return null;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0] ?? "");
  const tail = halves.length === 2 ? groups(halves[1] ?? "") : [];
  if (head === null || tail === null) return null;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return null;
  const all = [...head, ...new Array<number>(fill).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/**
 * Validates and normalises one name. Throws `TypeError` for anything that is neither a DNS
 * name nor an IP literal (including non-ASCII names: convert them to A-labels first).
 *
 * @example
 * ```ts
 * parseSubjectName("Example.COM.");  // { kind: "dns", value: "example.com" }
 * parseSubjectName("[::1]");         // { kind: "ip", value: "::1", bytes: Uint8Array(16) }
 * ```
 */
export function parseSubjectName(input: string): SubjectName {
  if (typeof input !== "string" || input.length === 0 || input.length > 255) {
    throw new TypeError(`Invalid certificate name "${String(input).slice(0, 80)}"`);
  }
  const v4 = parseIPv4(input);
  if (v4 !== null) return { kind: "ip", value: input, bytes: v4 };
  if (input.includes(":")) {
    const v6 = parseIPv6(input);
    if (v6 === null) throw new TypeError(`Invalid IPv6 address "${input.slice(0, 80)}"`);
    const value = (input.startsWith("[") ? input.slice(1, -1) : input).toLowerCase();
    return { kind: "ip", value, bytes: v6 };
  }
  const name = (input.endsWith(".") ? input.slice(0, -1) : input).toLowerCase();
  const labels = name.split(".");
  const valid = name.length > 0 && name.length <= 253 &&
    labels.every((label, i) => (i === 0 && label === "*" && labels.length > 2) || LABEL.test(label)) &&
    !/^[0-9.]+$/.test(name);
  if (!valid) throw new TypeError(`Invalid DNS name "${input.slice(0, 80)}"`);
  return { kind: "dns", value: name };
}

/** A canonical key for a parsed name: IPs by their bytes, DNS names by their normalised text. */
export function nameKey(name: SubjectName): string {
  if (name.kind === "dns") return name.value;
  let hex = "ip:";
  for (const b of name.bytes) hex += b.toString(16).padStart(2, "0");
  return hex;
}
