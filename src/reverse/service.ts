/**
 * The running reverse proxy: builds its state from the config (`generation.ts`: the files
 * the config names, the route table, the backend pools shared by every reverse listener and
 * their health checkers), hands out the connection handler of each `reverse` and
 * `redirect-https` listener, and on a reload puts the next generation in force.
 *
 * What a reload changes: routes, passthrough routes, pools, each running listener's
 * certificates (the files are read again, so a renewed certificate is served from the next
 * handshake on), `unknownSni`, `mint`, `minVersion`, `clientCertificates` (CAs and CRLs read
 * again; each request is checked against those in force), `trustForwardedFrom`,
 * `trustIdentityFrom`, and a redirect's `httpsPort`. A connection's
 * TLS handshake uses the generation in force when its ClientHello arrived; each request is
 * routed with the generation in force when it arrives. Listeners themselves (which, where)
 * need a restart. `close()` stops the health checks and closes idle backend connections.
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
import type { RedirectHttpsListenerConfig, ReverseListenerConfig } from "./config-types.ts";
import { type BuildDeps, type BuildFixed, buildReverse, type ReverseGeneration } from "./generation.ts";
import type { ClientTrusts } from "./client-trusts.ts";
import type { ReverseTlsState } from "./listener-state.ts";
import { type PoolReport, poolReport } from "./report.ts";

/** A pool's figures for the metrics. */
export interface BackendPoolStats {
  readonly idle: number;
  readonly reused: number;
  readonly backends: readonly { readonly url: string; readonly up: boolean }[];
}

/** A certificate a reverse (or HTTPS proxy) listener serves: its listener, its file, when it expires. */
export interface ServedCertificateInfo {
  /** "reverse": a reverse listener's; "proxy": an HTTPS proxy listener's. */
  readonly use: "reverse" | "proxy";
  readonly listener: string;
  readonly file: string;
  readonly notAfter: Date;
}

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
  /** The TLS in force of explicit listener `name`, an HTTPS proxy (its certificates reload as a reverse listener's). */
  proxyTls(name: string): ReverseTlsState;
  /**
   * Builds the state of `next` (reading every file it names again) without putting it in
   * force; the returned function does that. Nothing changes until it is called.
   *
   * @throws {Error} naming the setting and file when a file cannot be read or holds no usable certificate
   */
  prepare(next: Config, clientTrusts?: ClientTrusts): () => void;
  /**
   * Idle backend connections now, those handed to a later request since start (pools a
   * reload dropped keep their count, with no idle connections and no backends), and whether
   * each backend is available, by pool name: what the metrics read.
   */
  backendPools(): ReadonlyMap<string, BackendPoolStats>;
  /** Every pool in force and its backends' state, for operators (`GET /backends`). */
  report(): PoolReport[];
  /** The certificates the reverse listeners serve now, with when each expires (what the metrics read). */
  certificates(): ServedCertificateInfo[];
  /** Stops the health checks and closes the idle backend connections (idempotent). */
  close(): void;
}

/**
 * Prepares every reverse listener of `config` and starts the health checks.
 *
 * @throws {Error} naming the file or setting when a file cannot be read or holds no usable certificate
 */
export function startReverse(config: Config, deps: ReverseDeps, clientTrusts?: ClientTrusts): ReverseService {
  const buildDeps: BuildDeps = deps;
  // the ClientHello limits in force (a reload may change them)
  const fixed = (c: Config): BuildFixed => ({
    maxClientHelloBytes: c.limits.maxClientHelloBytes,
    maxClientHelloRecords: c.limits.maxClientHelloRecords,
  });
  let current: ReverseGeneration = buildReverse(config, buildDeps, fixed(config), undefined, clientTrusts);
  let closed = false;
  /** Reuse counts of pools a reload replaced, by name (the metric counts on across reloads). */
  const retired = new Map<string, number>();
  for (const e of current.pools.values()) e.checker?.start();
  const stateOf = (name: string) => {
    const state = current.states.get(name);
    if (!state) throw new Error(`Reverse listener "${name}" was not prepared`);
    return state;
  };
  return {
    handler(listener, ctx) {
      const name = listener.name;
      if (listener.mode === "redirect-https") {
        return (conn) => handleRedirectHttps(conn, ctx, current.redirects.get(name) ?? listener.httpsPort);
      }
      stateOf(name);
      return (conn) => handleReverse(conn, ctx, () => stateOf(name));
    },
    prepare(next, nextClientTrusts) {
      const previous = current;
      const built = buildReverse(next, buildDeps, fixed(next), previous, nextClientTrusts);
      return () => {
        if (current !== previous) throw new Error("Another reverse generation was put in force since this one was prepared");
        current = built;
        const inForce = new Set(built.pools.values());
        for (const e of previous.pools.values()) {
          if (inForce.has(e)) continue;
          e.checker?.stop();
          e.runtime.idle?.close(); // a connection still with a client is closed when it comes back
          retired.set(e.runtime.pool.id, (retired.get(e.runtime.pool.id) ?? 0) + (e.runtime.idle?.stats().reused ?? 0));
        }
        if (closed) return;
        for (const e of built.pools.values()) e.checker?.start(); // idempotent for carried-over pools
      };
    },
    backendPools() {
      const out = new Map<string, BackendPoolStats>();
      for (const [id, reused] of retired) out.set(id, { idle: 0, reused, backends: [] });
      const now = Date.now();
      for (const [id, e] of current.pools) {
        const r = poolReport(id, e, now);
        const backends = r.backends.map((b) => ({ url: b.url, up: b.available }));
        out.set(id, { idle: r.idleConnections, reused: (retired.get(id) ?? 0) + r.reusedConnections, backends });
      }
      return out;
    },
    report() {
      const now = Date.now();
      return [...current.pools].map(([id, e]) => poolReport(id, e, now));
    },
    proxyTls(name) {
      const tls = current.proxyTls.get(name);
      if (!tls) throw new Error(`HTTPS proxy listener "${name}" was not prepared`);
      return tls;
    },
    certificates() {
      const served = [
        ...[...current.states].map(([name, state]) => ["reverse", name, state.tls] as const),
        ...[...current.proxyTls].map(([name, tls]) => ["proxy", name, tls] as const),
      ];
      return served.flatMap(([use, listener, tls]) => (tls?.store.certificates ?? []).map((c) => ({ use, listener, file: c.source, notAfter: c.notAfter })));
    },
    close() {
      if (closed) return;
      closed = true;
      for (const e of current.pools.values()) {
        e.checker?.stop();
        e.runtime.idle?.close();
      }
    },
  };
}
