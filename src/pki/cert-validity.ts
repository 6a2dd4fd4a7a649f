import { x509 } from "./_x509.ts";

/**
 * When a certificate (DER in) is valid: from `notBefore` to `notAfter`.
 *
 * @example
 * ```ts
 * certificateValidity(leafDer).notAfter; // 2027-01-31T12:00:00.000Z
 * ```
 * @throws {Error} when `der` is not an X.509 certificate
 */
export function certificateValidity(der: Uint8Array): { readonly notBefore: Date; readonly notAfter: Date } {
  const cert = new x509.X509Certificate(der as Uint8Array<ArrayBuffer>);
  return { notBefore: cert.notBefore, notAfter: cert.notAfter };
}
