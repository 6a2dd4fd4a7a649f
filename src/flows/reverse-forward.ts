/**
 * One request on a reverse listener, after its route was found and allowed: the request
 * fields for the backend, a backend connection (kept from the previous request, or a new
 * one from the pool with fail-over), then `exchange()`.
 * @module
 */
import type { Conn } from "../core/conn.ts";
import { RelayedConn } from "../core/relayed-conn.ts";
import { TlsValidationError } from "../core/tls.ts";
import type { BodyFraming } from "../protocol/body-framing.ts";
import { HttpParseError } from "../protocol/http-errors.ts";
import type { HeaderList } from "../protocol/http-headers.ts";
import { connectionOptions, stripHopByHop } from "../protocol/hop-by-hop.ts";
import type { RequestHead } from "../protocol/http-request-head.ts";
import { backendName, dialBackend } from "../reverse/dial.ts";
import { FORWARDING_FIELDS, forwardedHeaders, forwardedUserValue, IDENTITY_FIELDS, OVERRIDE_FIELDS, withoutFields, withoutLookalikes } from "../reverse/forwarded.ts";
import { REQUEST_ID_FIELD } from "../reverse/request-id.ts";
import { applyHeaderEdits, editedNames, type HeaderEditsConfig, isNoop } from "../protocol/header-edits.ts";
import { idleKey, type PoolRuntime } from "../reverse/listener-state.ts";
import type { Backend } from "../reverse/pool.ts";
import type { CompiledRoute } from "../reverse/routes.ts";
import { ConnReader, FlowTimeoutError } from "./conn-reader.ts";
import type { FlowContext } from "./context.ts";
import { errorText } from "./flow-state.ts";
import { ExchangeAbortedError, sentBefore, UpstreamClosedError } from "./exchange-errors.ts";
import { exchange, type ExchangeResult } from "./http-exchange.ts";
import { UpstreamError } from "./upstream.ts";
import { connectionBoundAuth } from "../protocol/connection-auth.ts";
import { isIdempotent } from "../protocol/idempotent.ts";
import { proxyHeader, type ProxyProtocolVersion } from "../protocol/proxy-header-write.ts";
import type { ByteCounts, ExchangeMeter } from "./exchange-meter.ts";

/**
 * A backend connection kept open between requests of one client connection; when the client
 * moves to another pool or goes, it is given to its pool's idle connections
 * ({@link releaseBackend}) for any client's next request.
 */
export interface KeptBackend {
  readonly pool: PoolRuntime;
  readonly backend: Backend;
  readonly conn: Conn;
  readonly reader: ConnReader;
  readonly address: string;
  /** Requests it has carried (for this client and any before). */
  served: number;
  /** It carried connection-bound authentication (NTLM, Negotiate): never another client's. */
  pinned: boolean;
}

/**
 * Done with a backend connection that is between responses: it joins its pool's idle
 * connections, unless it is tied to its client (`pinned`), the pool keeps none, or its backend
 * is out of service; then it is closed.
 */
export function releaseBackend(kept: KeptBackend): void {
  const idle = kept.pool.idle;
  if (!idle || kept.pinned || !kept.pool.pool.available(kept.backend)) {
    kept.conn.close();
    return;
  }
  idle.give(idleKey(kept.backend), { conn: kept.conn, reader: kept.reader, served: kept.served, info: { backend: kept.backend, address: kept.address } });
}

/** The request as the client sent it, and where it goes. */
export interface ReverseRequest {
  readonly client: Conn;
  readonly clientReader: ConnReader;
  readonly head: RequestHead;
  readonly framing: BodyFraming;
  /** Origin-form target to send. */
  readonly target: string;
  /** The client's Host (or absolute-form authority), if any. */
  readonly hostField: string | undefined;
  readonly route: CompiledRoute;
  readonly pool: PoolRuntime;
  readonly proto: "http" | "https";
  readonly trusted: boolean;
  /** The peer is a proxy in `trustIdentityFrom`: its `X-Forwarded-User` / `Client-Cert` stand where the gateway signs no one in. */
  readonly identityTrusted: boolean;
  /** The user signed in: by the client's certificate, or the password of the route's `basicAuth`; else null. */
  readonly user: string | null;
  /** The listener takes client certificates (`tls.clientCertificates`): the gateway says who the client is. */
  readonly certificates: boolean;
  /** The verified certificate (DER) the backend gets in `Client-Cert` (`forwardCertificate`), else null. */
  readonly forwardCertificate: Uint8Array | null;
  /** The request's `X-Request-Id` (see `reverse/request-id.ts`). */
  readonly requestId: string;
  /**
   * The original client's address as `clientRateKey` gives it (IPv6 by /64): the key of a
   * `client-hash` pool (undefined for other pools).
   */
  readonly clientKey: string | undefined;
  /** Where the exchange shows its bytes as they move (the connection's flow). */
  readonly meter?: ExchangeMeter;
}

/**
 * How the request went; `earlier` is what attempts that failed before an answer had sent
 * (their heads, a body a backend took), logged with the request.
 */
export type ForwardResult = { readonly earlier: ByteCounts } & (
  | { readonly kind: "done"; readonly result: ExchangeResult; readonly backend: KeptBackend }
  /** Nothing was sent to the client yet: answer `status` with `message`. */
  | { readonly kind: "failed"; readonly status: number; readonly message: string; readonly proxyError?: string; readonly backend?: string }
  /** The response had started: the client connection must be closed. */
  | { readonly kind: "aborted"; readonly error: ExchangeAbortedError; readonly backend: string }
);

/**
 * Request fields for the backend: hop-by-hop fields removed (and the fields a client's
 * `Connection` named — so `Connection: X-Forwarded-For` cannot drop ours), keeping only the
 * `close` / `keep-alive` / `upgrade` options the framer acts on; then the forwarding fields,
 * who the client is (`X-Forwarded-User`, `Client-Cert`) and the route's edits.
 */
export function backendRequestHeaders(
  head: RequestHead,
  req: Pick<ReverseRequest, "hostField" | "proto" | "trusted" | "identityTrusted" | "route" | "user" | "requestId" | "certificates" | "forwardCertificate">,
  peer: string,
): HeaderList {
  const options = connectionOptions(head.headers);
  const upgrade = head.headers.get("upgrade");
  let h = stripHopByHop(head.headers);
  const kept = ["close", "keep-alive", "upgrade"].filter((o) => options.has(o) && (o !== "upgrade" || upgrade !== undefined));
  if (kept.length > 0) h = h.append("Connection", kept.join(", "));
  if (kept.includes("upgrade") && upgrade !== undefined) h = h.append("Upgrade", upgrade);
  h = forwardedHeaders(h, { peer, proto: req.proto, host: req.hostField, trusted: req.trusted });
  if (!req.trusted) h = withoutFields(h, OVERRIDE_FIELDS);
  h = h.delete("x-request-id").append(REQUEST_ID_FIELD, req.requestId);
  // who the client is comes from the gateway, or a proxy trusted to say it (`trustIdentityFrom`)
  // when the gateway signs no one in here; never from the client (nor a look-alike
  // `X_Forwarded_User`), and the password the gateway checked stays with it
  const basicAuth = req.route.config.basicAuth !== undefined;
  if (basicAuth) h = h.delete("authorization");
  h = !req.identityTrusted || basicAuth || req.certificates ? withoutFields(h, IDENTITY_FIELDS) : withoutLookalikes(h, IDENTITY_FIELDS);
  if (req.user !== null) h = h.append("X-Forwarded-User", forwardedUserValue(req.user));
  if (req.forwardCertificate) h = h.append("Client-Cert", clientCertField(req.forwardCertificate));
  const edits = req.route.config.requestHeaders;
  return isNoop(edits) ? h : applyHeaderEdits(h, edits);
}

/** Trailer fields never passed to a backend (the request id is the gateway's, in the fields). */
const TRAILER_DROPPED: readonly string[] = [...FORWARDING_FIELDS, ...IDENTITY_FIELDS, REQUEST_ID_FIELD.toLowerCase()];

/**
 * A request's trailer fields for the backend. No one sends where a request came from or who
 * sent it in trailers, nor a path or method override from an untrusted client, nor a field
 * the route's `requestHeaders` edit: a backend (or its
 * framework) that merges them into the fields must not find a client's own there, nor one
 * the route removed or set. (The exchange has dropped those no trailer may carry.)
 */
function backendTrailers(trailers: HeaderList, edits: HeaderEditsConfig, trusted: boolean): HeaderList {
  const dropped = [...TRAILER_DROPPED, ...(trusted ? [] : OVERRIDE_FIELDS), ...editedNames(edits)];
  return withoutFields(trailers, dropped);
}

/** A `Client-Cert` value (RFC 9440 §2.2): the DER as a structured-field byte sequence, `:base64:`. */
export function clientCertField(der: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < der.length; i += 0x8000) binary += String.fromCharCode(...der.subarray(i, i + 0x8000));
  return `:${btoa(binary)}:`;
}

/** The Host the backend gets (see `RouteConfig.hostHeader`). */
function hostFor(req: ReverseRequest, backend: Backend): string {
  const setting = req.route.config.hostHeader;
  if (setting === "backend") return backend.authority;
  if (typeof setting === "object") return setting.set;
  return req.hostField ?? backend.authority;
}

/**
 * A connection to the pool's next backend in turn, leaving out the backends in `skip`
 * (indexes): an idle one to it when there is one (unless `fresh`, or the pool sends PROXY
 * headers), else the first backend that answers a dial (after the PROXY header naming
 * `client`); records failures (passive ejection).
 */
async function connectPool(
  ctx: FlowContext,
  pool: PoolRuntime,
  log: (message: string) => void,
  fresh: boolean,
  skip: ReadonlySet<number>,
  clientKey: string | undefined,
  client: Conn,
): Promise<KeptBackend | { readonly status: 502 | 504; readonly message: string; readonly proxyError: string }> {
  const errors: string[] = [];
  let timeouts = 0;
  let certificate = false;
  const candidates = pool.pool.candidates(clientKey).filter((b) => !skip.has(b.index));
  // a connection that names its client in a PROXY header is that client's alone
  const preamble = pool.proxyProtocol ? proxyHeaderFor(pool.proxyProtocol, client) : undefined;
  for (const b of candidates) {
    const idle = fresh || preamble ? undefined : pool.idle?.take(idleKey(b));
    if (idle) return { pool, backend: b, conn: idle.conn, reader: idle.reader, address: idle.info.address, served: idle.served, pinned: false };
    try {
      const { conn, address } = await dialBackend(ctx, b, pool.tls, pool.connectTimeoutMs, undefined, preamble ? { preamble } : {});
      pool.pool.connected(b);
      return { pool, backend: b, conn, reader: new ConnReader(conn), address, served: 0, pinned: preamble !== undefined };
    } catch (e) {
      const message = e instanceof TlsValidationError ? `Backend certificate rejected (${e.code}): ${e.message}` : errorText(e);
      if (e instanceof UpstreamError && (e.kind === "timeout" || e.kind === "dns-timeout")) timeouts++;
      if (e instanceof TlsValidationError) certificate = true;
      errors.push(message);
      if (pool.pool.connectFailed(b, message)) {
        log(`backend ${backendName(b)} of pool "${pool.pool.id}" ejected for ${ejectSeconds(pool)} s: ${message}`);
      }
    }
  }
  const all = timeouts === candidates.length;
  const message = `No backend of pool "${pool.pool.id}" could be reached: ${errors.join("; ")}`;
  return {
    status: all ? 504 : 502,
    message,
    proxyError: all ? "connection_timeout" : certificate ? "tls_certificate_error" : "connection_refused",
  };
}

/**
 * The PROXY header naming `client`: its address and the address it connected to. Behind a
 * load balancer (a listener with `proxyProtocol`) those are the ones the balancer's own
 * header named, passed on as HAProxy passes them on.
 */
export function proxyHeaderFor(version: ProxyProtocolVersion, client: Conn, authority?: string): Uint8Array {
  const destination = client instanceof RelayedConn ? client.destination : client.local;
  return proxyHeader(version, { command: "proxy", source: client.remote, destination, ...(authority ? { authority } : {}) });
}

function ejectSeconds(pool: PoolRuntime): string {
  return (pool.pool.ejectMs / 1000).toString();
}

/**
 * Sends the request to a backend of its pool and relays the answer. `kept` is reused when it
 * belongs to the same pool and its backend is still available (else it is closed).
 */
export async function forwardReverse(
  ctx: FlowContext,
  req: ReverseRequest,
  kept: KeptBackend | undefined,
  log: (message: string) => void,
): Promise<ForwardResult> {
  let up = kept && kept.pool === req.pool && req.pool.pool.available(kept.backend) ? kept : undefined;
  if (kept && !up) releaseBackend(kept);
  const bound = connectionBoundAuth(req.head.headers);
  const headers = backendRequestHeaders(req.head, req, req.client.remote.address);
  const editResponse = req.route.config.responseHeaders;
  const options = {
    ...(req.meter ? { meter: req.meter } : {}),
    requestTrailers: (t: HeaderList) => backendTrailers(t, req.route.config.requestHeaders, req.trusted),
    // the client (and whoever it reports a problem to) gets the id our request line has,
    // unless the backend named its own; the route's edits come after (they may remove it)
    responseHeaders: (h: HeaderList) => {
      const withId = h.has(REQUEST_ID_FIELD) ? h : h.append(REQUEST_ID_FIELD, req.requestId);
      return isNoop(editResponse) ? withId : applyHeaderEdits(withId, editResponse);
    },
  };
  // the pool's timeout bounds the backend's silence (and the idle time of an upgraded connection)
  const exchangeCtx: FlowContext = { ...ctx, limits: { ...ctx.limits, idleTimeoutMs: req.pool.timeoutMs } };
  /** Backends (indexes) that lost this request on a fresh connection: the next try goes elsewhere. */
  const lost = new Set<number>();
  let retriedStale = false;
  const earlier = { bytesUp: 0, bytesDown: 0 };
  for (let attempt = 0; ; attempt++) {
    if (!up) {
      // a retry takes a new connection (another idle one may be as stale), to a backend that
      // has not lost this request yet while there is one
      const skip = lost.size < req.pool.pool.backends.length ? lost : new Set<number>();
      const c = await connectPool(ctx, req.pool, log, attempt > 0, skip, req.clientKey, req.client);
      if (!("conn" in c)) return { kind: "failed", status: c.status, message: c.message, proxyError: c.proxyError, earlier };
      up = c;
    }
    if (bound) up.pinned = true;
    const name = backendName(up.backend);
    const inFlight = up.backend;
    req.pool.pool.began(inFlight); // for least-requests balancing, until `finally`
    try {
      const result = await exchange(
        { client: req.client, clientReader: req.clientReader, upstream: up.conn, upstreamReader: up.reader },
        { ...req.head, headers },
        req.framing,
        req.target,
        hostFor(req, up.backend),
        exchangeCtx,
        options,
      );
      up.served += 1;
      return { kind: "done", result, backend: up, earlier };
    } catch (e) {
      const reused = up.served > 0;
      const backend = up.backend;
      up.conn.close();
      up = undefined;
      if (e instanceof ExchangeAbortedError) return { kind: "aborted", error: e, backend: name, earlier };
      const sent = sentBefore(e);
      earlier.bytesUp += sent.bytesUp;
      earlier.bytesDown += sent.bytesDown;
      // Lost before any answer, a request without a body may be sent again: on a kept-alive
      // connection after the backend closed it without a word (the race of reuse: it took
      // nothing), or for an idempotent method after a reset. A fresh connection lost is no
      // such race: the backend may have acted on the request, so only an idempotent one goes
      // to another backend (RFC 9110 §9.2.2).
      const beforeAnswer = !(e instanceof HttpParseError || e instanceof FlowTimeoutError);
      const resendable = beforeAnswer && req.framing.kind === "none" && (e instanceof UpstreamClosedError || isIdempotent(req.head.method));
      if (resendable && reused && !retriedStale) {
        // a kept-alive connection the backend closed just as we reused it: once, on a fresh one
        retriedStale = true;
        continue;
      }
      if (resendable && !reused) {
        // a fresh connection lost: the backend is failing (it counts toward its ejection);
        // an idempotent request goes to another backend, each at most once (a pool of one:
        // once more)
        if (req.pool.pool.connectFailed(backend, errorText(e))) {
          log(`backend ${name} of pool "${req.pool.pool.id}" ejected for ${ejectSeconds(req.pool)} s: ${errorText(e)}`);
        }
        lost.add(backend.index);
        if (isIdempotent(req.head.method) && (lost.size < req.pool.pool.backends.length || attempt === 0)) continue;
      }
      if (e instanceof FlowTimeoutError) {
        return { kind: "failed", status: 504, message: `Backend ${name} did not answer within ${req.pool.timeoutMs} ms`, proxyError: "connection_timeout", backend: name, earlier };
      }
      const status = e instanceof HttpParseError ? e.status : 502;
      // a 4xx is the client's request body at fault (malformed, or it stopped arriving:
      // the backend's answer fails with 502): nothing the backend did, nor a name to show it
      const message = status < 500 ? errorText(e) : `Backend ${name}: ${errorText(e)}`;
      return { kind: "failed", status, message, backend: name, earlier };
    } finally {
      req.pool.pool.ended(inFlight);
    }
  }
}
