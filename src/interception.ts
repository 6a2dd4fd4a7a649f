/**
 * The interception side of a gateway: the CA, the leaf issuer and its cache, the extra
 * upstream trust anchors and the upstream connection pool. Set up at start, and again by a
 * reload that changes `ca`, `interception` or the contents of their files: the parts whose
 * settings and files are unchanged carry over (the leaf key and the cached leaves, the idle
 * upstream connections), the rest is new; decrypted sessions already open keep what they had.
 * @module
 */
import type { CaConfig, Config, InterceptionConfig } from "./config/config.ts";
import type { InterceptionContext } from "./flows/context.ts";
import { UpstreamPool } from "./flows/upstream-pool.ts";
import type { UpstreamTlsInfo } from "./flows/upstream-tls.ts";
import type { GatewayMetrics } from "./metrics/gateway-metrics.ts";
import { readCaBundle, readSetting } from "./config/setting-file.ts";
import { certificateNames, type CertificateAuthority, createLeafCache, createLeafIssuer, type LeafCache, type LeafIssuer, loadCa } from "./pki/mod.ts";

/** The interception side of a gateway, as of one config (see the module doc). */
export interface Interception {
  /** What decrypting flows use. */
  readonly context: InterceptionContext;
  /** The CA certificate clients must trust (PEM). */
  readonly caCertPem: string;
  readonly caNotAfter: Date;
  /** Replaces the leaf key and drops the cached leaves. */
  rotateLeafKey(): Promise<void>;
  /**
   * Puts this one in force: the metrics read its cache and pool, and what the one it was
   * prepared from had and this one does not use is let go (an idle pool is closed).
   */
  commit(): void;
  /** Closes the idle upstream connections (shutdown). */
  close(): void;
}

/** The leaf side: one per CA and leaf settings. */
interface Leaves {
  readonly key: string;
  readonly ca: CertificateAuthority;
  readonly issuer: LeafIssuer;
  readonly cache: LeafCache;
  /** Cache hits and misses of the caches this one replaced (the counters never go down). */
  readonly before: { readonly hits: number; readonly misses: number };
}

/** The upstream side: one per trust and pool settings. */
interface Upstreams {
  readonly key: string;
  readonly extraCaPem: readonly string[];
  readonly pool: UpstreamPool<UpstreamTlsInfo> | undefined;
  /** Reuses counted by the pools this one replaced. */
  readonly reusedBefore: number;
}

/** An {@link Interception} with what the next reload compares. */
interface Built extends Interception {
  readonly leaves: Leaves;
  readonly upstreams: Upstreams;
}

/**
 * Loads the CA and builds what decrypting flows need: leaf cache, trust for upstreams, the
 * pool of idle upstream connections (`processes` share `maxIdle`). With `previous` (a
 * reload), the leaf side is kept when the CA files and leaf settings are unchanged, and the
 * upstream side when the extra CA files, the upstream TLS floor and the pool settings are;
 * nothing is in force until `commit`. The URL rules are the gateway's to add.
 *
 * @throws {Error} naming the setting and file when a file cannot be read; a `CaError` when the CA is not usable
 */
export async function startInterception(
  config: Config,
  caFiles: CaConfig,
  readText: (path: string) => string,
  metrics: GatewayMetrics,
  processes: number,
  previous?: Interception,
): Promise<Interception> {
  const old = previous as Built | undefined;
  const ic = config.interception;
  const caTexts = {
    cert: readSetting(readText, "ca.cert", caFiles.cert),
    key: readSetting(readText, "ca.key", caFiles.key),
    ...(caFiles.chain ? { chain: readSetting(readText, "ca.chain", caFiles.chain) } : {}),
  };
  const leavesKey = JSON.stringify([caTexts, ic.leafValidityDays, ic.leafCacheSize]);
  let leaves = old?.leaves;
  if (leaves?.key !== leavesKey) {
    const ca = await loadCa({ certPem: caTexts.cert, keyPem: caTexts.key, ...(caTexts.chain ? { chainPem: caTexts.chain } : {}) });
    const issuer = createLeafIssuer(ca, { validityDays: ic.leafValidityDays });
    const stats = old?.leaves.cache.stats();
    leaves = {
      key: leavesKey,
      ca,
      issuer,
      cache: createLeafCache(issuer, { maxEntries: ic.leafCacheSize }),
      before: { hits: (old?.leaves.before.hits ?? 0) + (stats?.hits ?? 0), misses: (old?.leaves.before.misses ?? 0) + (stats?.misses ?? 0) },
    };
  }
  const extraCaPem = upstreamCaPems(ic, readText);
  const upstreamsKey = JSON.stringify([extraCaPem, ic.minTlsVersion.upstream, ic.upstreamPool, processes]);
  let upstreams = old?.upstreams;
  if (upstreams?.key !== upstreamsKey) {
    const { maxIdle, maxIdlePerHost, idleTimeoutMs } = ic.upstreamPool;
    upstreams = {
      key: upstreamsKey,
      extraCaPem,
      pool: maxIdle > 0 ? new UpstreamPool<UpstreamTlsInfo>({ maxIdle: Math.max(1, Math.ceil(maxIdle / processes)), maxIdlePerKey: maxIdlePerHost, idleTimeoutMs }) : undefined,
      reusedBefore: (old?.upstreams.reusedBefore ?? 0) + (old?.upstreams.pool?.stats().reused ?? 0),
    };
  }
  const { ca, issuer, cache } = leaves;
  const { pool } = upstreams;
  const context: InterceptionContext = {
    leaf: async (host: string, sans?: readonly string[]) => {
      // a get that minted (the cache's mint count moved) is a mint-latency sample
      const before = cache.stats().mintCount;
      const started = performance.now();
      const leaf = await cache.get(host, sans);
      if (cache.stats().mintCount !== before) metrics.certMintSeconds.observe((performance.now() - started) / 1000);
      return leaf;
    },
    extraCaPem: upstreams.extraCaPem,
    clientMinVersion: ic.minTlsVersion.client,
    upstreamMinVersion: ic.minTlsVersion.upstream,
    mirrorUpstreamSans: ic.mirrorUpstreamSans,
    // names the CA may not certify are left out: one would make clients reject the leaf
    certificateNames: (der) => certificateNames(der, (name) => ca.nameConstraintViolation(name) === undefined),
    ...(pool ? { upstreamPool: pool } : {}),
  };
  const built: Built = {
    leaves,
    upstreams,
    context,
    caCertPem: ca.certPem,
    caNotAfter: ca.notAfter,
    // a new leaf key makes every cached leaf stale: drop them so the next handshakes re-mint
    rotateLeafKey: async () => {
      await issuer.rotateKey();
      cache.clear();
    },
    commit() {
      const { before } = leaves;
      metrics.setCertCacheSource(() => {
        const s = cache.stats();
        return { size: s.size, hits: before.hits + s.hits, misses: before.misses + s.misses };
      });
      const { reusedBefore } = upstreams;
      metrics.setUpstreamPoolSource(pool ? () => ({ idle: pool.stats().idle, reused: reusedBefore + pool.stats().reused }) : undefined);
      if (old && old.upstreams.pool !== pool) old.upstreams.pool?.close();
    },
    close: () => pool?.close(),
  };
  return built;
}

/** The PEM text of every `interception.upstreamCaFiles` file. @throws {Error} naming a file that cannot be read or holds no certificate */
function upstreamCaPems(ic: Pick<InterceptionConfig, "upstreamCaFiles">, readText: (path: string) => string): string[] {
  return ic.upstreamCaFiles.map((f) => readCaBundle(readText, "interception.upstreamCaFiles", f));
}

