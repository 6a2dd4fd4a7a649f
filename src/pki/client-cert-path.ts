/**
 * The path side of client-certificate verification (see `client-cert-trust.ts`): which
 * presented certificates lead from a client's leaf to a trust anchor, what makes a certificate
 * unfit for its place in that path (validity, extensions, revocation), and the leaf's names.
 *
 * @module
 */
import type { X509Certificate } from "@peculiar/x509";
import { x509 } from "./_x509.ts";
import type { VerifiedClientCertificate } from "./client-cert-trust.ts";

/** Most intermediate CAs between a leaf and its anchor. */
export const MAX_INTERMEDIATES = 4;
/** Most complete paths one search returns (the caller tries them in order). */
const MAX_PATHS = 8;

const KEY_CERT_SIGN = 32;
const KEY_DIGITAL_SIGNATURE = 1;
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
const ANY_EXTENDED_KEY_USAGE = "2.5.29.37.0";
const EMAIL_ADDRESS = "1.2.840.113549.1.9.1";
const COMMON_NAME = "2.5.4.3";
const NAME_CONSTRAINTS = "2.5.29.30";
/** Extensions we understand (or that are informational), so they may be critical. */
const KNOWN_EXTENSIONS: ReadonlySet<string> = new Set([
  "2.5.29.19", // basicConstraints
  "2.5.29.15", // keyUsage
  "2.5.29.37", // extKeyUsage
  "2.5.29.17", // subjectAltName
  "2.5.29.14", // subjectKeyIdentifier
  "2.5.29.35", // authorityKeyIdentifier
  "2.5.29.32", // certificatePolicies (not enforced: we accept any policy)
  "2.5.29.31", // cRLDistributionPoints
  "1.3.6.1.5.5.7.1.1", // authorityInfoAccess
]);

/** A name as it goes into a reason: quoted like a JSON string. */
export const quote = (text: string): string => JSON.stringify(text);

/** Bytes as lower-case hex. */
export const hex = (bytes: ArrayBuffer | Uint8Array): string =>
  Array.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");

/** A serial as lower-case hex without leading zero bytes (the DER sign pad included). */
export const serialHex = (text: string): string => text.toLowerCase().replace(/^(00)+(?=..)/, "");

/** Whether two byte arrays hold the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Parses a certificate and touches its lazily decoded fields, so a malformed one throws here
 * rather than half-way through a check.
 *
 * @example
 * ```ts
 * const cert = readCertificate(der); // throws on anything that is not a readable certificate
 * ```
 */
export function readCertificate(der: Uint8Array): X509Certificate {
  const cert = new x509.X509Certificate(der as Uint8Array<ArrayBuffer>);
  void [cert.subject, cert.issuer, cert.serialNumber, cert.notBefore, cert.notAfter, cert.extensions, cert.publicKey];
  return cert;
}

/** Why `cert` cannot issue certificates (`null` when it can): cA true, keyCertSign if keyUsage. */
export function caProblem(cert: X509Certificate): string | null {
  const basic = cert.getExtension(x509.BasicConstraintsExtension);
  if (basic === null || !basic.ca) return `certificate ${quote(cert.subject)} is not a CA (basicConstraints cA is not true)`;
  const usage = cert.getExtension(x509.KeyUsagesExtension);
  if (usage !== null && (usage.usages & KEY_CERT_SIGN) === 0) {
    return `certificate ${quote(cert.subject)} is not a CA (keyUsage lacks keyCertSign)`;
  }
  return null;
}

/**
 * Why `cert`'s extensions make it unusable in a path (`null` when they do not): a repeated
 * extension, an unknown critical one, or, on a CA, name constraints, which are refused rather
 * than half-enforced.
 *
 * @example
 * ```ts
 * extensionProblem(intermediate, true); // 'CA "CN=Sub" has name constraints, which are not supported'
 * ```
 */
export function extensionProblem(cert: X509Certificate, isCa: boolean): string | null {
  const seen = new Set<string>();
  for (const ext of cert.extensions) {
    if (seen.has(ext.type)) return `certificate ${quote(cert.subject)} has extension ${ext.type} more than once`;
    seen.add(ext.type);
    if (isCa && ext.type === NAME_CONSTRAINTS) {
      return `CA ${quote(cert.subject)} has name constraints, which are not supported`;
    }
    if (ext.critical && !KNOWN_EXTENSIONS.has(ext.type)) {
      return `certificate ${quote(cert.subject)} has an unknown critical extension ${ext.type}`;
    }
  }
  return null;
}

/** Why `leaf` cannot be a client certificate whatever its path (`null` when it can). */
export function leafProblem(leaf: X509Certificate): string | null {
  const name = quote(leaf.subject);
  if (leaf.getExtension(x509.BasicConstraintsExtension)?.ca === true) {
    return `certificate ${name} is a CA certificate, not a client certificate`;
  }
  const usage = leaf.getExtension(x509.KeyUsagesExtension);
  if (usage !== null && (usage.usages & KEY_DIGITAL_SIGNATURE) === 0) {
    return `certificate ${name} is not for signing (keyUsage lacks digitalSignature)`;
  }
  const eku = leaf.getExtension(x509.ExtendedKeyUsageExtension);
  if (eku !== null && !eku.usages.some((u) => u === CLIENT_AUTH || u === ANY_EXTENDED_KEY_USAGE)) {
    return `certificate ${name} is not for client authentication (extKeyUsage lacks clientAuth)`;
  }
  return extensionProblem(leaf, false);
}

/**
 * Why a complete path is not usable at `t` (ms): a certificate outside its validity period, or
 * with extensions {@linkcode extensionProblem} refuses. `until` learns the times at which that
 * answer changes (each notAfter, a notBefore still ahead).
 *
 * @example
 * ```ts
 * pathCertificatesProblem([leaf, root], Date.now(), () => {}); // 'certificate "CN=alice" expired at ...'
 * ```
 */
export function pathCertificatesProblem(path: readonly X509Certificate[], t: number, until: (ms: number) => void): string | null {
  for (const [i, cert] of path.entries()) {
    until(cert.notAfter.getTime() + 1);
    if (t < cert.notBefore.getTime()) {
      until(cert.notBefore.getTime());
      return `certificate ${quote(cert.subject)} is not valid before ${cert.notBefore.toISOString()}`;
    }
    if (t > cert.notAfter.getTime()) return `certificate ${quote(cert.subject)} expired at ${cert.notAfter.toISOString()}`;
    const problem = extensionProblem(cert, i > 0);
    if (problem !== null) return problem;
  }
  return null;
}

/**
 * The names and facts of a verified leaf (`der` is its encoding).
 *
 * @example
 * ```ts
 * (await describeClientCertificate(leaf, der)).emails; // ["alice@example.com"]
 * ```
 */
export async function describeClientCertificate(leaf: X509Certificate, der: Uint8Array<ArrayBuffer>): Promise<VerifiedClientCertificate> {
  const names = leaf.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [];
  const emails = [...names.filter((n) => n.type === "email").map((n) => n.value), ...leaf.subjectName.getField(EMAIL_ADDRESS)];
  return {
    subject: leaf.subject,
    issuer: leaf.issuer,
    serial: serialHex(leaf.serialNumber),
    sha256: hex(await crypto.subtle.digest("SHA-256", der)),
    notAfter: leaf.notAfter,
    commonName: leaf.subjectName.getField(COMMON_NAME).at(-1) ?? null,
    emails: [...new Set(emails)],
    upns: names.filter((n) => n.type === "upn").map((n) => n.value),
  };
}

/** A CRL as verification uses it: revoked serials (see {@linkcode serialHex}) and when each was revoked. */
export interface Crl {
  readonly issuer: string;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | null;
  readonly revoked: ReadonlyMap<string, Date>;
}

/**
 * Why a complete path fails revocation checking at `t`, or `null`: each certificate but the
 * anchor needs a current CRL from its issuer (`crls` holds the anchors' CRLs) that does not list
 * it (a listed serial is revoked, whatever date its entry gives).
 *
 * @example
 * ```ts
 * revocationProblem([leaf, root], crls, Date.now()); // 'no CRL from "CN=Root"'
 * ```
 */
export function revocationProblem(
  path: readonly X509Certificate[],
  crls: ReadonlyMap<X509Certificate, Crl>,
  t: number,
): string | null {
  for (let i = 0; i + 1 < path.length; i++) {
    const cert = path[i];
    const issuer = path[i + 1];
    if (cert === undefined || issuer === undefined) continue;
    const crl = crls.get(issuer);
    if (crl === undefined) return `no CRL from ${quote(issuer.subject)}`;
    if (crl.nextUpdate !== null && t > crl.nextUpdate.getTime()) {
      return `the CRL from ${quote(crl.issuer)} expired at ${crl.nextUpdate.toISOString()}`;
    }
    const serial = serialHex(cert.serialNumber);
    const revokedAt = crl.revoked.get(serial);
    // listed is revoked, whatever date the entry gives (as OpenSSL has it)
    if (revokedAt !== undefined) return `certificate ${quote(cert.subject)} (serial ${serial}) was revoked at ${revokedAt.toISOString()}`;
  }
  return null;
}

/** Whether `child`'s signature verifies with `issuer`'s public key; never throws. */
async function signedBy(child: X509Certificate, issuer: X509Certificate): Promise<boolean> {
  try {
    return await child.verify({ publicKey: issuer.publicKey, signatureOnly: true });
  } catch {
    return false;
  }
}

/** Why a complete path breaks a CA's pathLenConstraint (`null` when none is broken). */
function pathLengthProblem(path: readonly X509Certificate[]): string | null {
  // The CA at index i has i - 1 intermediates below it (index 0 is the leaf). Self-issued
  // intermediates count too: stricter than RFC 5280, and such key-rollover paths are rare.
  for (let i = 1; i < path.length; i++) {
    const ca = path[i];
    const limit = ca?.getExtension(x509.BasicConstraintsExtension)?.pathLength;
    if (ca !== undefined && limit !== undefined && i - 1 > limit) {
      return `the certificate path exceeds the path length constraint (${limit}) of CA ${quote(ca.subject)}`;
    }
  }
  return null;
}

/** Result of {@linkcode findPaths}. */
export interface PathSearch {
  /** Complete paths, leaf first, each ending with an anchor (the configured object). */
  readonly paths: readonly (readonly X509Certificate[])[];
  /** Why the first branch that failed did (the reason to give when there is no path). */
  readonly failure: string | null;
}

/**
 * Every path (up to a few) from `leaf` to one of `anchors` through `presented` certificates:
 * each link matches by name (issuer DN = subject DN) and by signature. An anchor that signed a
 * certificate ends the path there (anchors are preferred); presented intermediates must be CAs,
 * at most {@linkcode MAX_INTERMEDIATES} of them, none twice, within every pathLenConstraint.
 *
 * @example
 * ```ts
 * const { paths, failure } = await findPaths(leaf, [intermediate], [root]);
 * paths[0]; // [leaf, intermediate, root]
 * ```
 */
export async function findPaths(
  leaf: X509Certificate,
  presented: readonly X509Certificate[],
  anchors: readonly X509Certificate[],
): Promise<PathSearch> {
  const paths: X509Certificate[][] = [];
  let failure: string | null = null;
  const fail = (reason: string): void => {
    failure ??= reason;
  };
  // Each (child, issuer) signature is checked once, however many branches meet it.
  const checked = new Map<X509Certificate, Map<X509Certificate, Promise<boolean>>>();
  const verified = (child: X509Certificate, issuer: X509Certificate): Promise<boolean> => {
    let byIssuer = checked.get(child);
    if (byIssuer === undefined) checked.set(child, byIssuer = new Map());
    let result = byIssuer.get(issuer);
    if (result === undefined) byIssuer.set(issuer, result = signedBy(child, issuer));
    return result;
  };
  const badSignature = (child: X509Certificate, issuer: X509Certificate): string =>
    `the signature of certificate ${quote(child.subject)} does not verify with the key of ${quote(issuer.subject)}`;

  const extend = async (path: X509Certificate[]): Promise<void> => {
    const child = path[path.length - 1];
    if (child === undefined || paths.length >= MAX_PATHS) return;
    let named = false;
    let anchored = false;
    for (const anchor of anchors) {
      if (anchor.subject !== child.issuer) continue;
      named = true;
      if (!(await verified(child, anchor))) {
        fail(badSignature(child, anchor));
        continue;
      }
      anchored = true;
      const complete = [...path, anchor];
      const problem = pathLengthProblem(complete);
      if (problem === null) paths.push(complete);
      else fail(problem);
    }
    if (anchored) return;
    for (const candidate of presented) {
      if (candidate.subject !== child.issuer || path.includes(candidate)) continue;
      named = true;
      if (!(await verified(child, candidate))) {
        fail(badSignature(child, candidate));
        continue;
      }
      const notCa = caProblem(candidate);
      if (notCa !== null) fail(notCa);
      else if (path.length > MAX_INTERMEDIATES) fail(`the certificate path has more than ${MAX_INTERMEDIATES} intermediate CAs`);
      else await extend([...path, candidate]);
    }
    if (!named) {
      fail(`certificate ${quote(child.subject)} is issued by ${quote(child.issuer)}, which is not a trusted CA and was not presented by the client`);
    }
  };
  await extend([leaf]);
  return { paths, failure: paths.length > 0 ? null : failure ?? "no certificate path to a trusted CA" };
}
