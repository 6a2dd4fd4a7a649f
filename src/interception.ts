/**
 * The interception side of a gateway, set up once at start: the CA, the leaf issuer and its
 * cache, the extra upstream trust anchors and the upstream connection pool.
 * @module
 */
import type { CaConfig, Config } from "./config/config.ts";
import type { InterceptionContext } from "./flows/context.ts";
import { UpstreamPool } from "./flows/upstream-pool.ts";
import type { UpstreamTlsInfo } from "./flows/upstream-tls.ts";
import type { GatewayMetrics } from "./metrics/gateway-metrics.ts";
import { certificateNames, createLeafCache, createLeafIssuer, loadCa } from "./pki/mod.ts";

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
): Promise<{ context: InterceptionContext; caCertPem: string; rotateLeafKey: () => Promise<void> }> {
  const read = (what: string, path: string) => {
    try {
      return readText(path);
    } catch (e) {
      throw new Error(`cannot read ${what} "${path}": ${(e as { code?: string }).code ?? String(e)}`);
    }
  };
  const ca = await loadCa({
    certPem: read("ca.cert", caFiles.cert),
    keyPem: read("ca.key", caFiles.key),
    ...(caFiles.chain ? { chainPem: read("ca.chain", caFiles.chain) } : {}),
  });
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
    extraCaPem: ic.upstreamCaFiles.map((f) => read("interception.upstreamCaFiles", f)),
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
  return { context, caCertPem: ca.certPem, rotateLeafKey };
}
