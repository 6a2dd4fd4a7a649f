/**
 * The interception side of a gateway, set up once at start: the CA, the leaf issuer and its
 * cache, the extra upstream trust anchors and the upstream connection pool.
 * @module
 */
import type { CaConfig, Config, InterceptionConfig } from "./config/config.ts";
import type { InterceptionContext } from "./flows/context.ts";
import { UpstreamPool } from "./flows/upstream-pool.ts";
import type { UpstreamTlsInfo } from "./flows/upstream-tls.ts";
import type { GatewayMetrics } from "./metrics/gateway-metrics.ts";
import { certificateNames, type CertificateAuthority, createLeafCache, createLeafIssuer, loadCa } from "./pki/mod.ts";

/**
 * Loads the CA and builds what decrypting flows need: leaf cache, trust for upstreams, the
 * pool of idle upstream connections (`processes` share `maxIdle`). The URL rules are the
 * gateway's to add (they change on reload).
 */
export async function startInterception(
  config: Config,
  caFiles: CaConfig,
  readText: (path: string) => string,
  metrics: GatewayMetrics,
  processes: number,
): Promise<{ context: InterceptionContext; caCertPem: string; caNotAfter: Date; rotateLeafKey: () => Promise<void> }> {
  const ca = await loadConfiguredCa(caFiles, readText);
  const ic = config.interception;
  const issuer = createLeafIssuer(ca, { validityDays: ic.leafValidityDays });
  const cache = createLeafCache(issuer, { maxEntries: ic.leafCacheSize });
  metrics.setCertCacheSource(() => cache.stats());
  const { maxIdle, maxIdlePerHost, idleTimeoutMs } = ic.upstreamPool;
  const pool = maxIdle > 0 ? new UpstreamPool<UpstreamTlsInfo>({ maxIdle: Math.max(1, Math.ceil(maxIdle / processes)), maxIdlePerKey: maxIdlePerHost, idleTimeoutMs }) : undefined;
  if (pool) metrics.setUpstreamPoolSource(() => pool.stats());
  const context = {
    leaf: async (host: string, sans?: readonly string[]) => {
      // a get that minted (the cache's mint count moved) is a mint-latency sample
      const before = cache.stats().mintCount;
      const started = performance.now();
      const leaf = await cache.get(host, sans);
      if (cache.stats().mintCount !== before) metrics.certMintSeconds.observe((performance.now() - started) / 1000);
      return leaf;
    },
    extraCaPem: upstreamCaPems(ic, readText),
    clientMinVersion: ic.minTlsVersion.client,
    upstreamMinVersion: ic.minTlsVersion.upstream,
    mirrorUpstreamSans: ic.mirrorUpstreamSans,
    certificateNames,
    ...(pool ? { upstreamPool: pool } : {}),
  };
  // a new leaf key makes every cached leaf stale: drop them so the next handshakes re-mint
  const rotateLeafKey = async () => {
    await issuer.rotateKey();
    cache.clear();
  };
  return { context, caCertPem: ca.certPem, caNotAfter: ca.notAfter, rotateLeafKey };
}

/**
 * The CA of the config's `ca` section, its files read and checked (a CA certificate, valid
 * now, with its private key).
 *
 * @throws {Error} naming the setting and file when a file cannot be read; a `CaError` when the CA is not usable
 */
export function loadConfiguredCa(caFiles: CaConfig, readText: (path: string) => string): Promise<CertificateAuthority> {
  return loadCa({
    certPem: readSetting(readText, "ca.cert", caFiles.cert),
    keyPem: readSetting(readText, "ca.key", caFiles.key),
    ...(caFiles.chain ? { chainPem: readSetting(readText, "ca.chain", caFiles.chain) } : {}),
  });
}

/** The PEM text of every `interception.upstreamCaFiles` file. @throws {Error} naming a file that cannot be read */
export function upstreamCaPems(ic: Pick<InterceptionConfig, "upstreamCaFiles">, readText: (path: string) => string): string[] {
  return ic.upstreamCaFiles.map((f) => readSetting(readText, "interception.upstreamCaFiles", f));
}

function readSetting(readText: (path: string) => string, what: string, path: string): string {
  try {
    return readText(path);
  } catch (e) {
    throw new Error(`cannot read ${what} "${path}": ${(e as { code?: string }).code ?? String(e)}`);
  }
}
