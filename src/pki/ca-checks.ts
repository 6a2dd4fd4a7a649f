/**
 * Checks on CA material that loads fine but whose leaves every strict client would reject:
 * an extendedKeyUsage without TLS server use, and a chain that does not lead from the CA up
 * to its root. Each returns what is wrong, for `loadCa` to throw.
 *
 * @module
 */
import type { X509Certificate } from "@peculiar/x509";
import { x509 } from "./_x509.ts";

const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const ANY_EXTENDED_KEY_USAGE = "2.5.29.37.0";

/**
 * Why `cert` (the CA, or a certificate of its chain: `what`) may not be on a TLS server's
 * path: OpenSSL, Go, Windows and Chrome apply a CA's extendedKeyUsage to the leaves under it,
 * so one without `serverAuth` makes each leaf "unsuitable". That includes one with
 * `anyExtendedKeyUsage` alone: OpenSSL (curl, Python, Node) requires `serverAuth` itself, as
 * RFC 5280 §4.2.1.12 lets it. `undefined` when it has no extendedKeyUsage or one with `serverAuth`.
 */
export function serverAuthProblem(cert: X509Certificate, what: string): string | undefined {
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  if (eku === null) return undefined;
  const usages = eku.usages.map(String);
  if (usages.includes(SERVER_AUTH)) return undefined;
  const any = usages.includes(ANY_EXTENDED_KEY_USAGE) ? " (anyExtendedKeyUsage is not enough for OpenSSL-based clients)" : "";
  return `${what} "${cert.subject}" has an extendedKeyUsage without serverAuth${any}: TLS clients would reject every leaf it signs`;
}

/**
 * Why `chain` (served after each leaf, after the CA when it is not self-issued) is not the
 * path from `certificate` up: each element must be a CA named as the issuer of the one before
 * it and whose key verifies that one's signature. A signature in an algorithm WebCrypto
 * cannot check is taken on trust (the name still has to match).
 */
export async function chainProblem(certificate: X509Certificate, chain: readonly X509Certificate[]): Promise<string | undefined> {
  let child = certificate;
  for (const [i, parent] of chain.entries()) {
    const what = `CA chain certificate "${i + 1}" ("${parent.subject}")`;
    const basic = parent.getExtension(x509.BasicConstraintsExtension);
    if (basic !== null && !basic.ca) return `${what} is not a CA`;
    if (canonicalName(parent.subject) !== canonicalName(child.issuer)) {
      return `${what} is not the issuer of "${child.subject}", which is "${child.issuer}": ca.chain must hold the CA's issuer, then that one's issuer, and so on`;
    }
    let signed: boolean | undefined;
    try {
      signed = await child.verify({ publicKey: parent.publicKey, signatureOnly: true });
    } catch {
      signed = undefined;
    }
    if (signed === false) return `${what} has the name but not the key that signed "${child.subject}"`;
    child = parent;
  }
  return undefined;
}

/** A distinguished name as text, compared as OpenSSL does: case and runs of spaces do not matter. */
function canonicalName(name: string): string {
  return name.toLowerCase().replace(/\s+/g, " ").trim();
}
