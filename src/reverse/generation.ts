/**
 * One generation of the reverse proxy's run-time state, built from a config: every
 * certificate, key and CA file it names is read (again), then the route table, the backend
 * pools with their health checkers, and each reverse listener's state.
 *
 * Start-up builds the first generation; a reload builds the next one and `service.ts` swaps
 * it in. A pool whose settings and files are unchanged is carried over as it is (the same
 * backend states, the same health checker), so a reload neither forgets which backends are
 * down or ejected nor restarts their checks. Building has no side effect: a checker of a new
 * pool only starts when the generation is put in force.
 * @module
 */
import type { Config } from "../config/config.ts";
import { certificateValidity, decodePem, subjectAltNames } from "../pki/mod.ts";
import { parseBackendUrl } from "./backend.ts";
import { CertificateStore, type ServedCertificate } from "./cert-store.ts";
import type { ErrorPagesConfig, PoolConfig, ReverseCertificateConfig, ReverseListenerConfig, ReverseTlsConfig } from "./config-types.ts";
import { backendName, type BackendTlsSettings, type DialDeps } from "./dial.ts";
import { TrustList } from "./forwarded.ts";
import { HealthChecker } from "./health.ts";
import { type IdleBackend, type PoolRuntime, type ReverseListenerState, type ReverseTlsState, type RouteLimiter, routeLimiters } from "./listener-state.ts";
import { UpstreamPool } from "../flows/upstream-pool.ts";
import { BackendPool } from "./pool.ts";
import { httpProbe } from "./probe.ts";
import { RouteTable } from "./routes.ts";
import { PassthroughTable } from "./passthrough.ts";
import type { ClientTrusts } from "./client-trusts.ts";
import { ReverseErrorPages } from "./error-pages.ts";
import { readCaBundle, readSetting } from "../config/setting-file.ts";

/**
 * A pool in force, its health checker, and what decides whether a reload may keep it. Its
 * idle connections (`runtime.idle`) go with it: closed when a reload drops the pool.
 */
export interface PoolEntry {
  readonly runtime: PoolRuntime;
  readonly checker: HealthChecker | undefined;
  /** The pool's settings and the contents of its files: an equal key carries the entry over. */
  readonly key: string;
}

/** The reverse proxy's state as of one config. */
export interface ReverseGeneration {
  /** By reverse listener name. */
  readonly states: ReadonlyMap<string, ReverseListenerState>;
  /** `httpsPort` by redirect-https listener name. */
  readonly redirects: ReadonlyMap<string, number>;
  /** The TLS of explicit listeners that are HTTPS proxies, by listener name. */
  readonly proxyTls: ReadonlyMap<string, ReverseTlsState>;
  readonly pools: ReadonlyMap<string, PoolEntry>;
  /** Routes' rate limiters, by route id. */
  readonly limiters: ReadonlyMap<string, RouteLimiter>;
}

/** What building needs besides the config. */
export interface BuildDeps extends DialDeps {
  /** Reads a file the config names (relative to the config file). */
  readonly readText: (path: string) => string;
  /** Operational messages (health changes), one line each. */
  readonly log: (line: string) => void;
  readonly credentials: ReverseListenerState["credentials"];
}

/** The ClientHello limits of the gateway's `limits` section (they apply to TLS reverse listeners). */
export interface BuildFixed {
  readonly maxClientHelloBytes: number;
  readonly maxClientHelloRecords: number;
}

/**
 * Builds the generation for `config`'s reverse and redirect-https listeners (and the TLS of
 * its HTTPS proxy listeners, whose certificates load and reload as reverse ones do); pools whose
 * settings are unchanged and routes' rate limiters are carried over from `previous`.
 * `clientTrusts`: the HTTPS proxy and reverse listeners' client-certificate settings, loaded before
 * (`loadClientTrusts`).
 *
 * @throws {Error} naming the setting and file when a file cannot be read or holds no usable certificate
 */
export function buildReverse(config: Config, deps: BuildDeps, fixed: BuildFixed, previous?: ReverseGeneration, clientTrusts: ClientTrusts = new Map()): ReverseGeneration {
  const states = new Map<string, ReverseListenerState>();
  const redirects = new Map<string, number>();
  const pools = new Map<string, PoolEntry>();
  const proxyTls = new Map<string, ReverseTlsState>();
  const running = config.listeners.filter((l): l is ReverseListenerConfig => l.mode === "reverse");
  for (const l of config.listeners) {
    if (l.mode === "redirect-https") redirects.set(l.name, l.httpsPort);
    if (l.mode !== "explicit" || !l.tls) continue;
    const clients = clientTrusts.get(l.name)?.policy;
    if (l.tls.clientCertificates && !clients) throw new Error(`listeners "${l.name}" tls.clientCertificates: not loaded`);
    proxyTls.set(l.name, { ...listenerTls(l.name, l.tls, deps, fixed), ...(clients ? { clientCertificates: clients } : {}) });
  }
  if (running.length === 0) return { states, redirects, proxyTls, pools, limiters: new Map() };
  const section = config.reverse ?? { pools: {}, routes: [], passthrough: [], errorPages: { detailsFor: [] } };
  const routes = new RouteTable(section.routes);
  const passthrough = new PassthroughTable(section.passthrough);
  const limiters = routeLimiters(section.routes, previous?.limiters);
  for (const [id, p] of Object.entries(section.pools)) {
    const entry = poolEntry(id, p, deps);
    const old = previous?.pools.get(id);
    pools.set(id, old && old.key === entry.key ? old : entry);
  }
  const poolRuntimes = new Map([...pools].map(([id, e]) => [id, e.runtime]));
  const tlsStates = running.map((c): ReverseTlsState | null => {
    const clients = clientTrusts.get(c.name)?.policy;
    if (c.tls?.clientCertificates && !clients) throw new Error(`listeners "${c.name}" tls.clientCertificates: not loaded`);
    return c.tls ? { ...listenerTls(c.name, c.tls, deps, fixed), ...(clients ? { clientCertificates: clients } : {}) } : null;
  });
  // after every other file: `config check` reads the template on its own too, and so still
  // hears of a bad certificate when the template is bad as well
  const errorPages = reverseErrorPages(section.errorPages, deps.readText);
  for (const [i, c] of running.entries()) {
    states.set(c.name, {
      tls: tlsStates[i] ?? null,
      trust: new TrustList(c.trustForwardedFrom),
      identityTrust: new TrustList(c.trustIdentityFrom),
      routes,
      passthrough,
      pools: poolRuntimes,
      limiters,
      errorPages,
      credentials: deps.credentials,
      log: deps.log,
    });
  }
  return { states, redirects, proxyTls, pools, limiters };
}

/** A listener's TLS as in force: its certificates (files read now) and the ClientHello limits. */
function listenerTls(name: string, tls: ReverseTlsConfig, deps: BuildDeps, fixed: BuildFixed): ReverseTlsState {
  const store = new CertificateStore(
    tls.certificates.map((cert, i) => loadCertificate(cert, `listeners "${name}" tls.certificates[${i}]`, deps)),
    tls.defaultCertificate,
    tls.unknownSni,
    tls.mint,
  );
  return { store, minVersion: tls.minVersion, maxClientHelloBytes: fixed.maxClientHelloBytes, maxClientHelloRecords: fixed.maxClientHelloRecords };
}

/**
 * `reverse.errorPages` with its template file read (again).
 *
 * @throws {Error} naming the setting and file when it cannot be read or has an unknown placeholder
 */
export function reverseErrorPages(config: ErrorPagesConfig, readText: (path: string) => string): ReverseErrorPages {
  const { template, detailsFor } = config;
  if (template === undefined) return new ReverseErrorPages({ detailsFor });
  const text = readSetting(readText, "reverse.errorPages.template", template);
  try {
    return new ReverseErrorPages({ template: text, detailsFor });
  } catch (e) {
    throw new Error(`reverse.errorPages.template "${template}": ${(e as Error).message}`);
  }
}


/** A new pool (not started) with its TLS files read, and its key. */
function poolEntry(id: string, p: PoolConfig, deps: BuildDeps): PoolEntry {
  const pool = new BackendPool(id, p.backends.map(parseBackendUrl), { ejectAfterFailures: p.ejectAfterFailures, ejectMs: p.ejectMs, balance: p.balance });
  const tls: BackendTlsSettings | undefined = pool.backends.some((b) => b.scheme === "https")
    ? {
      extraCaPem: p.tls.caFile ? [readCaBundle(deps.readText, `reverse.pools.${id}.tls.caFile`, p.tls.caFile)] : [],
      minVersion: p.tls.minVersion,
      ...(p.tls.serverName ? { serverName: p.tls.serverName } : {}),
      ...(p.tls.clientCert && p.tls.clientKey ? clientCertificate(id, p.tls.clientCert, p.tls.clientKey, deps) : {}),
    }
    : undefined;
  const check = p.healthCheck;
  const checker = check
    ? new HealthChecker(pool, httpProbe(deps, check, tls, p.proxyProtocol), check, {
      onChange: (b, healthy, detail) => deps.log(`backend ${backendName(b)} of pool "${id}" is ${healthy ? "up" : "down"}: ${detail}`),
    })
    : undefined;
  const { maxIdlePerBackend, idleTimeoutMs, clientHoldMs } = p.keepAlive;
  const idle = maxIdlePerBackend > 0
    ? new UpstreamPool<IdleBackend>({ maxIdle: maxIdlePerBackend * pool.backends.length, maxIdlePerKey: maxIdlePerBackend, idleTimeoutMs })
    : undefined;
  return {
    runtime: { pool, tls, connectTimeoutMs: p.connectTimeoutMs, timeoutMs: p.timeoutMs, idle, clientHoldMs, ...(p.proxyProtocol ? { proxyProtocol: p.proxyProtocol } : {}) },
    checker,
    key: JSON.stringify([p, tls ?? null]),
  };
}

/**
 * The leaf certificate (DER) of a chain file and its key file, checked to belong together
 * when the runtime can tell.
 */
function certificatePair(
  files: { readonly cert: string; readonly key: string },
  pems: { readonly chainPem: string; readonly keyPem: string },
  where: { readonly cert: string; readonly key: string },
  deps: Pick<BuildDeps, "runtime">,
): Uint8Array {
  let blocks;
  try {
    blocks = decodePem(pems.chainPem);
  } catch (e) {
    throw new Error(`${where.cert} "${files.cert}": ${e instanceof Error ? e.message : String(e)}`);
  }
  const leaf = blocks.find((b) => b.label === "CERTIFICATE");
  if (!leaf) throw new Error(`${where.cert} "${files.cert}" holds no PEM certificate`);
  if (!/-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/.test(pems.keyPem)) throw new Error(`${where.key} "${files.key}" holds no PEM private key`);
  const mismatch = deps.runtime.tls.keyPairError?.(leaf.der, pems.keyPem);
  if (mismatch) throw new Error(`${where.key} "${files.key}" does not go with ${where.cert} "${files.cert}": ${mismatch}`);
  return leaf.der;
}

/** A pool's client certificate for mutual TLS: both files read and checked to go together. */
function clientCertificate(id: string, cert: string, key: string, deps: BuildDeps): { clientCertPem: string; clientKeyPem: string } {
  const where = { cert: `reverse.pools.${id}.tls.clientCert`, key: `reverse.pools.${id}.tls.clientKey` };
  const pems = { chainPem: readSetting(deps.readText, where.cert, cert), keyPem: readSetting(deps.readText, where.key, key) };
  certificatePair({ cert, key }, pems, where, deps);
  return { clientCertPem: pems.chainPem, clientKeyPem: pems.keyPem };
}

/** Reads one certificate's chain and key; its names default to the certificate's subjectAltName. */
function loadCertificate(c: ReverseCertificateConfig, where: string, deps: BuildDeps): ServedCertificate {
  const chainPem = readSetting(deps.readText, `${where}.cert`, c.cert);
  const keyPem = readSetting(deps.readText, `${where}.key`, c.key);
  const leafDer = certificatePair(c, { chainPem, keyPem }, { cert: `${where}.cert`, key: `${where}.key` }, deps);
  const names = c.names ? [...c.names] : subjectAltNames(leafDer).filter((n) => !n.includes(":") && !/^[\d.]+$/.test(n));
  if (names.length === 0) throw new Error(`${where}: the certificate "${c.cert}" has no DNS names in its subjectAltName; give "names"`);
  const { notAfter } = certificateValidity(leafDer);
  return { chainPem, keyPem, names: names.map((n) => n.toLowerCase()), source: c.cert, notAfter };
}
