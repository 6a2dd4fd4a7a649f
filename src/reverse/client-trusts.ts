/**
 * The client-certificate CAs and CRLs of the HTTPS proxy and reverse listeners (`tls.clientCertificates`),
 * read and checked before a generation is built (verifying a CRL's signature is async, a
 * generation is built at once).
 * @module
 */
import type { ClientCertificatePolicy } from "../auth/certificate-sign-in.ts";
import type { Config } from "../config/config.ts";
import { type ClientCertificateTrust, loadClientCertificateTrust } from "../pki/client-cert-trust.ts";
import type { ClientCertificatesConfig } from "./config-types.ts";
import type { CertificateExpiry, ClientCrlUpdate } from "../metrics/gateway-metrics.ts";
import { certificateValidity, decodePem } from "../pki/mod.ts";

/** Each HTTPS proxy or reverse listener's `clientCertificates` in force, by listener name. */
export type ClientTrusts = ReadonlyMap<string, LoadedClientTrust>;

/** A listener's policy, and the file contents it was made from (equal contents carry it over). */
export interface LoadedClientTrust {
  readonly policy: ClientCertificatePolicy;
  readonly key: string;
  /** When the first of its CA certificates expires (null: none could be read). */
  readonly caNotAfter: Date | null;
}

/**
 * Reads `caFile` and `crlFile` of every listener with `tls.clientCertificates` and
 * checks them. A listener whose files and settings are as in `previous` keeps what it had,
 * with its cache of verdicts. With `onError`, a listener whose files cannot be used is
 * reported there and gets a policy that refuses every certificate, and the others are loaded
 * on (what `config check` wants: every problem, and the rest of the listener checked).
 *
 * @throws {Error} naming the listener, the setting and the file when one cannot be read or used
 */
export async function loadClientTrusts(
  config: Config,
  readText: (path: string) => string,
  previous?: ClientTrusts,
  onError?: (e: Error) => void,
): Promise<Map<string, LoadedClientTrust>> {
  const out = new Map<string, LoadedClientTrust>();
  for (const l of config.listeners) {
    const c = listenerClientCertificates(l);
    if (!c) continue;
    try {
      out.set(l.name, await loadOne(l.name, c, readText, previous?.get(l.name)));
    } catch (e) {
      if (!onError || !(e instanceof Error)) throw e;
      onError(e);
      out.set(l.name, { policy: { trust: refusing(e.message), required: true, user: c.user, forwardCertificate: false }, key: "", caNotAfter: null });
    }
  }
  return out;
}

/** One listener's settings loaded, or `old` when its files and settings are the same. */
async function loadOne(name: string, c: ClientCertificatesConfig, readText: (path: string) => string, old: LoadedClientTrust | undefined): Promise<LoadedClientTrust> {
  const where = `listeners "${name}" tls.clientCertificates`;
  const read = (field: string, path: string): string => {
    try {
      return readText(path);
    } catch (e) {
      throw new Error(`cannot read ${where}.${field} "${path}": ${(e as { code?: string }).code ?? String(e)}`);
    }
  };
  const caPem = read("caFile", c.caFile);
  const crlPem = c.crlFile === undefined ? undefined : read("crlFile", c.crlFile);
  const key = JSON.stringify([c.required, c.user, c.forwardCertificate, caPem, crlPem ?? null]);
  if (old && old.key === key) return old;
  try {
    const trust = await loadClientCertificateTrust({
      caPem,
      ...(crlPem === undefined ? {} : { crlPem }),
      source: c.crlFile === undefined ? `"${c.caFile}"` : `"${c.caFile}" and "${c.crlFile}"`,
    });
    return { policy: { trust, required: c.required, user: c.user, forwardCertificate: c.forwardCertificate }, key, caNotAfter: earliestNotAfter(trust.caPem) };
  } catch (e) {
    throw new Error(`${where}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** A listener's `tls.clientCertificates`: HTTPS proxy and reverse listeners may have them. */
export function listenerClientCertificates(l: Config["listeners"][number]): ClientCertificatesConfig | undefined {
  return l.mode === "explicit" || l.mode === "reverse" ? l.tls?.clientCertificates ?? undefined : undefined;
}

/** Trust that refuses every certificate, saying why. */
function refusing(reason: string): ClientCertificateTrust {
  return { caPem: [], crlNextUpdate: null, verify: () => Promise.resolve({ ok: false, reason }) };
}

/** The earliest end of the certificates in `pems`. */
function earliestNotAfter(pems: readonly string[]): Date | null {
  let first: Date | null = null;
  for (const pem of pems) {
    const der = decodePem(pem).find((b) => b.label === "CERTIFICATE")?.der;
    if (!der) continue;
    const { notAfter } = certificateValidity(der);
    if (!first || notAfter < first) first = notAfter;
  }
  return first;
}

/**
 * What the metrics show of the client-certificate settings in force, per listener: the first
 * CA certificate of `caFile` to expire (`tollgate_certificate_not_after_timestamp_seconds`,
 * `use="client-ca"`), and when the CRLs of `crlFile` must be replaced (their earliest
 * `nextUpdate`).
 */
export function clientTrustExpiry(config: Config, trusts: ClientTrusts): { readonly cas: CertificateExpiry[]; readonly crls: ClientCrlUpdate[] } {
  const cas: CertificateExpiry[] = [];
  const crls: ClientCrlUpdate[] = [];
  for (const l of config.listeners) {
    const c = listenerClientCertificates(l);
    const loaded = trusts.get(l.name);
    if (!c || !loaded) continue;
    if (loaded.caNotAfter) cas.push({ use: "client-ca", listener: l.name, file: c.caFile, notAfter: loaded.caNotAfter });
    const nextUpdate = loaded.policy.trust.crlNextUpdate;
    if (nextUpdate && c.crlFile !== undefined) crls.push({ listener: l.name, file: c.crlFile, nextUpdate });
  }
  return { cas, crls };
}
