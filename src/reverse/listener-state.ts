/**
 * What a reverse listener's connections need at run time, built once at start-up by
 * `startReverse` (service.ts) and shared by every connection of the listener.
 * @module
 */
import type { BasicCredentials } from "../auth/proxy-auth.ts";
import type { ClientCertificatePolicy } from "../auth/certificate-sign-in.ts";
import type { TlsVersion } from "../core/tls.ts";
import type { CertificateStore } from "./cert-store.ts";
import type { BackendTlsSettings } from "./dial.ts";
import type { TrustList } from "./forwarded.ts";
import type { Backend, BackendPool } from "./pool.ts";
import type { UpstreamPool } from "../flows/upstream-pool.ts";
import { RateLimiter } from "../policy/rate-limiter.ts";
import type { ProxyProtocolVersion } from "../protocol/proxy-header-write.ts";
import type { RouteConfig } from "./config-types.ts";
import type { RouteTable } from "./routes.ts";
import type { PassthroughTable } from "./passthrough.ts";
import type { ReverseErrorPages } from "./error-pages.ts";

/** What an idle backend connection carries besides its socket. */
export interface IdleBackend {
  readonly backend: Backend;
  /** The IP address dialled. */
  readonly address: string;
}

/** A pool with what connecting to its backends takes. */
export interface PoolRuntime {
  readonly pool: BackendPool;
  /** For `https://` backends; undefined when the pool has none. */
  readonly tls: BackendTlsSettings | undefined;
  readonly connectTimeoutMs: number;
  /** Silence allowed from a backend before 504 (also the idle limit of upgraded connections). */
  readonly timeoutMs: number;
  /**
   * Idle connections to its backends that any client's request may take, keyed by
   * {@link idleKey}; undefined when none are kept (`keepAlive.maxIdlePerBackend: 0`).
   */
  readonly idle: UpstreamPool<IdleBackend> | undefined;
  /**
   * How long a backend connection stays with its keep-alive client after a response, for
   * that client's next request, before it joins `idle` (`keepAlive.clientHoldMs`).
   */
  readonly clientHoldMs: number;
  /**
   * A PROXY protocol header goes first on every connection to the backends (`proxyProtocol`):
   * such a connection names one client, so it is never given to another.
   */
  readonly proxyProtocol?: ProxyProtocolVersion;
}

/** The key of a backend's idle connections in {@link PoolRuntime.idle}. */
export function idleKey(backend: Backend): string {
  return String(backend.index);
}

/** A route's rate limiter and the settings it was made for (a reload keeps it while they stay). */
export interface RouteLimiter {
  readonly limiter: RateLimiter;
  /** JSON of the route's `rateLimit`. */
  readonly settings: string;
}

/**
 * The limiters of `routes` with `rateLimit`, by route id: a route whose id and settings
 * `previous` has keeps that limiter (and the buckets in it), the others get a new one.
 */
export function routeLimiters(routes: readonly RouteConfig[], previous?: ReadonlyMap<string, RouteLimiter>): Map<string, RouteLimiter> {
  const out = new Map<string, RouteLimiter>();
  for (const r of routes) {
    if (!r.rateLimit) continue;
    const settings = JSON.stringify(r.rateLimit);
    const old = previous?.get(r.id);
    out.set(r.id, old && old.settings === settings ? old : {
      limiter: new RateLimiter({ perSecond: r.rateLimit.requestsPerSecond, burst: r.rateLimit.burst }),
      settings,
    });
  }
  return out;
}

/** TLS termination of a reverse listener. */
export interface ReverseTlsState {
  readonly store: CertificateStore;
  readonly minVersion: TlsVersion;
  readonly maxClientHelloBytes: number;
  readonly maxClientHelloRecords: number;
  /** Clients are asked for certificates, which sign them in (`tls.clientCertificates`). */
  readonly clientCertificates?: ClientCertificatePolicy;
}

/** One reverse listener's run-time state. */
export interface ReverseListenerState {
  /** null: plain HTTP. */
  readonly tls: ReverseTlsState | null;
  /** Peers whose forwarding fields are believed. */
  readonly trust: TrustList;
  /** Peers whose identity fields (`X-Forwarded-User`, `Client-Cert`) are believed. */
  readonly identityTrust: TrustList;
  readonly routes: RouteTable;
  /** TLS connections that are not terminated (`reverse.passthrough`); absent = none. */
  readonly passthrough?: PassthroughTable;
  readonly pools: ReadonlyMap<string, PoolRuntime>;
  /** The rate limiters of routes with `rateLimit`, by route id. */
  readonly limiters: ReadonlyMap<string, RouteLimiter>;
  /** The gateway's own error answers (`reverse.errorPages`). */
  readonly errorPages: ReverseErrorPages;
  /**
   * The gateway's users (`proxyAuth.users`) for routes with `basicAuth`, as in force now (a
   * reload swaps them); undefined without any.
   */
  readonly credentials: () => BasicCredentials | undefined;
  /** Operational messages (backend ejected, …), one line each. */
  readonly log: (message: string) => void;
}

/**
 * What `get` gives of a listener's settings in force, undefined once a reload renamed or
 * removed the listener, or made it another kind (`get` throws then).
 */
export function inForce<T>(get: () => T): T | undefined {
  try {
    return get();
  } catch {
    return undefined;
  }
}
