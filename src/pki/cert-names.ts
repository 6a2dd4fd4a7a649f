import { x509 } from "./_x509.ts";

/**
 * The DNS names and IP addresses in a certificate's subjectAltName (DER in), e.g. to mirror
 * an upstream certificate's names into a minted leaf. Unparseable input gives [].
 *
 * @example
 * ```ts
 * const names = await certificateNames(peerDer); // ["example.com", "www.example.com"]
 * ```
 */
export function certificateNames(der: Uint8Array): Promise<string[]> {
  try {
    const cert = new x509.X509Certificate(der as Uint8Array<ArrayBuffer>);
    const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
    if (!san) return Promise.resolve([]);
    const names = san.names.items.filter((n) => n.type === "dns" || n.type === "ip").map((n) => n.value.toLowerCase());
    return Promise.resolve([...new Set(names)]);
  } catch {
    return Promise.resolve([]);
  }
}
