/**
 * Config schema sections for TLS interception: the CA files (`ca`) and the interception
 * settings (`interception`).
 * @module
 */
import * as v from "valibot";
import { MAX_LEAF_VALIDITY_DAYS } from "../pki/leaf_issuer.ts";
import { boolean, expected, filePath, integer, isPlainObject, object } from "./schema-kit.ts";

/**
 * `"ca": {"cert": "…", "key": "…", "chain"?: "…"}`: PEM file paths, read at start-up.
 * `cert` and `key` must be different files (the key file holds only the PKCS#8 key).
 */
export const caSchema = v.pipe(
  object({ cert: filePath, key: filePath, chain: v.optional(filePath) }),
  v.rawCheck(({ dataset, addIssue }) => {
    const ca: unknown = dataset.value;
    if (!isPlainObject(ca) || typeof ca["key"] !== "string" || ca["key"] !== ca["cert"]) return;
    addIssue({
      message: `expected a file other than "cert" (the key belongs in its own PKCS#8 file), got ${JSON.stringify(ca["key"])}`,
      path: [{ type: "object", origin: "value", input: ca, key: "key", value: ca["key"] }],
    });
  }),
);

const tlsVersion = v.picklist(["TLSv1.2", "TLSv1.3"], expected('"TLSv1.2" or "TLSv1.3"'));

/** Oldest TLS versions accepted from clients and offered to upstream servers. */
const minTlsVersionSchema = object({
  client: v.optional(tlsVersion, "TLSv1.2"),
  upstream: v.optional(tlsVersion, "TLSv1.2"),
});

/** Idle upstream connections of decrypted sessions kept for reuse; `maxIdle: 0` keeps none. */
const upstreamPoolSchema = object({
  maxIdle: v.optional(integer(0, 100_000), 256),
  maxIdlePerHost: v.optional(integer(1, 1_000), 32),
  idleTimeoutMs: v.optional(integer(100, 600_000), 4_000),
});

/** `"interception": {…}`: how decrypting rules mint leaves and talk to upstream servers. */
export const interceptionSchema = object({
  /** Validity of minted leaf certificates. */
  leafValidityDays: v.optional(integer(1, MAX_LEAF_VALIDITY_DAYS), 7),
  /** Copy the upstream certificate's subject alternative names into the leaf. */
  mirrorUpstreamSans: v.optional(boolean, false),
  /** Extra trusted CA PEM files for validating upstream servers (on top of the system roots). */
  upstreamCaFiles: v.optional(v.array(filePath, expected("an array of file paths")), []),
  minTlsVersion: v.optional(minTlsVersionSchema, {}),
  /** Most leaf certificates kept in memory. */
  leafCacheSize: v.optional(integer(1, 1_000_000), 10_000),
  upstreamPool: v.optional(upstreamPoolSchema, {}),
});
