/**
 * Who a listener serves, before any flow runs: the process-wide connection limit (answered
 * `503` and closed), for a PROXY protocol listener the header first (from trusted balancers
 * only), then the listener's `clients`, the per-client rate of new connections and the
 * per-client concurrency limit (refusals logged as flows), then the listener's flow. Counts what is open — per listener for the gauge and the admin
 * API, in all for the limit — and keeps the connections for shutdown.
 * @module
 */
import type { LimitsConfig, ListenerConfig } from "./config/config.ts";
import type { Conn } from "./core/conn.ts";
import { anyCidrContains } from "./core/ip.ts";
import { errorAnswer } from "./flows/answers.ts";
import type { FlowContext } from "./flows/context.ts";
import { admitRelayed } from "./flows/proxy-protocol.ts";
import { refusedInHttp, refuseConnection } from "./flows/refuse.ts";
import type { GatewayMetrics } from "./metrics/gateway-metrics.ts";
import { parseClientCidr } from "./policy/host-pattern.ts";
import { clientRateKey, RateLimiter } from "./policy/rate-limiter.ts";

/** The limits admission enforces. */
type AdmissionLimits = Pick<LimitsConfig, "maxConnections" | "maxConnectionsPerClient" | "connectionRatePerClient" | "connectionBurstPerClient">;

/** What admission needs from the gateway. */
export interface AdmissionDeps {
  /** This process's share of the limits (a reload may change them: `Admission.update`). */
  readonly limits: AdmissionLimits;
  readonly metrics: GatewayMetrics;
  /** Open client connections per listener (the admin API reads it). */
  readonly active: Map<string, number>;
}

/** The gateway's admission of connections, shared by its listeners (see the module doc). */
export class Admission {
  /** Every connection being served, or having its PROXY protocol header read. */
  readonly open = new Set<Conn>();
  readonly #deps: Omit<AdmissionDeps, "limits">;
  readonly #perClient = new Map<string, number>();
  #limits!: AdmissionLimits;
  /** New connections per client address (IPv6: /64); undefined without a rate limit. */
  #rate: RateLimiter | undefined;
  #overload!: Uint8Array;
  #accepting = true;

  constructor(deps: AdmissionDeps) {
    this.#deps = deps;
    this.update(deps.limits);
  }

  /**
   * Enforces `limits` from the next connection on (a reload). Connections already open are
   * not closed when a limit drops below them; a changed connection rate starts with full
   * buckets.
   */
  update(limits: AdmissionLimits): void {
    const old = this.#limits;
    this.#limits = limits;
    if (old?.maxConnections !== limits.maxConnections) {
      this.#overload = errorAnswer(503, `Too many connections (limit ${limits.maxConnections})`, { proxyError: "connection_limit_reached" });
    }
    const { connectionRatePerClient: perSecond, connectionBurstPerClient: burst } = limits;
    if (old && old.connectionRatePerClient === perSecond && old.connectionBurstPerClient === burst) return;
    this.#rate = perSecond > 0 ? new RateLimiter({ perSecond, burst }) : undefined;
  }

  /** From now on every new connection is answered `503` and closed (the gateway is draining). */
  stop(): void {
    this.#accepting = false;
  }

  /** The accept callback of listener `l`, whose connections `handler` serves with `ctx`. */
  acceptor(l: ListenerConfig, ctx: FlowContext, handler: (conn: Conn) => Promise<void>): (socket: Conn) => void {
    const { metrics, active } = this.#deps;
    const allowed = l.clients?.map((c) => parseClientCidr(c));
    const balancers = l.proxyProtocol?.from.map((c) => parseClientCidr(c));
    const gauge = metrics.activeConnections.labels(l.name);
    if (!active.has(l.name)) active.set(l.name, 0); // a reload makes the acceptor again: the count goes on
    /** Serves a connection whose client is known (for a PROXY protocol listener: after the header). */
    const serve = (conn: Conn) => {
      const ip = conn.remote.address;
      if (allowed && !anyCidrContains(allowed, ip)) {
        metrics.errors.labels("limit").inc();
        void refuseConnection(conn, ctx, { rule: "listener-clients", reason: `client ${ip} is not in this listener's clients`, status: 403 });
        return;
      }
      const rate = this.#rate?.take(clientRateKey(ip));
      if (rate && !rate.ok) {
        metrics.errors.labels("limit").inc();
        const { connectionRatePerClient: perSecond, connectionBurstPerClient: burst } = this.#limits;
        void refuseConnection(conn, ctx, {
          rule: "limit",
          reason: `too many new connections from ${clientRateKey(ip)} (limit ${perSecond} a second, ${burst} at once)`,
          status: 429,
          retryAfterMs: rate.retryAfterMs,
        });
        return;
      }
      // counted as the rate is: an IPv6 client by its /64, whichever of its addresses it uses
      const client = clientRateKey(ip);
      const fromClient = this.#perClient.get(client) ?? 0;
      const { maxConnectionsPerClient } = this.#limits;
      if (fromClient >= maxConnectionsPerClient) {
        metrics.errors.labels("limit").inc();
        void refuseConnection(conn, ctx, { rule: "limit", reason: `too many connections from ${client} (limit ${maxConnectionsPerClient})`, status: 503 });
        return;
      }
      this.#perClient.set(client, fromClient + 1);
      this.open.add(conn);
      ctx.drain?.hold(conn); // the listener's: closed when a reload dropped it and its grace is over
      gauge.inc();
      active.set(l.name, (active.get(l.name) ?? 0) + 1);
      handler(conn)
        .catch(() => conn.close())
        .finally(() => {
          const n = (this.#perClient.get(client) ?? 1) - 1;
          if (n > 0) this.#perClient.set(client, n);
          else this.#perClient.delete(client);
          this.open.delete(conn);
          ctx.drain?.release(conn);
          gauge.dec();
          active.set(l.name, (active.get(l.name) ?? 1) - 1);
        });
    };
    return (socket) => {
      if (!this.#accepting || this.open.size >= this.#limits.maxConnections) {
        metrics.errors.labels("limit").inc();
        if (!refusedInHttp(ctx)) return socket.close(); // a TLS or SOCKS client could not read the 503
        const w = socket.writable.getWriter();
        w.write(this.#overload).then(() => w.close()).catch(() => {}).finally(() => setTimeout(() => socket.close(), 1000));
        return;
      }
      if (!balancers) return serve(socket);
      this.open.add(socket); // counted (and closed at shutdown) while its header is read
      admitRelayed(socket, ctx, balancers)
        .then((conn) => {
          this.open.delete(socket);
          if (conn) serve(conn);
        }, () => {
          this.open.delete(socket);
          socket.close();
        });
    };
  }
}
