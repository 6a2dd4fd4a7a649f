/**
 * Loading the interception CA: certificate + PKCS#8 private key (+ optional intermediates),
 * with the checks that catch a wrong file before the first client sees a broken chain.
 *
 * @module
 */
import type { X509Certificate } from "@peculiar/x509";
import { ecdsaSignatureToDer, readChildren, readTlv, TAG } from "./_der.ts";
import { chainProblem, serverAuthProblem } from "./ca-checks.ts";
import { describeKeyKind, inspectSpki, type KeyKind, pkcs8KeyKind, signingProfile } from "./_keys.ts";
import type { SubjectName } from "./_names.ts";
import { x509 } from "./_x509.ts";
import { constraintViolation, type NameConstraints, parseNameConstraints } from "./name-constraints.ts";
import { decodePem, encodePem } from "./pem.ts";

/** A CA that failed to load: message says what is wrong, never includes key material. */
export class CaError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CaError";
  }
}

/** A loaded CA, ready to sign leaf certificates. The private key is never exposed. */
export interface CertificateAuthority {
  /** The parsed CA certificate. */
  readonly certificate: X509Certificate;
  /** The CA certificate as PEM (normalised, ends with a newline): what clients must trust. */
  readonly certPem: string;
  /** Intermediates given at load time, as PEM (each ending with a newline); `""` if none. */
  readonly chainPem: string;
  /**
   * What a leaf's chain carries after the leaf itself: the CA certificate when it is not
   * self-issued (an intermediate), then {@linkcode chainPem}. `""` for a self-signed root.
   */
  readonly issuerChainPem: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** DER of the CA's subject Name, copied byte for byte into each leaf's issuer field. */
  readonly subjectDer: Uint8Array<ArrayBuffer>;
  /** The CA's key identifier (its SKI, or the RFC 5280 SHA-1 method when it has none). */
  readonly keyIdentifier: Uint8Array<ArrayBuffer>;
  /** Key type, e.g. `"ECDSA P-256"` or `"RSA"`. */
  readonly keyDescription: string;
  /** The CA, or a certificate of its chain, carries name constraints (RFC 5280 §4.2.1.10). */
  readonly nameConstrained: boolean;
  /**
   * The CA or its chain constrains directory names: a leaf's subject (`CN=host`) would be
   * outside a permitted one, so leaves carry an empty subject and their names in a critical SAN.
   */
  readonly subjectConstrained: boolean;
  /**
   * Why the name constraints of the CA or its chain forbid a leaf naming `name` (their DNS
   * and IP subtrees; a client rejects the whole leaf for one such name), naming the
   * certificate and its subtrees; `undefined` when they allow it, as always without constraints.
   */
  nameConstraintViolation(name: SubjectName): string | undefined;
  /** DER `AlgorithmIdentifier` of the signatures {@linkcode signTbs} makes. */
  readonly signatureAlgorithmDer: Uint8Array<ArrayBuffer>;
  /** Signs a DER `TBSCertificate`; resolves to the signature as an X.509 BIT STRING carries it. */
  signTbs(tbs: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>>;
}

/** Input of {@linkcode loadCa}. */
export interface LoadCaOptions {
  /** The CA certificate in PEM; further certificates in the same text are treated as intermediates. */
  readonly certPem: string;
  /** The CA private key: PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), unencrypted. */
  readonly keyPem: string;
  /** Intermediate certificates (PEM) between the CA and the root clients trust, if any. */
  readonly chainPem?: string;
  /** Clock for the validity check, in ms since the epoch. Default `Date.now`. */
  readonly now?: () => number;
}

const KEY_CERT_SIGN = 32;

function certificateBlocks(text: string, what: string): Uint8Array<ArrayBuffer>[] {
  let blocks;
  try {
    blocks = decodePem(text);
  } catch (cause) {
    throw new CaError(`${what} is not valid PEM`, { cause });
  }
  const other = blocks.find((b) => b.label !== "CERTIFICATE");
  if (other !== undefined) throw new CaError(`${what} contains a "${other.label}" block, expected "CERTIFICATE"`);
  return blocks.map((b) => b.der);
}

function privateKeyDer(keyPem: string): Uint8Array<ArrayBuffer> {
  let blocks;
  try {
    blocks = decodePem(keyPem);
  } catch {
    throw new CaError("CA private key is not valid PEM");
  }
  const [block] = blocks;
  if (block === undefined) throw new CaError("CA private key PEM has no PEM block");
  if (blocks.length > 1) throw new CaError("CA private key PEM has more than one PEM block");
  if (block.label === "EC PRIVATE KEY" || block.label === "RSA PRIVATE KEY") {
    throw new CaError(
      `CA private key is in "${block.label}" format; convert it to PKCS#8 with "openssl pkcs8 -topk8 -nocrypt"`,
    );
  }
  if (block.label === "ENCRYPTED PRIVATE KEY") throw new CaError("Encrypted CA private keys are not supported");
  if (block.label !== "PRIVATE KEY") throw new CaError(`CA private key PEM has a "${block.label}" block, expected "PRIVATE KEY"`);
  return block.der;
}

/** Raw DER slices of a certificate's issuer, subject and SPKI. */
function certificateParts(der: Uint8Array<ArrayBuffer>): { issuer: Uint8Array<ArrayBuffer>; subject: Uint8Array<ArrayBuffer>; spki: Uint8Array<ArrayBuffer> } {
  const cert = readTlv(der, 0);
  const [tbs] = readChildren(der, cert);
  if (tbs === undefined) throw new SyntaxError("Malformed certificate");
  const fields = readChildren(der, tbs);
  const skip = fields[0]?.tag === 0xa0 ? 1 : 0;
  const issuer = fields[skip + 2];
  const subject = fields[skip + 4];
  const spki = fields[skip + 5];
  if (issuer?.tag !== TAG.sequence || subject?.tag !== TAG.sequence || spki?.tag !== TAG.sequence) {
    throw new SyntaxError("Malformed certificate");
  }
  const slice = (t: { start: number; end: number }): Uint8Array<ArrayBuffer> => der.slice(t.start, t.end);
  return { issuer: slice(issuer), subject: slice(subject), spki: slice(spki) };
}

function parseCertificate(der: Uint8Array<ArrayBuffer>, what: string): X509Certificate {
  try {
    const cert = new x509.X509Certificate(der);
    // Fields are decoded lazily: touch them here so malformed ones fail as a CaError.
    void [cert.subject, cert.issuer, cert.notBefore, cert.notAfter, cert.extensions, cert.publicKey];
    return cert;
  } catch (cause) {
    throw new CaError(`${what} is not a valid X.509 certificate`, { cause });
  }
}

const OID_NAME_CONSTRAINTS = "2.5.29.30";

/**
 * Loads a CA from PEM text and checks it: the certificate is a CA (`basicConstraints CA:TRUE`,
 * `keyUsage keyCertSign` when key usage is present), is currently valid, uses a supported key
 * (ECDSA P-256/P-384 or RSA), the private key matches its public key, neither it nor a
 * certificate of its chain has an extendedKeyUsage without serverAuth, each chain certificate
 * issued the one before it (the first one the CA), and name constraints
 * of the CA and its chain are well-formed (they are read once, for
 * {@linkcode CertificateAuthority.nameConstraintViolation}). Throws {@linkcode CaError} otherwise.
 *
 * @example
 * ```ts
 * const ca = await loadCa({ certPem: await read("ca.pem"), keyPem: await read("ca.key") });
 * const issuer = createLeafIssuer(ca);
 * ```
 */
export async function loadCa(options: LoadCaOptions): Promise<CertificateAuthority> {
  const now = options.now ?? Date.now;
  const [certDer, ...bundled] = certificateBlocks(options.certPem, "CA certificate PEM");
  if (certDer === undefined) throw new CaError("CA certificate PEM has no certificate");
  const chainDers = [...bundled, ...certificateBlocks(options.chainPem ?? "", "CA chain PEM")];
  const certificate = parseCertificate(certDer, "CA certificate");
  const chain = chainDers.map((der, i) => parseCertificate(der, `CA chain certificate "${i + 1}"`));
  const constrainedBy = [certificate, ...chain].flatMap((cert) => {
    const extension = cert.extensions.find((e) => e.type === OID_NAME_CONSTRAINTS);
    if (extension === undefined) return [];
    try {
      return [{ subject: cert.subject, constraints: parseNameConstraints(new Uint8Array(extension.value)) }];
    } catch (cause) {
      throw new CaError(`Certificate "${cert.subject}" has a malformed nameConstraints extension`, { cause });
    }
  });

  const basic = certificate.getExtension(x509.BasicConstraintsExtension);
  if (basic === null || !basic.ca) {
    throw new CaError(`Certificate "${certificate.subject}" is not a CA: basicConstraints CA:TRUE is missing`);
  }
  const usage = certificate.getExtension(x509.KeyUsagesExtension);
  if (usage !== null && (usage.usages & KEY_CERT_SIGN) === 0) {
    throw new CaError(`Certificate "${certificate.subject}" is not a CA: keyUsage lacks keyCertSign`);
  }
  const usageProblem = [certificate, ...chain]
    .map((cert, i) => serverAuthProblem(cert, i === 0 ? "CA certificate" : `CA chain certificate "${i}"`))
    .find((problem) => problem !== undefined);
  if (usageProblem !== undefined) throw new CaError(usageProblem);
  const at = now();
  if (at > certificate.notAfter.getTime()) {
    throw new CaError(`CA certificate "${certificate.subject}" expired on "${certificate.notAfter.toISOString()}"`);
  }
  if (at < certificate.notBefore.getTime()) {
    throw new CaError(`CA certificate "${certificate.subject}" is not valid before "${certificate.notBefore.toISOString()}"`);
  }

  let parts: ReturnType<typeof certificateParts>;
  let spkiInfo: ReturnType<typeof inspectSpki>;
  try {
    parts = certificateParts(certDer);
    spkiInfo = inspectSpki(parts.spki);
  } catch (cause) {
    throw new CaError("CA certificate is not a valid X.509 certificate", { cause });
  }
  const certKind = spkiInfo.kind;
  if (certKind.type === "unsupported") {
    throw new CaError(`CA key type "${certKind.description}" is not supported; use ECDSA P-256/P-384 or RSA`);
  }

  const keyDer = privateKeyDer(options.keyPem);
  let keyKind: KeyKind;
  try {
    keyKind = pkcs8KeyKind(keyDer);
  } catch {
    throw new CaError("CA private key is not a valid PKCS#8 key");
  }
  const certKeyText = describeKeyKind(certKind);
  if (describeKeyKind(keyKind) !== certKeyText) {
    throw new CaError(
      `CA private key type "${describeKeyKind(keyKind)}" does not match the certificate key type "${certKeyText}"`,
    );
  }

  const profile = signingProfile(certKind);
  let privateKey: CryptoKey;
  let publicKey: CryptoKey;
  try {
    privateKey = await crypto.subtle.importKey("pkcs8", keyDer, profile.importAlgorithm, false, ["sign"]);
  } catch {
    throw new CaError(`CA private key could not be imported as "${certKeyText}"`);
  }
  try {
    publicKey = await crypto.subtle.importKey("spki", parts.spki, profile.importAlgorithm, false, ["verify"]);
  } catch (cause) {
    throw new CaError(`CA certificate public key could not be imported as "${certKeyText}"`, { cause });
  }
  const challenge = crypto.getRandomValues(new Uint8Array(32));
  const proof = await crypto.subtle.sign(profile.signAlgorithm, privateKey, challenge);
  if (!(await crypto.subtle.verify(profile.signAlgorithm, publicKey, proof, challenge))) {
    throw new CaError("CA private key does not match the certificate's public key");
  }

  const pathProblem = await chainProblem(certificate, chain);
  if (pathProblem !== undefined) throw new CaError(pathProblem);

  const ski = certificate.getExtension(x509.SubjectKeyIdentifierExtension);
  const keyIdentifier = ski !== null
    ? hexToBytes(ski.keyId)
    : new Uint8Array(await crypto.subtle.digest("SHA-1", spkiInfo.publicKeyBits));

  const certPem = encodePem(certDer, "CERTIFICATE");
  const chainPem = chainDers.map((der) => encodePem(der, "CERTIFICATE")).join("");
  const selfIssued = bytesEqual(parts.issuer, parts.subject);
  return {
    certificate,
    certPem,
    chainPem,
    issuerChainPem: (selfIssued ? "" : certPem) + chainPem,
    notBefore: certificate.notBefore,
    notAfter: certificate.notAfter,
    subjectDer: parts.subject,
    keyIdentifier,
    keyDescription: certKeyText,
    nameConstrained: constrainedBy.length > 0,
    subjectConstrained: constrainedBy.some((c) => c.constraints.directoryNames),
    nameConstraintViolation: (name) => firstViolation(constrainedBy, name),
    signatureAlgorithmDer: profile.signatureAlgorithmDer,
    async signTbs(tbs: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
      const signature = new Uint8Array(await crypto.subtle.sign(profile.signAlgorithm, privateKey, tbs));
      return profile.ecdsa ? ecdsaSignatureToDer(signature) : signature;
    },
  };
}

function firstViolation(constrainedBy: readonly { subject: string; constraints: NameConstraints }[], name: SubjectName): string | undefined {
  for (const { subject, constraints } of constrainedBy) {
    const why = constraintViolation(constraints, name);
    if (why !== undefined) return `The name constraints of "${subject}" do not allow "${name.value}": ${why}`;
  }
  return undefined;
}

function bytesEqual(a: Uint8Array<ArrayBuffer>, b: Uint8Array<ArrayBuffer>): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function hexToBytes(hex: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}
