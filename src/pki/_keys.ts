/**
 * Key algorithm identification (from DER `AlgorithmIdentifier`s in SPKI and PKCS#8) and the
 * matching WebCrypto import/sign parameters and X.509 signature `AlgorithmIdentifier`s.
 *
 * Supported CA keys: ECDSA P-256 (signs with SHA-256), ECDSA P-384 (SHA-384), RSA (PKCS#1 v1.5,
 * SHA-256).
 *
 * @module
 */
import { NULL, oid, readChildren, readTlv, sequence, TAG } from "./_der.ts";

/** A supported key type, or a description of an unsupported one. */
export type KeyKind =
  | { readonly type: "ecdsa"; readonly curve: "P-256" | "P-384" }
  | { readonly type: "rsa" }
  | { readonly type: "unsupported"; readonly description: string };

const OID = {
  ecPublicKey: oid("1.2.840.10045.2.1"),
  p256: oid("1.2.840.10045.3.1.7"),
  p384: oid("1.3.132.0.34"),
  p521: oid("1.3.132.0.35"),
  rsaEncryption: oid("1.2.840.113549.1.1.1"),
  rsaPss: oid("1.2.840.113549.1.1.10"),
  ed25519: oid("1.3.101.112"),
  ed448: oid("1.3.101.113"),
} as const;

const bytesEqual = (a: Uint8Array<ArrayBuffer>, b: Uint8Array<ArrayBuffer>): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

/** Classifies the `AlgorithmIdentifier` TLV starting at `offset` in `der`. */
export function keyKindAt(der: Uint8Array<ArrayBuffer>, offset: number, limit: number = der.length): KeyKind {
  const algId = readTlv(der, offset, limit);
  if (algId.tag !== TAG.sequence) throw new SyntaxError("Malformed key algorithm identifier");
  const [algOid, params] = readChildren(der, algId);
  if (algOid === undefined || algOid.tag !== TAG.oid) throw new SyntaxError("Malformed key algorithm identifier");
  const id = der.subarray(algOid.start, algOid.end);
  const param = params === undefined ? undefined : der.subarray(params.start, params.end);
  if (bytesEqual(id, OID.ecPublicKey)) {
    if (param !== undefined && bytesEqual(param, OID.p256)) return { type: "ecdsa", curve: "P-256" };
    if (param !== undefined && bytesEqual(param, OID.p384)) return { type: "ecdsa", curve: "P-384" };
    if (param !== undefined && bytesEqual(param, OID.p521)) return { type: "unsupported", description: "ECDSA P-521" };
    return { type: "unsupported", description: "ECDSA with an unsupported curve" };
  }
  if (bytesEqual(id, OID.rsaEncryption)) return { type: "rsa" };
  if (bytesEqual(id, OID.rsaPss)) return { type: "unsupported", description: "RSA-PSS" };
  if (bytesEqual(id, OID.ed25519)) return { type: "unsupported", description: "Ed25519" };
  if (bytesEqual(id, OID.ed448)) return { type: "unsupported", description: "Ed448" };
  return { type: "unsupported", description: "an unknown key algorithm" };
}

/**
 * Locates the parts of a DER `SubjectPublicKeyInfo`: its key kind and the public key bits
 * (the BIT STRING content after the unused-bits byte, which RFC 5280 method 1 hashes for key IDs).
 */
export function inspectSpki(spki: Uint8Array<ArrayBuffer>): { kind: KeyKind; publicKeyBits: Uint8Array<ArrayBuffer> } {
  const top = readTlv(spki, 0);
  const [algId, bits] = readChildren(spki, top);
  if (top.tag !== TAG.sequence || algId === undefined || bits === undefined || bits.tag !== TAG.bitString) {
    throw new SyntaxError("Malformed subject public key info");
  }
  return { kind: keyKindAt(spki, algId.start, algId.end), publicKeyBits: spki.subarray(bits.valueStart + 1, bits.end) };
}

/** The key kind of a DER PKCS#8 `PrivateKeyInfo` (or `OneAsymmetricKey`). */
export function pkcs8KeyKind(pkcs8: Uint8Array<ArrayBuffer>): KeyKind {
  const top = readTlv(pkcs8, 0);
  const [version, algId] = readChildren(pkcs8, top);
  if (top.tag !== TAG.sequence || version?.tag !== TAG.integer || algId === undefined) {
    throw new SyntaxError("Malformed PKCS#8 private key");
  }
  return keyKindAt(pkcs8, algId.start, algId.end);
}

/** Human text for a key kind, e.g. `"ECDSA P-256"`. */
export function describeKeyKind(kind: KeyKind): string {
  return kind.type === "ecdsa" ? `ECDSA ${kind.curve}` : kind.type === "rsa" ? "RSA" : kind.description;
}

/** WebCrypto and X.509 parameters for signing with a key of a supported kind. */
export interface SigningProfile {
  /** For `crypto.subtle.importKey`. */
  readonly importAlgorithm: EcKeyImportParams | RsaHashedImportParams;
  /** For `crypto.subtle.sign` / `verify`. */
  readonly signAlgorithm: EcdsaParams | Algorithm;
  /** DER `AlgorithmIdentifier` of the signature, as placed in a certificate. */
  readonly signatureAlgorithmDer: Uint8Array<ArrayBuffer>;
  /** Whether WebCrypto signatures must be converted from `r || s` to DER. */
  readonly ecdsa: boolean;
}

/** The signing profile for a supported key kind. */
export function signingProfile(kind: KeyKind): SigningProfile {
  if (kind.type === "ecdsa") {
    const sha384 = kind.curve === "P-384";
    return {
      importAlgorithm: { name: "ECDSA", namedCurve: kind.curve },
      signAlgorithm: { name: "ECDSA", hash: sha384 ? "SHA-384" : "SHA-256" },
      signatureAlgorithmDer: sequence(oid(sha384 ? "1.2.840.10045.4.3.3" : "1.2.840.10045.4.3.2")),
      ecdsa: true,
    };
  }
  if (kind.type === "rsa") {
    return {
      importAlgorithm: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
      signAlgorithm: { name: "RSASSA-PKCS1-v1_5" },
      signatureAlgorithmDer: sequence(oid("1.2.840.113549.1.1.11"), NULL),
      ecdsa: false,
    };
  }
  throw new TypeError(`Unsupported key type "${kind.description}"`);
}
