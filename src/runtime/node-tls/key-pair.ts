/**
 * Whether a private key belongs to a certificate, with `node:crypto` (Bun and Deno both
 * implement `X509Certificate.checkPrivateKey`): PKCS#8, SEC1 (`EC PRIVATE KEY`) and PKCS#1
 * (`RSA PRIVATE KEY`) keys; EC, RSA and Ed25519. Synchronous, so a config reload can check
 * its files before it swaps anything in.
 *
 * @example
 * ```ts
 * keyPairError(leafDer, keyPem); // undefined, or "the key does not belong to the certificate …"
 * ```
 * @module
 */
import { createPrivateKey, X509Certificate } from "node:crypto";

/** Why `keyPem` is not the private key of the certificate `certDer`; undefined when it is. */
export function keyPairError(certDer: Uint8Array, keyPem: string): string | undefined {
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (e) {
    return `the private key cannot be read (${e instanceof Error ? e.message : String(e)}); an encrypted key is not supported`;
  }
  let cert;
  try {
    cert = new X509Certificate(certDer);
  } catch (e) {
    return `the certificate cannot be read (${e instanceof Error ? e.message : String(e)})`;
  }
  return cert.checkPrivateKey(key) ? undefined : "the private key does not belong to the certificate (their public keys differ)";
}
