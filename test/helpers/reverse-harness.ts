/**
 * Reverse-listener pieces for flow tests over {@link FlowHarness}: routes, a listener state
 * with pools of in-memory backends, and client connections served by `handleReverse`.
 */
import type { BasicCredentials } from "../../src/auth/proxy-auth.ts";
import type { ClientCertificatePolicy } from "../../src/auth/certificate-sign-in.ts";
import type { Conn } from "../../src/core/conn.ts";
import { memoryConnPair } from "../../src/core/memory-conn.ts";
import type { FlowContext } from "../../src/flows/context.ts";
import { handleReverse } from "../../src/flows/reverse.ts";
import { parseBackendUrl } from "../../src/reverse/backend.ts";
import type { CertificateStore } from "../../src/reverse/cert-store.ts";
import type { PassthroughRouteConfig, RouteConfig } from "../../src/reverse/config-types.ts";
import { PassthroughTable } from "../../src/reverse/passthrough.ts";
import type { ProxyProtocolVersion } from "../../src/protocol/proxy-header-write.ts";
import { TrustList } from "../../src/reverse/forwarded.ts";
import { NO_EDITS } from "../../src/protocol/header-edits.ts";
import { type PoolRuntime, type ReverseListenerState, routeLimiters } from "../../src/reverse/listener-state.ts";
import { type Balance, BackendPool } from "../../src/reverse/pool.ts";
import { UpstreamPool } from "../../src/flows/upstream-pool.ts";
import { RouteTable } from "../../src/reverse/routes.ts";
import { ReverseErrorPages } from "../../src/reverse/error-pages.ts";
import { type FlowHarness, okResponse, type ParsedHead, Peer, within } from "./flow-harness.ts";

/** A route for `hosts` (path prefix "/") to `pool`, logged, without header edits or deny rules unless `extra` says. */
export function route(id: string, hosts: string[], pool: string, extra: Partial<RouteConfig> = {}): RouteConfig {
  return { id, hosts, pathPrefix: "/", pool, hostHeader: "preserve", requestHeaders: NO_EDITS, responseHeaders: NO_EDITS, deny: [], log: true, ...extra };
}

export interface PoolSpec {
  readonly backends: string[];
  readonly timeoutMs?: number;
  readonly connectTimeoutMs?: number;
  readonly ejectAfterFailures?: number;
  readonly balance?: Balance;
  /** Idle connections kept per backend for any client (default none, as before pooling). */
  readonly maxIdlePerBackend?: number;
  readonly idleTimeoutMs?: number;
  /** How long a connection waits for its client's next request before joining the pool (default 0: at once). */
  readonly clientHoldMs?: number;
  /** The backends expect a PROXY protocol header. */
  readonly proxyProtocol?: ProxyProtocolVersion;
}

/** A listener state: `routes`, `pools` by name, listener log lines into `logs`; TLS when `extra.store` is given. */
export function state(
  routes: RouteConfig[],
  pools: Record<string, PoolSpec>,
  logs: string[] = [],
  extra: {
    store?: CertificateStore;
    trust?: string[];
    /** `trustIdentityFrom`. */
    identityTrust?: string[];
    credentials?: BasicCredentials;
    passthrough?: PassthroughRouteConfig[];
    /** With `store`: clients are asked for certificates (`tls.clientCertificates`). */
    clientCertificates?: ClientCertificatePolicy;
    /** `reverse.errorPages` (default: text, no details to anyone). */
    errorPages?: ReverseErrorPages;
  } = {},
): ReverseListenerState {
  const map = new Map<string, PoolRuntime>();
  for (const [id, p] of Object.entries(pools)) {
    map.set(id, {
      pool: new BackendPool(id, p.backends.map(parseBackendUrl), { ejectAfterFailures: p.ejectAfterFailures ?? 1, ejectMs: 60_000, ...(p.balance ? { balance: p.balance } : {}) }),
      tls: undefined,
      connectTimeoutMs: p.connectTimeoutMs ?? 1000,
      timeoutMs: p.timeoutMs ?? 2000,
      idle: p.maxIdlePerBackend ? new UpstreamPool({ maxIdle: 1000, maxIdlePerKey: p.maxIdlePerBackend, idleTimeoutMs: p.idleTimeoutMs ?? 4000 }) : undefined,
      clientHoldMs: p.clientHoldMs ?? 0,
      ...(p.proxyProtocol ? { proxyProtocol: p.proxyProtocol } : {}),
    });
  }
  return {
    tls: extra.store
      ? {
        store: extra.store,
        minVersion: "TLSv1.2",
        maxClientHelloBytes: 16384,
        maxClientHelloRecords: 16,
        ...(extra.clientCertificates ? { clientCertificates: extra.clientCertificates } : {}),
      }
      : null,
    trust: new TrustList(extra.trust ?? []),
    identityTrust: new TrustList(extra.identityTrust ?? []),
    routes: new RouteTable(routes),
    ...(extra.passthrough ? { passthrough: new PassthroughTable(extra.passthrough) } : {}),
    pools: map,
    limiters: routeLimiters(routes),
    errorPages: extra.errorPages ?? ReverseErrorPages.default,
    credentials: () => extra.credentials,
    log: (m) => logs.push(m),
  };
}

let nextPort = 51000;

/**
 * A client connection to a reverse listener on port 8443 (plain HTTP unless the state has
 * TLS): the client's end, the flow's promise, and the listener's end (to reset it). A
 * function for `s` is asked for the state in force each time, as after a reload. `extra`
 * goes over the harness's context.
 */
export function open(
  h: FlowHarness,
  s: ReverseListenerState | (() => ReverseListenerState),
  extra: Partial<FlowContext> = {},
): { c: Peer; done: Promise<void>; proxySide: Conn } {
  const [proxySide, clientSide] = memoryConnPair({ remote: { address: "127.0.0.1", port: nextPort++ }, local: { address: "127.0.0.1", port: 8443 } });
  const ctx: FlowContext = { ...h.ctx, mode: "reverse", listenerName: "web", ...extra };
  return { c: new Peer(clientSide), done: handleReverse(proxySide, ctx, typeof s === "function" ? s : () => s), proxySide };
}

/** Answers each request on `o` with `answer(head)` until the connection ends, recording the heads in `seen`. */
export async function answerEach(o: Peer, answer: (head: ParsedHead) => string, seen: ParsedHead[]): Promise<void> {
  for (;;) {
    let head;
    try {
      head = await o.readHead();
    } catch {
      return;
    }
    seen.push(head);
    await o.write(answer(head));
  }
}

/** An origin answering each request with its name and recording the heads it saw. */
export function named(h: FlowHarness, address: string, port: number, name: string, seen: ParsedHead[] = []): ParsedHead[] {
  h.origin(address, port, (o) => answerEach(o, () => okResponse(name, "X-Backend-Secret: 1\r\nServer: origin/1.0\r\n"), seen));
  return seen;
}

/** Ends the client, reads what is left, and waits for the flow. */
export async function close(c: Peer, done: Promise<void>): Promise<void> {
  await c.end().catch(() => {});
  await c.readToEndOrReset();
  await within(done, 3000, "the reverse flow");
}
