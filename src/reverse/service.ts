/**
 * Start-up of the reverse proxy: reads the certificate, key and CA files the config names,
 * builds the routing table, the backend pools (shared by every reverse listener) and their
 * health checkers, and hands out the connection handler of each `reverse` and
 * `redirect-https` listener. `close()` stops the health checks.
 * @module
 */
import type { BasicCredentials } from "../auth/proxy-auth.ts";
import type { Config } from "../config/config.ts";
import type { Conn } from "../core/conn.ts";
import type { Runtime } from "../core/runtime.ts";
import type { Resolver } from "../dns/types.ts";
import type { FlowContext } from "../flows/context.ts";
import { handleReverse } from "../flows/reverse.ts";
import { handleRedirectHttps } from "../flows/reverse-redirect.ts";
import { certificateNames, decodePem } from "../pki/mod.ts";
import { parseBackendUrl } from "./backend.ts";
import { CertificateStore, type ServedCertificate } from "./cert-store.ts";
import type { RedirectHttpsListenerConfig, ReverseCertificateConfig, ReverseListenerConfig } from "./config-types.ts";
import { backendName, type BackendTlsSettings } from "./dial.ts";
import { TrustList } from "./forwarded.ts";
import { HealthChecker } from "./health.ts";
import type { PoolRuntime, ReverseListenerState } from "./listener-state.ts";
import { BackendPool } from "./pool.ts";
import { httpProbe } from "./probe.ts";
import { RouteTable } from "./routes.ts";

/** What the reverse proxy needs from the gateway. */
export interface ReverseDeps {
  readonly runtime: Pick<Runtime, "dial" | "tls">;
  readonly resolver: Resolver;
  /** Reads a file the config names (relative to the config file). */
  readonly readText: (path: string) => string;
  /** Operational messages (health changes, ejections), one line each without newline. */
  readonly log: (line: string) => void;
  /** The gateway's users as in force now (`proxyAuth.users`), for routes with `basicAuth`. */
  readonly credentials: () => BasicCredentials | undefined;
}

/** The running reverse proxy. */
export interface ReverseService {
  /** The connection handler of a reverse or redirect-https listener. */
  handler(listener: ReverseListenerConfig | RedirectHttpsListenerConfig, ctx: FlowContext): (conn: Conn) => Promise<void>;
  /** Stops the health checks (idempotent). */
  close(): void;
}

/**
 * Prepares every reverse listener of `config` and starts the health checks.
 *
 * @throws {Error} naming the file or setting when a file cannot be read or holds no usable certificate
 */
export async function startReverse(config: Config, deps: ReverseDeps): Promise<ReverseService> {
  const reverseListeners = config.listeners.filter((l): l is ReverseListenerConfig => l.mode === "reverse");
  const states = new Map<string, ReverseListenerState>();
  const checkers: HealthChecker[] = [];
  if (reverseListeners.length > 0) {
    const section = config.reverse ?? { pools: {}, routes: [] };
    const read = (what: string, path: string) => {
      try {
        return deps.readText(path);
      } catch (e) {
        throw new Error(`cannot read ${what} "${path}": ${(e as { code?: string }).code ?? String(e)}`);
      }
    };
    const routes = new RouteTable(section.routes);
    const pools = new Map<string, PoolRuntime>();
    for (const [id, p] of Object.entries(section.pools)) {
      const pool = new BackendPool(id, p.backends.map(parseBackendUrl), { ejectAfterFailures: p.ejectAfterFailures, ejectMs: p.ejectMs });
      const tls: BackendTlsSettings | undefined = pool.backends.some((b) => b.scheme === "https")
        ? {
          extraCaPem: p.tls.caFile ? [read(`reverse.pools.${id}.tls.caFile`, p.tls.caFile)] : [],
          minVersion: p.tls.minVersion,
          ...(p.tls.serverName ? { serverName: p.tls.serverName } : {}),
          ...(p.tls.clientCert && p.tls.clientKey
            ? {
              clientCertPem: read(`reverse.pools.${id}.tls.clientCert`, p.tls.clientCert),
              clientKeyPem: read(`reverse.pools.${id}.tls.clientKey`, p.tls.clientKey),
            }
            : {}),
        }
        : undefined;
      pools.set(id, { pool, tls, connectTimeoutMs: p.connectTimeoutMs, timeoutMs: p.timeoutMs });
      if (p.healthCheck) {
        const check = p.healthCheck;
        checkers.push(new HealthChecker(pool, httpProbe(deps, check, tls), check, {
          onChange: (b, healthy, detail) => deps.log(`backend ${backendName(b)} of pool "${id}" is ${healthy ? "up" : "down"}: ${detail}`),
        }));
      }
    }
    for (const l of reverseListeners) {
      const store = l.tls
        ? new CertificateStore(
          await Promise.all(l.tls.certificates.map((c, i) => loadCertificate(c, `listeners "${l.name}" tls.certificates[${i}]`, read))),
          l.tls.defaultCertificate,
          l.tls.unknownSni,
          l.tls.mint,
        )
        : undefined;
      states.set(l.name, {
        tls: l.tls && store
          ? {
            store,
            minVersion: l.tls.minVersion,
            maxClientHelloBytes: config.limits.maxClientHelloBytes,
            maxClientHelloRecords: config.limits.maxClientHelloRecords,
          }
          : null,
        trust: new TrustList(l.trustForwardedFrom),
        routes,
        pools,
        credentials: deps.credentials,
        log: deps.log,
      });
    }
  }
  for (const c of checkers) c.start();
  let closed = false;
  return {
    handler(listener, ctx) {
      if (listener.mode === "redirect-https") {
        const port = listener.httpsPort;
        return (conn) => handleRedirectHttps(conn, ctx, port);
      }
      const state = states.get(listener.name);
      if (!state) throw new Error(`Reverse listener "${listener.name}" was not prepared`);
      return (conn) => handleReverse(conn, ctx, state);
    },
    close() {
      if (closed) return;
      closed = true;
      for (const c of checkers) c.stop();
    },
  };
}

/** Reads one certificate's chain and key; its names default to the certificate's subjectAltName. */
async function loadCertificate(
  c: ReverseCertificateConfig,
  where: string,
  read: (what: string, path: string) => string,
): Promise<ServedCertificate> {
  const chainPem = read(`${where}.cert`, c.cert);
  const keyPem = read(`${where}.key`, c.key);
  let blocks;
  try {
    blocks = decodePem(chainPem);
  } catch (e) {
    throw new Error(`${where}.cert "${c.cert}": ${e instanceof Error ? e.message : String(e)}`);
  }
  const leaf = blocks.find((b) => b.label === "CERTIFICATE");
  if (!leaf) throw new Error(`${where}.cert "${c.cert}" holds no PEM certificate`);
  if (!/-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/.test(keyPem)) throw new Error(`${where}.key "${c.key}" holds no PEM private key`);
  const names = c.names ? [...c.names] : (await certificateNames(leaf.der)).filter((n) => !n.includes(":") && !/^[\d.]+$/.test(n));
  if (names.length === 0) throw new Error(`${where}: the certificate "${c.cert}" has no DNS names in its subjectAltName; give "names"`);
  return { chainPem, keyPem, names: names.map((n) => n.toLowerCase()), source: c.cert };
}
