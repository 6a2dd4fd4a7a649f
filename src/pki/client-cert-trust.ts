/**
 * Client certificates (mutual TLS on the gateway's HTTPS proxy listeners): loading the CAs
 * and CRLs a listener trusts, and verifying the chain a client presents against them.
 * Web standards only (WebCrypto through `@peculiar/x509`), so it runs the same on Bun and Deno.
 *
 * @module
 */
import type { ParseOptions, X509Certificate } from "@peculiar/x509";
import { x509 } from "./_x509.ts";
import {
  caProblem,
  type Crl,
  describeClientCertificate,
  extensionProblem,
  findPaths,
  hex,
  leafProblem,
  pathCertificatesProblem,
  quote,
  readCertificate,
  revocationProblem,
  sameBytes,
  serialHex,
} from "./client-cert-path.ts";
import { decodePem, encodePem, type PemBlock } from "./pem.ts";

/** Input of {@linkcode loadClientCertificateTrust}. */
export interface ClientCertificateTrustOptions {
  /** PEM text with one or more CA certificates; each is a trust anchor. */
  readonly caPem: string;
  /** PEM text with zero or more X.509 CRLs ("-----BEGIN X509 CRL-----"). */
  readonly crlPem?: string;
  /** Where the PEM came from, for messages (e.g. the file paths). */
  readonly source?: string;
}

/** A CA or CRL file that cannot be used; message says which file and why. */
export class ClientCertificateTrustError extends Error {
  override name = "ClientCertificateTrustError";
}

/** The CAs (and CRLs) client certificates are verified against. */
export interface ClientCertificateTrust {
  /** The anchors as PEM, one per certificate (sent as acceptable CA names in the TLS CertificateRequest). */
  readonly caPem: readonly string[];
  /** The earliest nextUpdate of the CRLs (null without CRLs or when none has nextUpdate). */
  readonly crlNextUpdate: Date | null;
  /**
   * Verifies the chain a client presented: leaf first, then whatever else it sent (possibly
   * including anchors, possibly in any order, possibly unrelated certificates). An array passed
   * must keep its bytes: a lone certificate's array is remembered, for the next call with it.
   */
  verify(chainDer: readonly Uint8Array[]): Promise<ClientCertificateVerdict>;
}

/** What {@linkcode ClientCertificateTrust.verify} concludes; a refusal says why. */
export type ClientCertificateVerdict =
  | { readonly ok: true; readonly certificate: VerifiedClientCertificate }
  | { readonly ok: false; readonly reason: string };

/** The facts of a verified client certificate that name its holder. */
export interface VerifiedClientCertificate {
  /** RFC 4514-ish string as `@peculiar/x509` prints it, e.g. `"CN=alice, O=Example"`. */
  readonly subject: string;
  readonly issuer: string;
  /** Lower-case hex, no leading zero bytes. */
  readonly serial: string;
  /** Lower-case hex SHA-256 of the leaf DER. */
  readonly sha256: string;
  readonly notAfter: Date;
  /** The leaf subject's (last) CN. */
  readonly commonName: string | null;
  /** SAN rfc822Name values, then subject emailAddress values, each once. */
  readonly emails: readonly string[];
  /** SAN otherName Microsoft UPN (1.3.6.1.4.1.311.20.2.3) values. */
  readonly upns: readonly string[];
}

/** Largest CA or CRL PEM text accepted (16 MiB). */
export const MAX_TRUST_PEM_LENGTH = 16 * 1024 * 1024;
/** Most CA certificates in one CA file. */
export const MAX_ANCHORS = 100;
/** Most entries in one CRL. */
export const MAX_CRL_ENTRIES = 1_000_000;
/** Most certificates of a presented chain that are looked at (the leaf included). */
export const MAX_PRESENTED = 10;
/** Most cached verdicts; the oldest goes first. */
export const VERDICT_CACHE_SIZE = 1024;
/** Longest a verdict is reused, in ms. */
export const VERDICT_TTL_MS = 60_000;

const KEY_CRL_SIGN = 64;
/** CRL extensions that change what a CRL covers (delta, partitioned, indirect CRLs). */
const DELTA_CRL_INDICATOR = "2.5.29.27";
const ISSUING_DISTRIBUTION_POINT = "2.5.29.28";

const ordinal = (i: number, n: number): string => (n === 1 ? "" : ` ${i + 1} of ${n}`);

/**
 * The DER of every PEM block in `text`, each labelled `label`. Text between blocks (comments,
 * `subject=` lines) is ignored. Up to 16 MiB: `decodePem`'s default cap fits certificates and
 * keys, not a large CRL.
 */
function pemBlocks(text: string, label: string, what: string, fail: (m: string) => never): Uint8Array<ArrayBuffer>[] {
  if (text.length > MAX_TRUST_PEM_LENGTH) fail(`the ${what} file is larger than ${MAX_TRUST_PEM_LENGTH / 1024 / 1024} MiB`);
  let blocks: PemBlock[];
  try {
    blocks = decodePem(text, MAX_TRUST_PEM_LENGTH);
  } catch (e) {
    fail(`the ${what} file is not valid PEM: ${e instanceof Error ? e.message : String(e)}`);
  }
  for (const [i, b] of blocks.entries()) {
    if (b.label !== label) fail(`PEM block ${i + 1} of the ${what} file is a "${b.label}", expected "${label}"`);
  }
  // A block cut short (no END line) would otherwise be skipped without a word.
  if (text.split("-----BEGIN ").length - 1 !== blocks.length) fail(`the ${what} file has an incomplete or malformed PEM block`);
  return blocks.map((b) => b.der);
}

/** Loads the CRLs of `crlPem`, one per anchor at most (the latest), keyed by the anchor. */
async function loadCrls(crlPem: string, anchors: readonly X509Certificate[], fail: (m: string) => never): Promise<Map<X509Certificate, Crl>> {
  const byAnchor = new Map<X509Certificate, Crl>();
  const ders = pemBlocks(crlPem, "X509 CRL", "CRL", fail);
  for (const [i, der] of ders.entries()) {
    const which = `CRL${ordinal(i, ders.length)}`;
    let crl: InstanceType<typeof x509.X509Crl>;
    try {
      // A CRL is a long list: lift asn1js's default cap of 10,000 nodes (the text size bounds it).
      const options: ParseOptions = { berOptions: { maxNodes: der.length, maxContentLength: der.length } };
      crl = new x509.X509Crl(der, options);
      void [crl.issuer, crl.thisUpdate, crl.nextUpdate, crl.extensions];
    } catch (cause) {
      fail(`${which} is not a valid X.509 CRL (${cause instanceof Error ? cause.message : String(cause)})`);
    }
    const from = `${which} (from ${quote(crl.issuer)})`;
    for (const ext of crl.extensions) {
      if (ext.type === DELTA_CRL_INDICATOR) fail(`${from} is a delta CRL, which is not supported`);
      // a distribution point in it makes the CRL one partition of its issuer's list: which
      // certificates it covers would have to be matched with theirs, so it is refused rather
      // than taken as the whole list (passing what another partition revoked)
      if (ext.type === ISSUING_DISTRIBUTION_POINT) {
        fail(`${from} covers only part of its issuer's certificates (issuingDistributionPoint), which is not supported: give the CA's full CRL`);
      }
      if (ext.critical && ext.type !== ISSUING_DISTRIBUTION_POINT) fail(`${from} has an unknown critical extension ${ext.type}`);
    }
    const named = anchors.filter((a) => a.subject === crl.issuer);
    if (named.length === 0) fail(`${from} is not from one of the CA certificates`);
    const signers: X509Certificate[] = [];
    for (const anchor of named) {
      // Verify with the PublicKey, not the certificate: given a certificate, the library takes
      // the hash from the certificate's own signature algorithm instead of the CRL's.
      if (await crl.verify({ publicKey: anchor.publicKey }).catch(() => false)) signers.push(anchor);
    }
    if (signers.length === 0) fail(`${from}: its signature does not verify with the CA's key`);
    const entries = crl.entries;
    if (entries.length > MAX_CRL_ENTRIES) fail(`${from} has more than ${MAX_CRL_ENTRIES} entries`);
    const revoked = new Map<string, Date>();
    for (const entry of entries) {
      const critical = entry.extensions.find((e) => e.critical);
      if (critical !== undefined) fail(`${from} has an entry with an unknown critical extension ${critical.type}`);
      revoked.set(serialHex(entry.serialNumber), entry.revocationDate);
    }
    const loaded: Crl = { issuer: crl.issuer, thisUpdate: crl.thisUpdate, nextUpdate: crl.nextUpdate ?? null, revoked };
    for (const anchor of signers) {
      const usage = anchor.getExtension(x509.KeyUsagesExtension);
      if (usage !== null && (usage.usages & KEY_CRL_SIGN) === 0) fail(`${from}: the CA's keyUsage lacks cRLSign`);
      // partitioned CRLs are refused above, so two of one issuer are versions of its whole list
      const kept = byAnchor.get(anchor);
      if (kept === undefined || kept.thisUpdate < loaded.thisUpdate) byAnchor.set(anchor, loaded);
    }
  }
  return byAnchor;
}

/**
 * Reads and checks a listener's client-certificate CAs and CRLs. Throws
 * {@linkcode ClientCertificateTrustError} (naming `source`) when a CA certificate is not a CA
 * (or one it could never verify against), all of them have expired, a CRL is not from one of
 * the CAs or does not verify, or a CRL file holds no CRL. A CRL past its
 * nextUpdate still loads: certificates it covers are refused until it is replaced.
 *
 * @example
 * ```ts
 * const trust = await loadClientCertificateTrust({ caPem, crlPem, source: '"ca.pem"' });
 * const verdict = await trust.verify([leafDer, intermediateDer]);
 * if (verdict.ok) console.log(verdict.certificate.commonName);
 * ```
 */
export async function loadClientCertificateTrust(
  options: ClientCertificateTrustOptions,
  now: () => number = Date.now,
): Promise<ClientCertificateTrust> {
  const source = options.source ?? "client certificate CAs";
  const fail: (message: string) => never = (message) => {
    throw new ClientCertificateTrustError(`${source}: ${message}`);
  };
  const anchorDers = pemBlocks(options.caPem, "CERTIFICATE", "CA", fail)
    .filter((der, i, all) => all.findIndex((other) => sameBytes(other, der)) === i);
  if (anchorDers.length === 0) fail("the CA file has no certificate");
  if (anchorDers.length > MAX_ANCHORS) fail(`the CA file has more than ${MAX_ANCHORS} certificates`);
  const at = now();
  const anchors = anchorDers.map((der, i) => {
    const which = `CA certificate${ordinal(i, anchorDers.length)}`;
    let cert: X509Certificate;
    try {
      cert = readCertificate(der);
    } catch (cause) {
      return fail(`${which} is not a valid X.509 certificate (${cause instanceof Error ? cause.message : String(cause)})`);
    }
    // an expired CA in the file (a leftover in a bundle) is no reason to refuse the others:
    // certificates from it are refused, and `config check` and the metrics show it
    const problem = caProblem(cert) ?? extensionProblem(cert, true);
    if (problem !== null) fail(`${which}: ${problem}`);
    return cert;
  });
  if (anchors.every((a) => at > a.notAfter.getTime())) fail(`every CA certificate of the file has expired (the last at ${new Date(Math.max(...anchors.map((a) => a.notAfter.getTime()))).toISOString()})`);
  const crls = options.crlPem === undefined ? new Map<X509Certificate, Crl>() : await loadCrls(options.crlPem, anchors, fail);
  // a CRL file that yields no CRL (DER, or emptied by a failed refresh) must not turn revocation off
  if (options.crlPem !== undefined && crls.size === 0) fail("the CRL file holds no PEM CRL (convert a DER one: openssl crl -inform DER -in ca.crl -out ca.crl.pem)");
  const nextUpdates = [...crls.values()].flatMap((c) => (c.nextUpdate === null ? [] : [c.nextUpdate.getTime()]));
  const crlNextUpdate = nextUpdates.length === 0 ? null : new Date(Math.min(...nextUpdates));
  // Each loaded CRL belongs to at least one anchor, so an empty map means no CRL at all.
  const checkRevocation = crls.size > 0;

  const cache = new Map<string, { readonly verdict: Promise<ClientCertificateVerdict>; until: number }>();
  // A connection's requests present the very same certificate array: its key is kept with it,
  // so they skip hashing it (the array is the caller's copy, never changed after the handshake).
  const keys = new WeakMap<Uint8Array, string>();
  const verify = async (chain: readonly Uint8Array[]): Promise<ClientCertificateVerdict> => {
    const ders = chain.slice(0, MAX_PRESENTED).map((der) => der.slice());
    if (ders.length === 0) return { ok: false, reason: "no client certificate" };
    const single = chain.length === 1 ? chain[0] : undefined;
    let key = single && keys.get(single);
    if (!key) {
      key = hex(await crypto.subtle.digest("SHA-256", lengthPrefixed(ders)));
      if (single) keys.set(single, key);
    }
    const t = now();
    const hit = cache.get(key);
    if (hit !== undefined && t < hit.until) return hit.verdict;
    cache.delete(key);
    if (cache.size >= VERDICT_CACHE_SIZE) cache.delete(cache.keys().next().value ?? "");
    let horizon = t + VERDICT_TTL_MS;
    // Only a time still ahead can end a verdict (an expired leaf stays expired).
    const until = (ms: number): void => {
      if (ms > t) horizon = Math.min(horizon, ms);
    };
    if (crlNextUpdate !== null) until(crlNextUpdate.getTime() + 1);
    const verdict = judge(ders, t, until).catch((e: unknown): ClientCertificateVerdict => ({
      ok: false,
      reason: `the client certificate cannot be verified: ${e instanceof Error ? e.message : String(e)}`,
    })).then((v) => {
      entry.until = horizon;
      return v;
    });
    // Until the verdict is in, concurrent calls share it; then it lasts as long as it holds.
    const entry = { verdict, until: t + VERDICT_TTL_MS };
    cache.set(key, entry);
    return verdict;
  };

  /** The verdict on a chain at `t`; `until` learns the times at which it could change. */
  const judge = async (ders: readonly Uint8Array<ArrayBuffer>[], t: number, until: (ms: number) => void): Promise<ClientCertificateVerdict> => {
    const [leafDer, ...rest] = ders;
    if (leafDer === undefined) return { ok: false, reason: "no client certificate" };
    let leaf: X509Certificate;
    try {
      leaf = readCertificate(leafDer);
    } catch (e) {
      return { ok: false, reason: `the client certificate cannot be read: ${e instanceof Error ? e.message : String(e)}` };
    }
    if (anchorDers.some((der) => sameBytes(der, leafDer))) {
      return { ok: false, reason: `certificate ${quote(leaf.subject)} is a trusted CA, not a client certificate` };
    }
    const problem = leafProblem(leaf);
    if (problem !== null) return { ok: false, reason: problem };
    // Presented copies of anchors, repeats and unreadable extras are left out: anchors are
    // used as configured, and an extra the client should not have sent is not an error.
    const presented: X509Certificate[] = [];
    const seen: Uint8Array[] = [leafDer, ...anchorDers];
    for (const der of rest) {
      if (seen.some((s) => sameBytes(s, der))) continue;
      seen.push(der);
      try {
        presented.push(readCertificate(der));
      } catch {
        // Unreadable: treated as not presented.
      }
    }
    const { paths, failure } = await findPaths(leaf, presented, anchors);
    let first: string | null = null;
    for (const path of paths) {
      const reason = pathProblem(path, t, until);
      if (reason === null) return { ok: true, certificate: await describeClientCertificate(leaf, leafDer) };
      first ??= reason;
    }
    return { ok: false, reason: first ?? failure ?? "no certificate path to a trusted CA" };
  };

  /** Why a complete path is not valid at `t` (times, extensions, revocation), or `null`. */
  const pathProblem = (path: readonly X509Certificate[], t: number, until: (ms: number) => void): string | null =>
    pathCertificatesProblem(path, t, until) ?? (checkRevocation ? revocationProblem(path, crls, t) : null);

  return { caPem: anchorDers.map((der) => encodePem(der, "CERTIFICATE")), crlNextUpdate, verify };
}

/** The chain as one buffer, each certificate behind its 4-byte length (a cache key that cannot be forged by regrouping bytes). */
function lengthPrefixed(ders: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(ders.reduce((n, d) => n + 4 + d.length, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const der of ders) {
    view.setUint32(at, der.length);
    out.set(der, at + 4);
    at += 4 + der.length;
  }
  return out;
}
