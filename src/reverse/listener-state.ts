/**
 * What a reverse listener's connections need at run time, built once at start-up by
 * `startReverse` (service.ts) and shared by every connection of the listener.
 * @module
 */
import type { BasicCredentials } from "../auth/proxy-auth.ts";
import type { TlsVersion } from "../core/tls.ts";
import type { CertificateStore } from "./cert-store.ts";
import type { BackendTlsSettings } from "./dial.ts";
import type { TrustList } from "./forwarded.ts";
import type { Backend, BackendPool } from "./pool.ts";
import type { UpstreamPool } from "../flows/upstream-pool.ts";
import type { RouteTable } from "./routes.ts";

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
}

/** The key of a backend's idle connections in {@link PoolRuntime.idle}. */
export function idleKey(backend: Backend): string {
  return String(backend.index);
}

/** TLS termination of a reverse listener. */
export interface ReverseTlsState {
  readonly store: CertificateStore;
  readonly minVersion: TlsVersion;
  readonly maxClientHelloBytes: number;
  readonly maxClientHelloRecords: number;
}

/** One reverse listener's run-time state. */
export interface ReverseListenerState {
  /** null: plain HTTP. */
  readonly tls: ReverseTlsState | null;
  /** Peers whose forwarding fields are believed. */
  readonly trust: TrustList;
  readonly routes: RouteTable;
  readonly pools: ReadonlyMap<string, PoolRuntime>;
  /**
   * The gateway's users (`proxyAuth.users`) for routes with `basicAuth`, as in force now (a
   * reload swaps them); undefined without any.
   */
  readonly credentials: () => BasicCredentials | undefined;
  /** Operational messages (backend ejected, …), one line each. */
  readonly log: (message: string) => void;
}
