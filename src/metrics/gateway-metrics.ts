/**
 * The gateway's metric set (all names prefixed `tollgate_`). What updates them from the flow
 * records is in `observe.ts`.
 *
 * @module
 */
import type { Counter, CounterChild } from "./counter.ts";
import { FLOW_ERROR_KINDS } from "./flow-error-kind.ts";
import type { Gauge } from "./gauge.ts";
import type { Histogram } from "./histogram.ts";
import type { Registry } from "./registry.ts";

/** Buckets of `tollgate_cert_mint_seconds`: 50 µs to 50 ms (an ECDSA leaf takes ≈2–5 ms). */
export const CERT_MINT_BUCKETS: readonly number[] = Object.freeze([
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
]);

/** Buckets of `tollgate_dns_lookup_seconds`: 0.5 ms (cache, static) to 5 s (a slow resolver). */
export const DNS_LOOKUP_BUCKETS: readonly number[] = Object.freeze([
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
]);

/**
 * Buckets of `tollgate_http_request_duration_seconds` and `tollgate_http_upstream_header_seconds`:
 * 1 ms (a local backend) to 60 s (a long download, a slow report).
 */
export const HTTP_SECONDS_BUCKETS: readonly number[] = Object.freeze([
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
]);

/** Certificate cache counts read at scrape time (a `LeafCache.stats()` result fits). */
export interface CertCacheCounts {
  readonly hits: number;
  readonly misses: number;
  readonly size: number;
}

/** Typed handles on the gateway's metrics. */
export interface GatewayMetrics {
  readonly registry: Registry;
  /** `tollgate_connections_total{listener,mode,decision}`: flows ended; decision "allow", "deny" or "none" (no decision was reached). */
  readonly connections: Counter<readonly ["listener", "mode", "decision"]>;
  /** `tollgate_connections_revoked_total{listener,mode}`: open flows closed because the policy denies them now (a schedule ended, a reload), or by an administrator (`DELETE /connections/{id}`). */
  readonly connectionsRevoked: Counter<readonly ["listener", "mode"]>;
  /** `tollgate_active_connections{listener}`: client connections open now. */
  readonly activeConnections: Gauge<readonly ["listener"]>;
  /** `tollgate_active_tunnels{listener}`: blind tunnels open now: CONNECT, SOCKS5, transparent splices (the slots of `limits.maxTunnels`). */
  readonly activeTunnels: Gauge<readonly ["listener"]>;
  /** `tollgate_bytes_total{listener,direction}`: direction "up" (client to upstream) or "down". */
  readonly bytes: Counter<readonly ["listener", "direction"]>;
  /**
   * `tollgate_http_requests_total{listener,mode,status}`: proxied and decrypted HTTP requests;
   * status is the class of the status sent to the client ("1xx"…"5xx"), "none" if no
   * response was sent, "other" if out of range. A class keeps the label's cardinality at 7.
   */
  readonly httpRequests: Counter<readonly ["listener", "mode", "status"]>;
  /**
   * `tollgate_http_request_duration_seconds{listener,mode}`: from a request's head to the end
   * of its response, for each request `tollgate_http_requests_total` counts.
   */
  readonly httpRequestSeconds: Histogram<readonly ["listener", "mode"]>;
  /**
   * `tollgate_http_upstream_header_seconds{listener,mode}`: from a request's head to the
   * upstream's (origin's or backend's) final response head, connecting included; requests
   * that got one.
   */
  readonly httpUpstreamHeaderSeconds: Histogram<readonly ["listener", "mode"]>;
  /** `tollgate_cert_cache_hits_total`. */
  readonly certCacheHits: Counter;
  /** `tollgate_cert_cache_misses_total`. */
  readonly certCacheMisses: Counter;
  /** `tollgate_cert_cache_size`: leaves cached (read from the certificate cache source at scrape time). */
  readonly certCacheSize: Gauge;
  /** `tollgate_cert_mint_seconds`: time to mint one leaf. */
  readonly certMintSeconds: Histogram;
  /** `tollgate_dns_lookups_total{source,result}`: source "static", "system", "dns", "cache", "literal" or "none"; result "ok", "notfound", "timeout" or "error". */
  readonly dnsLookups: Counter<readonly ["source", "result"]>;
  /** `tollgate_dns_server_exchanges_total{server,transport,result}`: with configured DNS servers, each exchange with one; result "answered", "truncated", "case-mismatch" or "failed". */
  readonly dnsServerExchanges: Counter<readonly ["server", "transport", "result"]>;
  /** `tollgate_dns_lookup_seconds`. */
  readonly dnsLookupSeconds: Histogram;
  /** `tollgate_errors_total{kind}`: flows that ended in an error, by {@linkcode FlowErrorKind}. */
  readonly errors: Counter<readonly ["kind"]>;
  /** `tollgate_config_generation`: generation of the configuration in force (1 for the first). */
  readonly configGeneration: Gauge;
  /** `tollgate_config_last_reload_success`: 1 if the last reload succeeded, else 0. */
  readonly configLastReloadSuccess: Gauge;
  /** `tollgate_config_last_reload_timestamp_seconds`: Unix time of the last reload attempt. */
  readonly configLastReloadTimestamp: Gauge;
  /** `tollgate_process_start_time_seconds`. */
  readonly processStartTime: Gauge;
  /**
   * Reads the certificate cache's own counts at scrape time: size is set, and the hit and
   * miss counters are brought up to the source's totals (they never go down). Use either
   * this or `certCacheHits.inc()` / `certCacheMisses.inc()`, not both.
   */
  setCertCacheSource(source: (() => CertCacheCounts) | undefined): void;
  /** `tollgate_upstream_idle_connections` and `tollgate_upstream_reused_total`: the upstream pool, read at scrape time. */
  setUpstreamPoolSource(source: (() => { readonly idle: number; readonly reused: number }) | undefined): void;
  /**
   * `tollgate_backend_idle_connections{pool}`, `tollgate_backend_reused_total{pool}` and
   * `tollgate_backend_up{pool,backend}`: the reverse proxy's pools, read at scrape time.
   */
  setBackendPoolSource(source: (() => ReadonlyMap<string, BackendPoolFigures>) | undefined): void;
  /** `tollgate_parent_up{parent}`: the parent proxies, read at scrape time. */
  setParentSource(source: (() => readonly { readonly name: string; readonly inService: boolean }[]) | undefined): void;
  /** `tollgate_certificate_not_after_timestamp_seconds`: the certificates the gateway serves or signs with, read at scrape time. */
  setCertificateSource(source: (() => readonly CertificateExpiry[]) | undefined): void;
  /** `tollgate_client_crl_next_update_timestamp_seconds`: the client-certificate CRLs in force, read at scrape time. */
  setClientCrlSource(source: (() => readonly ClientCrlUpdate[]) | undefined): void;
}

/** When the CRLs of an HTTPS proxy or reverse listener's `clientCertificates.crlFile` must be replaced. */
export interface ClientCrlUpdate {
  readonly listener: string;
  readonly file: string;
  /** The earliest `nextUpdate` of the file's CRLs. */
  readonly nextUpdate: Date;
}

/**
 * A certificate the gateway serves (`use` "reverse" or "proxy", by listener) or signs leaves
 * with (`use` "ca"); or, for an HTTPS proxy or reverse listener taking client certificates, the
 * first of its client CAs to expire ("client-ca").
 */
export interface CertificateExpiry {
  readonly use: "reverse" | "proxy" | "ca" | "client-ca";
  /** The listener serving it; "" for the CA. */
  readonly listener: string;
  /** The certificate file, as the config names it. */
  readonly file: string;
  readonly notAfter: Date;
}

/** A reverse-proxy pool's figures for the metrics. */
export interface BackendPoolFigures {
  readonly idle: number;
  readonly reused: number;
  readonly backends: readonly { readonly url: string; readonly up: boolean }[];
}

/** Options of {@linkcode createGatewayMetrics}. */
export interface GatewayMetricsOptions {
  /** Process start, ms since the epoch. Default `performance.timeOrigin`. */
  readonly startTimeMs?: number;
  /** Certificate cache counts, read at scrape time (see {@linkcode GatewayMetrics.setCertCacheSource}). */
  readonly certCache?: () => CertCacheCounts;
}

/**
 * Registers the gateway's metrics in `registry` and returns typed handles.
 *
 * @example
 * ```ts
 * const metrics = createGatewayMetrics(new Registry());
 * const flowLog = metricsFlowLog(metrics, jsonLineFlowLog(print)); // observe.ts
 * ```
 */
export function createGatewayMetrics(registry: Registry, options: GatewayMetricsOptions = {}): GatewayMetrics {
  let certSource = options.certCache;
  let poolSource: (() => { readonly idle: number; readonly reused: number }) | undefined;
  const upstreamReused = registry.counter({ name: "tollgate_upstream_reused_total", help: "Idle upstream connections of decrypted sessions reused by a later session." });
  registry.gauge({
    name: "tollgate_upstream_idle_connections",
    help: "Idle upstream connections of decrypted sessions kept for reuse.",
    collect: (g) => {
      if (!poolSource) return;
      const s = poolSource();
      g.set(s.idle);
      catchUp(upstreamReused.labels(), s.reused);
    },
  });
  let backendSource: (() => ReadonlyMap<string, BackendPoolFigures>) | undefined;
  const backendUp = registry.gauge({
    name: "tollgate_backend_up",
    help: "Whether a reverse-proxy backend takes requests now (1: healthy and not ejected), by pool and backend URL.",
    labelNames: ["pool", "backend"],
  });
  const backendReused = registry.counter({
    name: "tollgate_backend_reused_total",
    help: "Idle reverse-proxy backend connections taken by a later request (of any client), by pool.",
    labelNames: ["pool"],
  });
  registry.gauge({
    name: "tollgate_backend_idle_connections",
    help: "Idle reverse-proxy backend connections kept for reuse, by pool.",
    labelNames: ["pool"],
    collect: (g) => {
      if (!backendSource) return;
      backendUp.reset();
      for (const [pool, s] of backendSource()) {
        g.labels(pool).set(s.idle);
        for (const b of s.backends) backendUp.labels(pool, b.url).set(b.up ? 1 : 0);
        catchUp(backendReused.labels(pool), s.reused);
      }
    },
  });
  let parentSource: (() => readonly { readonly name: string; readonly inService: boolean }[]) | undefined;
  registry.gauge({
    name: "tollgate_parent_up",
    help: "Whether a parent proxy takes flows now (1), or is passed over for its fallback after it could not be reached (0).",
    labelNames: ["parent"],
    collect: (g) => {
      if (!parentSource) return;
      g.reset();
      for (const p of parentSource()) g.labels(p.name).set(p.inService ? 1 : 0);
    },
  });
  let certificateSource: (() => readonly CertificateExpiry[]) | undefined;
  registry.gauge({
    name: "tollgate_certificate_not_after_timestamp_seconds",
    help: "When a certificate the gateway serves (reverse and HTTPS proxy listeners), signs leaves with (the CA) or takes client certificates from (client-ca) expires, Unix seconds. Alert on it minus time().",
    labelNames: ["use", "listener", "file"],
    collect: (g) => {
      if (!certificateSource) return;
      g.reset();
      for (const c of certificateSource()) g.labels(c.use, c.listener, c.file).set(Math.floor(c.notAfter.getTime() / 1000));
    },
  });
  let clientCrlSource: (() => readonly ClientCrlUpdate[]) | undefined;
  registry.gauge({
    name: "tollgate_client_crl_next_update_timestamp_seconds",
    help: "When the client-certificate CRLs of an HTTPS proxy or reverse listener must be replaced (their earliest nextUpdate), Unix seconds; past it every client certificate is refused.",
    labelNames: ["listener", "file"],
    collect: (g) => {
      if (!clientCrlSource) return;
      g.reset();
      for (const c of clientCrlSource()) g.labels(c.listener, c.file).set(Math.floor(c.nextUpdate.getTime() / 1000));
    },
  });
  const certCacheHits = registry.counter({ name: "tollgate_cert_cache_hits_total", help: "Leaf certificate cache hits." });
  const certCacheMisses = registry.counter({ name: "tollgate_cert_cache_misses_total", help: "Leaf certificate cache misses (a mint was needed)." });
  /** Brings a counter up to a total kept elsewhere (it never goes down). */
  const catchUp = (counter: CounterChild, total: number) => {
    const delta = total - counter.value;
    if (delta > 0) counter.inc(delta);
  };
  const errors = registry.counter({
    name: "tollgate_errors_total",
    help: "Flows that ended in an error, by kind.",
    labelNames: ["kind"],
  });
  for (const kind of FLOW_ERROR_KINDS) errors.labels(kind); // every kind shows from the start
  const processStartTime = registry.gauge({ name: "tollgate_process_start_time_seconds", help: "Start time of the process, Unix seconds." });
  processStartTime.set(Math.floor((options.startTimeMs ?? performance.timeOrigin) / 1000));
  return {
    registry,
    connectionsRevoked: registry.counter({
      name: "tollgate_connections_revoked_total",
      help: "Open flows closed because the policy denies them now (a rule's schedule ended, a reload or PUT /policy), or by an administrator (DELETE /connections/{id}).",
      labelNames: ["listener", "mode"],
    }),
    connections: registry.counter({
      name: "tollgate_connections_total",
      help: "Flows ended (one per connection; one per request for plain HTTP proxying), by decision.",
      labelNames: ["listener", "mode", "decision"],
    }),
    activeConnections: registry.gauge({ name: "tollgate_active_connections", help: "Client connections open now.", labelNames: ["listener"] }),
    activeTunnels: registry.gauge({ name: "tollgate_active_tunnels", help: "Blind tunnels open now: CONNECT, SOCKS5, transparent splices (limits.maxTunnels counts these).", labelNames: ["listener"] }),
    bytes: registry.counter({
      name: "tollgate_bytes_total",
      help: "Bytes relayed, up (client to upstream) or down.",
      labelNames: ["listener", "direction"],
    }),
    httpRequests: registry.counter({
      name: "tollgate_http_requests_total",
      help: "Proxied and decrypted HTTP requests, by class of the status sent to the client.",
      labelNames: ["listener", "mode", "status"],
    }),
    httpRequestSeconds: registry.histogram({
      name: "tollgate_http_request_duration_seconds",
      help: "Time from an HTTP request's head to the end of its response.",
      labelNames: ["listener", "mode"],
      buckets: HTTP_SECONDS_BUCKETS,
    }),
    httpUpstreamHeaderSeconds: registry.histogram({
      name: "tollgate_http_upstream_header_seconds",
      help: "Time from an HTTP request's head to the upstream's response head (connecting included).",
      labelNames: ["listener", "mode"],
      buckets: HTTP_SECONDS_BUCKETS,
    }),
    certCacheHits,
    certCacheMisses,
    certCacheSize: registry.gauge({
      name: "tollgate_cert_cache_size",
      help: "Leaf certificates cached.",
      collect: (g) => {
        if (!certSource) return;
        const counts = certSource();
        g.set(counts.size);
        catchUp(certCacheHits.labels(), counts.hits);
        catchUp(certCacheMisses.labels(), counts.misses);
      },
    }),
    certMintSeconds: registry.histogram({ name: "tollgate_cert_mint_seconds", help: "Time to mint one leaf certificate.", buckets: CERT_MINT_BUCKETS }),
    dnsLookups: registry.counter({ name: "tollgate_dns_lookups_total", help: "DNS lookups by source and result.", labelNames: ["source", "result"] }),
    dnsServerExchanges: registry.counter({
      name: "tollgate_dns_server_exchanges_total",
      help: "Exchanges with configured DNS servers by server, transport (udp, tcp, tls) and result (answered, truncated, case-mismatch, failed).",
      labelNames: ["server", "transport", "result"],
    }),
    dnsLookupSeconds: registry.histogram({ name: "tollgate_dns_lookup_seconds", help: "Time to resolve an upstream name.", buckets: DNS_LOOKUP_BUCKETS }),
    errors,
    configGeneration: registry.gauge({ name: "tollgate_config_generation", help: "Generation of the configuration in force." }),
    configLastReloadSuccess: registry.gauge({ name: "tollgate_config_last_reload_success", help: "1 if the last configuration reload succeeded, else 0." }),
    configLastReloadTimestamp: registry.gauge({
      name: "tollgate_config_last_reload_timestamp_seconds",
      help: "Time of the last configuration reload attempt, Unix seconds.",
    }),
    processStartTime,
    setCertCacheSource(source) {
      certSource = source;
    },
    setUpstreamPoolSource(source) {
      poolSource = source;
    },
    setBackendPoolSource(source) {
      backendSource = source;
    },
    setParentSource(source) {
      parentSource = source;
    },
    setClientCrlSource(source) {
      clientCrlSource = source;
    },
    setCertificateSource(source) {
      certificateSource = source;
    },
  };
}
