/**
 * Generating a fresh interception CA (`tollgate ca init`).
 *
 * @module
 */
import { commonNameDer, sequence, tlv } from "./_der.ts";
import { parseSubjectName } from "./_names.ts";
import { x509 } from "./_x509.ts";
import { encodePem } from "./pem.ts";
import { randomSerialHex } from "./serial.ts";

/** Options of {@linkcode generateCa}. */
export interface GenerateCaOptions {
  /** Key type. Default `"ecdsa-p256"` (fast, small); `"rsa-3072"` for old clients. */
  readonly keyAlgorithm?: "ecdsa-p256" | "rsa-3072";
  /** Subject common name. Default `"Tollgate Interception CA <8 hex chars of the SKI>"`. */
  readonly commonName?: string;
  /** Validity in days from now (notBefore is backdated one hour). Default 3650. */
  readonly validityDays?: number;
  /**
   * DNS name constraints (RFC 5280 §4.2.1.10), marked critical: a leaf for a name outside
   * `permitted`, or inside `excluded`, is rejected by clients. `"example.com"` covers the name and
   * all its subdomains, `".example.com"` only the subdomains.
   */
  readonly nameConstraints?: { readonly permitted?: readonly string[]; readonly excluded?: readonly string[] };
  /** Clock in ms since the epoch. Default `Date.now`. */
  readonly now?: () => number;
}

/** A generated CA: certificate and unencrypted PKCS#8 private key, both PEM ending with a newline. */
export interface GeneratedCa {
  readonly certPem: string;
  readonly keyPem: string;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const MAX_VALIDITY_DAYS = 36_500;

const KEY_PARAMS = {
  "ecdsa-p256": { name: "ECDSA", namedCurve: "P-256" },
  "rsa-3072": {
    name: "RSASSA-PKCS1-v1_5",
    modulusLength: 3072,
    publicExponent: Uint8Array.of(1, 0, 1),
    hash: "SHA-256",
  },
} as const;

const encoder = new TextEncoder();

/** DER value of a NameConstraints extension with DNS subtrees. */
function nameConstraintsValue(permitted: readonly string[], excluded: readonly string[]): Uint8Array<ArrayBuffer> {
  const subtrees = (tag: number, names: readonly string[]): Uint8Array<ArrayBuffer>[] => {
    if (names.length === 0) return [];
    const items = names.map((name) => {
      const bare = name.startsWith(".") ? name.slice(1) : name;
      const parsed = parseSubjectName(bare);
      if (parsed.kind !== "dns" || parsed.value.startsWith("*")) {
        throw new TypeError(`Invalid DNS name constraint "${name}"`);
      }
      const value = name.startsWith(".") ? `.${parsed.value}` : parsed.value;
      return sequence(tlv(0x82, encoder.encode(value)));
    });
    return [tlv(tag, ...items)];
  };
  const parts = [...subtrees(0xa0, permitted), ...subtrees(0xa1, excluded)];
  if (parts.length === 0) throw new TypeError("Name constraints need at least one permitted or excluded name");
  return sequence(...parts);
}

/**
 * Generates a self-signed interception CA: `basicConstraints CA:TRUE, pathlen:0` and
 * `keyUsage keyCertSign, cRLSign` (both critical), SKI and AKI, a random positive serial,
 * notBefore backdated one hour.
 *
 * @example
 * ```ts
 * const { certPem, keyPem } = await generateCa();
 * const ca = await loadCa({ certPem, keyPem });
 * ```
 */
export async function generateCa(options: GenerateCaOptions = {}): Promise<GeneratedCa> {
  const keyAlgorithm = options.keyAlgorithm ?? "ecdsa-p256";
  const params = KEY_PARAMS[keyAlgorithm];
  if (params === undefined) throw new TypeError(`Unsupported CA key algorithm "${String(keyAlgorithm)}"`);
  const validityDays = options.validityDays ?? 3650;
  if (!Number.isInteger(validityDays) || validityDays < 1 || validityDays > MAX_VALIDITY_DAYS) {
    throw new RangeError(`CA validity must be an integer from 1 to ${MAX_VALIDITY_DAYS} days, got "${validityDays}"`);
  }
  const commonName = options.commonName;
  if (commonName !== undefined && (commonName.length === 0 || commonName.length > 64)) {
    throw new RangeError(`CA common name must be 1 to 64 characters, got "${commonName.length}"`);
  }
  const extensions: InstanceType<typeof x509.Extension>[] = [];
  const constraints = options.nameConstraints;
  if (constraints !== undefined) {
    const value = nameConstraintsValue(constraints.permitted ?? [], constraints.excluded ?? []);
    extensions.push(new x509.Extension("2.5.29.30", true, value));
  }

  const keys = await crypto.subtle.generateKey(params, true, ["sign", "verify"]) as CryptoKeyPair;
  const ski = await x509.SubjectKeyIdentifierExtension.create(keys.publicKey);
  const cn = commonName ?? `Tollgate Interception CA ${ski.keyId.slice(0, 8)}`;
  const now = (options.now ?? Date.now)();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialHex(),
    // A DER Name, not a string or JSON: @peculiar/x509 mangles a CN containing `,` or `"`.
    name: new x509.Name(commonNameDer(cn)),
    notBefore: new Date(now - HOUR_MS),
    notAfter: new Date(now + validityDays * DAY_MS),
    keys,
    signingAlgorithm: keyAlgorithm === "ecdsa-p256" ? { name: "ECDSA", hash: "SHA-256" } : params,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      ski,
      new x509.AuthorityKeyIdentifierExtension(ski.keyId),
      ...extensions,
    ],
  });
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  return { certPem: encodePem(new Uint8Array(cert.rawData), "CERTIFICATE"), keyPem: encodePem(pkcs8, "PRIVATE KEY") };
}
