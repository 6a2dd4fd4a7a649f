/**
 * Minting leaf certificates for intercepted hosts, signed by the interception CA.
 *
 * Every leaf of one issuer shares ONE ECDSA P-256 key pair (generated on first use, replaced by
 * `rotateKey()`). The certificate is assembled directly as DER from precomputed pieces (issuer
 * name, AKI, signature algorithm, the key's SPKI and SKI) so a cold mint costs little more than
 * the CA signature: `X509CertificateGenerator.create` spends ~1 ms building and re-parsing ASN.1
 * objects per call, which a proxy cannot afford on every new host.
 *
 * @module
 */
import type { CertificateAuthority } from "./ca.ts";
import { bitString, commonNameDer, octetString, oid, sequence, TAG, time, tlv, TRUE, unsignedInteger } from "./_der.ts";
import { inspectSpki } from "./_keys.ts";
import { nameKey, parseSubjectName, type SubjectName } from "./_names.ts";
import { encodePem } from "./pem.ts";
import { randomSerial } from "./serial.ts";

/** A minted leaf: what a TLS server context needs. */
export interface Leaf {
  /** The leaf certificate (PEM, ends with a newline). */
  readonly certPem: string;
  /** The leaf private key (PKCS#8 PEM, ends with a newline); shared by leaves of one issuer key. */
  readonly keyPem: string;
  /** Leaf then intermediates (each PEM ending with a newline): serve this as the certificate chain. */
  readonly chainPem: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The normalised names in the certificate, first = CN. */
  readonly names: readonly string[];
  /** Serial number, lowercase hex. */
  readonly serialNumber: string;
}

/** Options of {@linkcode createLeafIssuer}. */
export interface LeafIssuerOptions {
  /** Leaf validity in days (may be fractional), capped by the CA's notAfter. Default 7, at most 30. */
  readonly validityDays?: number;
  /** How far notBefore is backdated, for clients with a slow clock. Default 3600. */
  readonly backdateSeconds?: number;
  /** Clock in ms since the epoch. Default `Date.now`. */
  readonly now?: () => number;
}

/** Mints leaves for one CA. */
export interface LeafIssuer {
  readonly ca: CertificateAuthority;
  /**
   * Mints a leaf for `names` (first = CN; each a DNS name, possibly `*.`-wildcard, or an
   * IPv4/IPv6 literal; duplicates are dropped). Throws `TypeError` for an invalid name or
   * one the CA's name constraints do not allow (see
   * {@linkcode CertificateAuthority.nameConstraintViolation}), `RangeError` for no names or
   * more than {@linkcode MAX_LEAF_NAMES}.
   */
  issue(names: readonly string[]): Promise<Leaf>;
  /** Replaces the shared leaf key; leaves minted afterwards use the new key. */
  rotateKey(): Promise<void>;
}

/** Most names one leaf may carry. */
export const MAX_LEAF_NAMES = 100;
/** Longest leaf validity accepted, in days. */
export const MAX_LEAF_VALIDITY_DAYS = 30;

const DAY_MS = 86_400_000;
const VERSION_3 = Uint8Array.of(0xa0, 0x03, TAG.integer, 0x01, 0x02);
const OID_SAN = oid("2.5.29.17");
const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();

function extension(id: string, critical: boolean, value: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  return sequence(oid(id), critical ? TRUE : EMPTY, octetString(value));
}

/** Extensions identical in every leaf: basicConstraints CA:FALSE, keyUsage digitalSignature, EKU serverAuth. */
const STATIC_EXTENSIONS = [
  extension("2.5.29.19", true, sequence()),
  extension("2.5.29.15", true, Uint8Array.of(TAG.bitString, 0x02, 0x07, 0x80)),
  extension("2.5.29.37", false, sequence(oid("1.3.6.1.5.5.7.3.1"))),
];

/** The shared leaf key and everything derived from it once. */
interface LeafKey {
  readonly keyPem: string;
  readonly spki: Uint8Array<ArrayBuffer>;
  readonly skiExtension: Uint8Array<ArrayBuffer>;
}

async function generateLeafKey(): Promise<LeafKey> {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]) as CryptoKeyPair;
  const [pkcs8, spkiBuffer] = await Promise.all([
    crypto.subtle.exportKey("pkcs8", pair.privateKey),
    crypto.subtle.exportKey("spki", pair.publicKey),
  ]);
  const spki = new Uint8Array(spkiBuffer);
  const keyId = new Uint8Array(await crypto.subtle.digest("SHA-1", inspectSpki(spki).publicKeyBits));
  return {
    keyPem: encodePem(new Uint8Array(pkcs8), "PRIVATE KEY"),
    spki,
    skiExtension: extension("2.5.29.14", false, octetString(keyId)),
  };
}

function subjectFor(first: SubjectName, ca: Pick<CertificateAuthority, "nameConstrained" | "subjectConstrained">): Uint8Array<ArrayBuffer> {
  // ub-common-name is 64: a longer first name goes in the SAN only, with an empty subject.
  // So does an IP address under a name-constrained CA: OpenSSL checks a CN that looks like a
  // host name against the DNS constraints when the leaf has no DNS SAN, and would refuse
  // 10.0.0.1 under "permitted: corp.example", though DNS subtrees do not bind addresses
  // (RFC 5280 §4.2.1.10). And every leaf under directoryName constraints: OpenSSL checks a
  // subject with entries against them (a permitted "O=Corp" refuses "CN=host"), not an empty one.
  if (first.value.length > 64 || (ca.nameConstrained && first.kind !== "dns") || ca.subjectConstrained) return sequence();
  return commonNameDer(first.value);
}

function sanExtension(names: readonly SubjectName[], critical: boolean): Uint8Array<ArrayBuffer> {
  const items = names.map((n) => (n.kind === "dns" ? tlv(0x82, encoder.encode(n.value)) : tlv(0x87, n.bytes)));
  return sequence(OID_SAN, critical ? TRUE : EMPTY, octetString(sequence(...items)));
}

function toHex(bytes: Uint8Array<ArrayBuffer>): string {
  let hex = "";
  for (const b of bytes) hex += b.toString(16).padStart(2, "0");
  return hex;
}

/**
 * Creates a leaf issuer for `ca`. Throws `RangeError` for a validity above
 * {@linkcode MAX_LEAF_VALIDITY_DAYS} days or a negative backdate.
 *
 * @example
 * ```ts
 * const issuer = createLeafIssuer(ca, { validityDays: 7 });
 * const leaf = await issuer.issue(["example.com", "www.example.com"]);
 * tls.createSecureContext({ cert: leaf.chainPem, key: leaf.keyPem });
 * ```
 */
export function createLeafIssuer(ca: CertificateAuthority, options: LeafIssuerOptions = {}): LeafIssuer {
  const validityDays = options.validityDays ?? 7;
  if (!(validityDays > 0 && validityDays <= MAX_LEAF_VALIDITY_DAYS)) {
    throw new RangeError(`Leaf validity must be more than 0 and at most ${MAX_LEAF_VALIDITY_DAYS} days, got "${validityDays}"`);
  }
  const backdateSeconds = options.backdateSeconds ?? 3600;
  if (!(backdateSeconds >= 0 && Number.isFinite(backdateSeconds))) {
    throw new RangeError(`Leaf backdate must be a non-negative number of seconds, got "${backdateSeconds}"`);
  }
  const now = options.now ?? Date.now;
  const validityMs = validityDays * DAY_MS;
  const caNotBefore = ca.notBefore.getTime();
  const caNotAfter = ca.notAfter.getTime();
  const sigAlg = ca.signatureAlgorithmDer;
  const issuerName = ca.subjectDer;
  const akiExtension = extension("2.5.29.35", false, sequence(tlv(0x80, ca.keyIdentifier)));

  let key: Promise<LeafKey> | undefined;
  const newKey = (): Promise<LeafKey> => {
    const pending = generateLeafKey();
    key = pending;
    // A failed generation is retried by the next caller instead of poisoning the issuer.
    pending.catch(() => {
      if (key === pending) key = undefined;
    });
    return pending;
  };

  async function issue(input: readonly string[]): Promise<Leaf> {
    if (!Array.isArray(input) || input.length === 0) throw new RangeError("A leaf needs at least one name");
    const names: SubjectName[] = [];
    const seen = new Set<string>();
    for (const raw of input) {
      const name = parseSubjectName(raw);
      const k = nameKey(name);
      if (!seen.has(k)) {
        seen.add(k);
        names.push(name);
      }
    }
    if (names.length > MAX_LEAF_NAMES) {
      throw new RangeError(`A leaf may carry at most ${MAX_LEAF_NAMES} names, got "${names.length}"`);
    }
    // a client rejects the whole leaf for one name outside the CA's constraints: mint none
    for (const name of names) {
      const why = ca.nameConstraintViolation(name);
      if (why !== undefined) throw new TypeError(why);
    }
    const first = names[0] as SubjectName;
    const leafKey = await (key ?? newKey());

    const t = now();
    const notBeforeMs = Math.max(t - backdateSeconds * 1000, caNotBefore);
    const notAfterMs = Math.min(t + validityMs, caNotAfter);
    if (notAfterMs <= t) throw new RangeError(`CA certificate expired on "${ca.notAfter.toISOString()}"`);
    const notBefore = new Date(Math.floor(notBeforeMs / 1000) * 1000);
    const notAfter = new Date(Math.floor(notAfterMs / 1000) * 1000);
    const serial = randomSerial();
    const subject = subjectFor(first, ca);

    const tbs = sequence(
      VERSION_3,
      unsignedInteger(serial),
      sigAlg,
      issuerName,
      sequence(time(notBefore), time(notAfter)),
      subject,
      leafKey.spki,
      tlv(0xa3, sequence(...STATIC_EXTENSIONS, akiExtension, leafKey.skiExtension, sanExtension(names, subject.length === 2))),
    );
    const signature = await ca.signTbs(tbs);
    const certPem = encodePem(sequence(tbs, sigAlg, bitString(signature)), "CERTIFICATE");
    return {
      certPem,
      keyPem: leafKey.keyPem,
      chainPem: certPem + ca.issuerChainPem,
      notBefore,
      notAfter,
      names: names.map((n) => n.value),
      serialNumber: toHex(serial).replace(/^(00)+(?=..)/, ""),
    };
  }

  return {
    ca,
    issue,
    async rotateKey(): Promise<void> {
      await newKey();
    },
  };
}
