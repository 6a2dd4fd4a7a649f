import { x509 } from "./_x509.ts";
import { parseSubjectName, type SubjectName } from "./_names.ts";
import { MAX_SANS_INPUT } from "./leaf_cache.ts";

/**
 * The DNS names and IP addresses in a certificate's subjectAltName (DER in), lowercase and
 * without repeats. Unparseable input gives [].
 *
 * @example
 * ```ts
 * subjectAltNames(leafDer); // ["example.com", "www.example.com", "192.0.2.1"]
 * ```
 */
export function subjectAltNames(der: Uint8Array): string[] {
  try {
    const cert = new x509.X509Certificate(der as Uint8Array<ArrayBuffer>);
    const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
    if (!san) return [];
    return [...new Set(san.names.items.filter((n) => n.type === "dns" || n.type === "ip").map((n) => n.value.toLowerCase()))];
  } catch {
    return [];
  }
}

/**
 * {@link subjectAltNames} behind a promise, as far as a minted leaf can carry them: the shape
 * the interception context takes, to mirror an upstream certificate's names into a minted
 * leaf. A name the issuer would refuse (a label with a hyphen at an end, `010.1.2.3`) is
 * left out, as is one `allowed` says no to (one outside the CA's name constraints), and
 * names past {@link MAX_SANS_INPUT}: one odd name in a real certificate must not make its
 * host unmintable.
 *
 * @example
 * ```ts
 * const names = await certificateNames(peerDer); // ["example.com", "www.example.com"]
 * const mine = await certificateNames(peerDer, (n) => ca.nameConstraintViolation(n) === undefined);
 * ```
 */
export function certificateNames(der: Uint8Array, allowed: (name: SubjectName) => boolean = () => true): Promise<string[]> {
  const mintable = subjectAltNames(der).filter((name) => {
    try {
      return allowed(parseSubjectName(name));
    } catch {
      return false;
    }
  });
  return Promise.resolve(mintable.slice(0, MAX_SANS_INPUT));
}

/**
 * A certificate's subject as text (`CN=Corp Client CA, O=Corp`), for messages; "" when `der`
 * is not a certificate.
 */
export function certificateSubject(der: Uint8Array): string {
  try {
    return new x509.X509Certificate(der as Uint8Array<ArrayBuffer>).subject;
  } catch {
    return "";
  }
}
