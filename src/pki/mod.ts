/**
 * The gateway's PKI for TLS interception: CA generation and loading, leaf minting, leaf cache.
 *
 * @example
 * ```ts
 * const { certPem, keyPem } = await generateCa();
 * const ca = await loadCa({ certPem, keyPem });
 * const cache = createLeafCache(createLeafIssuer(ca));
 * const leaf = await cache.get("example.com");
 * ```
 *
 * @module
 */
export { CaError, type CertificateAuthority, loadCa, type LoadCaOptions } from "./ca.ts";
export { generateCa, type GenerateCaOptions, type GeneratedCa } from "./ca_generate.ts";
export {
  createLeafIssuer,
  type Leaf,
  type LeafIssuer,
  type LeafIssuerOptions,
  MAX_LEAF_NAMES,
  MAX_LEAF_VALIDITY_DAYS,
} from "./leaf_issuer.ts";
export {
  createLeafCache,
  type LeafCache,
  type LeafCacheOptions,
  type LeafCacheStats,
  type LeafSource,
  MAX_SANS_INPUT,
} from "./leaf_cache.ts";
export { decodePem, encodePem, type PemBlock } from "./pem.ts";
export { certificateNames, certificateSubject, subjectAltNames } from "./cert-names.ts";
export { certificateValidity } from "./cert-validity.ts";
