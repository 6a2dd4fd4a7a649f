/**
 * Certificate selection for a reverse listener, by the ClientHello's SNI.
 *
 * Order: a certificate with that exact name; a certificate with `*.suffix` where the SNI is
 * one label more than `suffix` (as a wildcard certificate covers it, RFC 6125 §6.4.3); a
 * certificate minted by the gateway CA when the SNI matches a `mint` pattern; then the
 * listener's unknown-SNI action — the default certificate, or refusal (the client gets an
 * `unrecognized_name` alert). A ClientHello without SNI gets the unknown-SNI action too.
 * When several certificates carry the same name, the first configured wins.
 *
 * @example
 * ```ts
 * const store = new CertificateStore([a, wildcard], 0, "refuse", ["*.internal.example"]);
 * store.select("a.example");          // { kind: "certificate", certificate: a, match: "exact" }
 * store.select("x.internal.example"); // { kind: "mint", name: "x.internal.example" }
 * store.select("other.example");      // { kind: "refuse", reason: … }
 * ```
 * @module
 */
import { normalizeHost } from "../core/host.ts";
import type { Host } from "../policy/types.ts";
import { type HostPattern, hostPatternMatches, parseHostPattern } from "../policy/host-pattern.ts";
import type { UnknownSniAction } from "./config-types.ts";

/** A certificate chain and key ready to serve, and the names it is selected for. */
export interface ServedCertificate {
  readonly chainPem: string;
  readonly keyPem: string;
  /** Lowercase names: exact, or `*.suffix`. */
  readonly names: readonly string[];
  /** Where it came from (the cert file), for logs. */
  readonly source: string;
  /** When the leaf certificate expires (for the expiry metric and `config check`). */
  readonly notAfter: Date;
}

/** The outcome of {@link CertificateStore.select}. */
export type CertSelection =
  | { readonly kind: "certificate"; readonly certificate: ServedCertificate; readonly match: "exact" | "wildcard" | "default" }
  | { readonly kind: "mint"; readonly name: string }
  | { readonly kind: "refuse"; readonly reason: string };

/** `undefined` when `name` is a valid certificate name (exact, IP or `*.suffix`), else the reason. */
export function certificateNameError(name: string): string | undefined {
  try {
    const p = parseHostPattern(name);
    if (p.kind === "exact" || p.kind === "subdomains" || p.kind === "ip") return undefined;
  } catch {
    // fall through
  }
  return `expected a server name or "*.suffix", got ${JSON.stringify(name)}`;
}

/** `undefined` when `pattern` is a valid mint pattern (exact name or `*.suffix`), else the reason. */
export function mintPatternError(pattern: string): string | undefined {
  try {
    const p = parseHostPattern(pattern);
    if (p.kind === "exact" || p.kind === "subdomains") return undefined;
  } catch {
    // fall through
  }
  return `expected a host name or "*.suffix", got ${JSON.stringify(pattern)}`;
}

/** Canonical key of a certificate name: the normalised name, `*.` + suffix for a wildcard. */
function nameKey(name: string): string {
  const p = parseHostPattern(name);
  switch (p.kind) {
    case "exact":
      return p.name;
    case "subdomains":
      return `*.${p.suffix}`;
    case "ip":
      return p.key;
    default:
      throw new TypeError(certificateNameError(name) ?? `Invalid certificate name ${JSON.stringify(name)}`);
  }
}

/** The certificates of one reverse listener, indexed by name (see the module doc). */
export class CertificateStore {
  /** The configured certificates, in config order. */
  readonly certificates: readonly ServedCertificate[];
  readonly #exact = new Map<string, ServedCertificate>();
  readonly #wildcard = new Map<string, ServedCertificate>();
  readonly #default: ServedCertificate | undefined;
  readonly #unknownSni: UnknownSniAction;
  readonly #mint: readonly HostPattern[];

  /** @throws {TypeError} on an invalid name or mint pattern, {@link RangeError} on a bad default index */
  constructor(certificates: readonly ServedCertificate[], defaultIndex: number, unknownSni: UnknownSniAction, mint: readonly string[] = []) {
    this.certificates = certificates;
    for (const c of certificates) {
      for (const name of c.names) {
        const key = nameKey(name);
        const map = key.startsWith("*.") ? this.#wildcard : this.#exact;
        const k = key.startsWith("*.") ? key.slice(2) : key;
        if (!map.has(k)) map.set(k, c);
      }
    }
    if (certificates.length > 0 && (defaultIndex < 0 || defaultIndex >= certificates.length)) {
      throw new RangeError(`Default certificate index ${defaultIndex} is out of range`);
    }
    this.#default = certificates[defaultIndex];
    this.#unknownSni = unknownSni;
    this.#mint = mint.map((m) => {
      const error = mintPatternError(m);
      if (error) throw new TypeError(error);
      return parseHostPattern(m);
    });
  }

  /** The certificate (or action) for a ClientHello with this SNI (undefined: none sent). */
  select(sni: string | undefined): CertSelection {
    if (sni !== undefined) {
      let key: string | undefined;
      let host: Host | undefined;
      try {
        host = normalizeHost(sni);
        key = host.kind === "dns" ? host.name : nameKey(host.address);
      } catch {
        key = undefined;
      }
      if (key !== undefined && host !== undefined) {
        const exact = this.#exact.get(key);
        if (exact) return { kind: "certificate", certificate: exact, match: "exact" };
        const dot = key.indexOf(".");
        if (host.kind === "dns" && dot > 0) {
          const wild = this.#wildcard.get(key.slice(dot + 1));
          if (wild) return { kind: "certificate", certificate: wild, match: "wildcard" };
        }
        if (host.kind === "dns" && this.#mint.some((p) => hostPatternMatches(p, host))) return { kind: "mint", name: host.name };
      }
    }
    const what = sni === undefined ? "ClientHello without SNI" : `No certificate for SNI ${JSON.stringify(sni)}`;
    if (this.#unknownSni === "default" && this.#default) return { kind: "certificate", certificate: this.#default, match: "default" };
    return { kind: "refuse", reason: `${what}; the listener refuses unknown names` };
  }
}
