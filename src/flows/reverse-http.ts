/**
 * The HTTP/1.1 request loop of a reverse listener (over TLS, or plain): each request is
 * routed by host, path and method; the route's client allow list and deny rules apply;
 * then it goes to a backend of the route's pool (see `reverse-forward.ts`). One request
 * line per request goes to the flow log (`rule` = the route id). Errors get a short answer:
 * no route 404, refused 403, backend unreachable 502, backend silent 504.
 *
 * On a listener with `tls.clientCertificates`, each request is first signed in by the
 * connection's certificate, checked against the CAs and CRLs in force when it arrives: without
 * a valid one where one is required (or with a bad one at all), `403` saying why (rule
 * `client-certificate`). The certificate's user is the request's: a route's `basicAuth` takes
 * it in place of a password, and the backend gets it in `X-Forwarded-User`.
 * @module
 */
import type { Conn } from "../core/conn.ts";
import { hostText, tryNormalizeHost } from "../core/host.ts";
import type { RequestRecord } from "../log/flow-record.ts";
import type { Host } from "../policy/types.ts";
import { requestBodyFraming } from "../protocol/body-framing.ts";
import { parseHostPort } from "../protocol/http-authority.ts";
import { HttpParseError } from "../protocol/http-errors.ts";
import type { RequestHead } from "../protocol/http-request-head.ts";
import { HeaderList } from "../protocol/http-headers.ts";
import { requestOverrides } from "../protocol/request-overrides.ts";
import { backendTarget } from "../reverse/backend-path.ts";
import { backendName } from "../reverse/dial.ts";
import { originalClient } from "../reverse/forwarded.ts";
import { inForce, type ReverseListenerState } from "../reverse/listener-state.ts";
import { clientAllowed } from "../reverse/routes.ts";
import { clientRateKey } from "../policy/rate-limiter.ts";
import { ReverseErrorPages } from "../reverse/error-pages.ts";
import { lingerClose, sendAndClose } from "./answers.ts";
import { ConnReader } from "./conn-reader.ts";
import type { FlowContext } from "./context.ts";
import { errorText, type FlowState } from "./flow-state.ts";
import { forwardReverse, type KeptBackend, releaseBackend } from "./reverse-forward.ts";
import { nextRequest } from "./next-request.ts";
import { requestRecord } from "./request-record.ts";
import { REQUEST_ID_FIELD, requestIdFor } from "../reverse/request-id.ts";
import { requestCertificate, routeUser, type SignInRefusal } from "./reverse-sign-in.ts";
import type { ConnectionCertificate } from "../auth/connection-certificate.ts";

/** No fields: an untrusted client's override fields do not reach the backend. */
const NO_FIELDS = new HeaderList();

/** Methods never forwarded: CONNECT (not a proxy here), TRACE (would reflect credentials), PRI (HTTP/2 preface). */
const REFUSED_METHODS = new Set(["CONNECT", "TRACE", "PRI"]);

/** Said to a request whose connection's listener a reload renamed, removed or made another kind. */
const RENAMED = "The listener this connection was made to was changed by a reload; connect again";

/** How the client reached the listener, and the certificate it presented. */
export interface ReverseConnInfo {
  readonly proto: "http" | "https";
  /** The SNI of a TLS connection, lowercase; null without one. */
  readonly sni: string | null;
  /** The client certificate it presented (`der` null: none, or not asked for one). */
  readonly certificate: ConnectionCertificate;
}

/** Totals of one client connection. */
export interface ReverseHttpResult {
  readonly bytesUp: number;
  readonly bytesDown: number;
  readonly end: string;
  readonly error?: string;
}

/**
 * Serves requests on `client` until it closes, an error closes it, or it is upgraded. Each
 * request is routed with the listener state `current` gives when it arrives.
 */
export async function serveReverseHttp(
  client: Conn,
  ctx: FlowContext,
  current: () => ReverseListenerState,
  flow: FlowState,
  info: ReverseConnInfo,
): Promise<ReverseHttpResult> {
  const cR = new ConnReader(client);
  const r = flow.record;
  /** The backend connection waiting for this client's next request (see `hold`). */
  let kept: KeptBackend | undefined;
  let holdTimer: ReturnType<typeof setTimeout> | undefined;
  /**
   * After a response: the connection waits for this client's next request, so a busy
   * keep-alive client keeps its own (no hand-over, no churn through the pool), but only for
   * the pool's `clientHoldMs`: then it joins the pool, and a client that keeps its connection
   * open and idle holds no backend connection (the backends see about as many connections as
   * requests in flight, not as many as idle browsers). One tied to this client (NTLM), or of a
   * pool that shares none, stays until the client goes.
   */
  const hold = (b: KeptBackend) => {
    const { idle, clientHoldMs } = b.pool;
    if (b.pinned || !idle) {
      keep(b);
    } else if (clientHoldMs <= 0) {
      releaseBackend(b);
    } else {
      keep(b);
      holdTimer = setTimeout(() => {
        holdTimer = undefined;
        if (kept !== b) return;
        kept = undefined;
        releaseBackend(b);
      }, clientHoldMs);
    }
  };
  /**
   * Keeps `b` for this client's next request, watched as the pool watches its idle ones:
   * whatever arrives while it waits (the backend's FIN after its keep-alive timeout, a reset,
   * stray bytes) ends it, so the next request gets a fresh connection. (One with a body could
   * not be sent again after finding the kept one dead.)
   */
  const keep = (b: KeptBackend) => {
    kept = b;
    const gone = () => {
      if (kept !== b) return; // taken or handed on meanwhile: what arrived is its new owner's
      kept = undefined;
      clearTimeout(holdTimer);
      holdTimer = undefined;
      b.conn.close();
    };
    b.reader.wait().then(gone, gone);
  };
  let bytesUp = 0;
  let bytesDown = 0;
  let first = true;
  const done = (end: string, error?: string): ReverseHttpResult => {
    clearTimeout(holdTimer);
    const last = kept;
    kept = undefined;
    if (last) releaseBackend(last); // between responses: any client's next request may take it
    return error === undefined ? { bytesUp, bytesDown, end } : { bytesUp, bytesDown, end, error };
  };
  const localPort = client.local.port;
  for (;;) {
    const next = await nextRequest(client, cR, ctx.limits, first, ctx.drain);
    if (!("head" in next)) {
      if (!("error" in next)) return done(next.end);
      if ("status" in next) r.status = next.status;
      return done(next.end, next.error);
    }
    const head: RequestHead = next.head;
    clearTimeout(holdTimer); // `kept`, if still there, is this request's to take
    holdTimer = undefined;
    first = false;
    const started = Date.now();
    r.requests += 1;
    const hostField = head.form === "absolute" && head.url ? head.url.host : head.headers.get("host");
    const target = head.form === "origin" ? head.target : (head.path ?? "/");
    const authority = hostField ? parseHostPort(hostField, info.proto === "https" ? 443 : 80) : undefined;
    let host: Host | undefined = authority ? tryNormalizeHost(authority.host) : undefined;
    if (hostField === undefined && info.sni) host = tryNormalizeHost(info.sni);
    const shownHost = hostField ?? (host ? hostText(host) : "");
    const state = inForce(current);
    const trusted = state?.trust.has(client.remote.address) ?? false;
    const clientIp = state ? originalClient(head.headers, client.remote.address, state.trust) : client.remote.address;
    const requestId = requestIdFor(head.headers, trusted);
    const req: RequestRecord = {
      ...requestRecord(r, head, host ? hostText(host) : shownHost, localPort, `${info.proto}://${shownHost}${target}`),
      user: null, // the user this request authenticated as (a route with basicAuth)
      requestId,
      decision: "deny",
      rule: "none",
    };
    r.host ??= req.host;
    const logRequest = (log: boolean, error?: string) => {
      if (error !== undefined) req.error = error;
      req.time = new Date().toISOString();
      req.durationMs = Date.now() - started;
      r.status = req.status;
      r.decision = req.decision;
      r.rule = req.rule;
      r.reason = req.reason;
      if (log || error !== undefined) ctx.flowLog.write(req);
    };
    /** Answers with an error and closes: the request line and the flow's end. */
    const refuse = async (
      status: number,
      reason: string,
      end: string,
      proxyError?: string,
      more: {
        readonly headers?: readonly (readonly [string, string])[];
        readonly logReason?: string;
        /** The reason names the gateway's inside: only `errorPages.detailsFor` clients are shown it (default: a 5xx's). */
        readonly internal?: boolean;
      } = {},
    ): Promise<ReverseHttpResult> => {
      const refusal = status === 401 || status === 403 || status === 404 || status === 429; // a decision, not an error
      req.status = status;
      req.reason = more.logReason ?? reason;
      logRequest(true, refusal ? undefined : reason);
      const answer = (state?.errorPages ?? ReverseErrorPages.default).answer({
        status,
        message: reason,
        ...(more.internal === undefined ? {} : { internal: more.internal }),
        client: clientIp,
        requestId,
        method: head.method,
        accept: head.headers.get("accept"),
        host: req.host,
        url: req.url,
        proxyError,
        headers: [...(more.headers ?? []), [REQUEST_ID_FIELD, requestId]],
      });
      await sendAndClose(client, cR, answer);
      return done(end, refusal ? undefined : reason);
    };

    if (!state) {
      // a reload renamed or removed the listener (or made it another kind) under this
      // connection: 421 tells the client to send the request again on a new connection,
      // which gets what the listener is now
      return refuse(421, RENAMED, "error");
    }

    /** Answers a sign-in refusal. */
    const refuseFor = (no: SignInRefusal): Promise<ReverseHttpResult> => {
      if (no.rule !== undefined) req.rule = no.rule;
      if (no.user !== undefined) {
        req.user = no.user;
        r.user = no.user;
      }
      // written for the user, and saying nothing of the inside (the log has the rest): to everyone
      return refuse(no.status, no.message, no.end, no.proxyError, {
        ...(no.headers ? { headers: no.headers } : {}),
        ...(no.logReason === undefined ? {} : { logReason: no.logReason }),
        internal: false,
      });
    };
    if (REFUSED_METHODS.has(head.method.toUpperCase())) return refuse(405, `Method "${head.method}" is not accepted here`, "error");
    if (hostField !== undefined && !host) return refuse(400, `Invalid Host ${JSON.stringify(hostField)}`, "error");
    const checked = await requestCertificate(info.certificate);
    if ("refused" in checked) return refuseFor(checked.refused);
    /** Signed in by the certificate: the request's user, whatever the route. */
    const certified = checked.certified;
    if (certified) {
      req.user = certified.user;
      r.user = certified.user;
    }
    const found = state.routes.resolve({ host, target, method: head.method, listener: r.listener });
    if (found.kind === "bad-path") return refuse(400, found.reason, "error");
    if (found.kind === "none") {
      req.rule = "no-route";
      return refuse(404, `No route for ${shownHost || "(no host)"}${found.path}`, "denied", "destination_not_found");
    }
    const route = found.route;
    req.rule = route.id;
    if (found.dotSegments && route.config.backendPrefix === undefined) {
      // the target goes on as sent, and a backend that does not resolve "." and ".." (or
      // decodes "%2E" first) would read another place than the one the route was chosen by
      return refuse(400, `Dot-segments ("." or "..") in the request path are not accepted: ${JSON.stringify(target.split("?")[0])}`, "error");
    }
    if (route.clients && !clientAllowed(route.clients, clientIp)) {
      return refuse(403, `Client ${clientIp} is not allowed on route "${route.id}"`, "denied", "destination_denied", { internal: true });
    }
    if (route.deny) {
      // what reaches the backend is judged: the query's `_method`, and override fields a
      // trusted proxy passes on (an untrusted client's are removed)
      const overrides = requestOverrides(trusted ? head.headers : NO_FIELDS, head.method, target);
      const d = route.deny.decide({ host: host ?? { kind: "ipv4", address: "0.0.0.0" }, path: target, method: head.method, overrides });
      if (d.action === "deny") {
        req.rule = d.ruleId;
        return refuse(403, `Blocked by route "${route.id}": ${d.reason}`, "denied", "destination_denied", { internal: true });
      }
    }
    const limit = route.config.rateLimit;
    const bucket = limit?.per === "client" ? clientRateKey(clientIp) : "";
    const verdict = limit ? state.limiters.get(route.id)?.limiter.take(bucket) : undefined;
    if (limit && verdict && !verdict.ok) {
      // before basicAuth: a password guesser is held to the rate too, not each guess a PBKDF2
      req.rule = `${route.id}.rate-limit`;
      const seconds = Math.ceil(verdict.retryAfterMs / 1000);
      const whose = limit.per === "client" ? `client ${bucket}` : "all clients together";
      return refuse(429, `Too many requests on route "${route.id}": ${whose} over ${limit.requestsPerSecond} requests/s (burst ${limit.burst}); retry after ${seconds} s`, "denied", undefined, {
        headers: [["Retry-After", String(seconds)]],
        internal: true,
      });
    }
    const signedIn = await routeUser(route, certified, state, head.headers, clientIp);
    if ("refused" in signedIn) return refuseFor(signedIn.refused);
    req.user = signedIn.user;
    r.user = signedIn.user ?? r.user;
    const pool = state.pools.get(route.config.pool);
    if (!pool) return refuse(502, `Route "${route.id}" names no known pool`, "error");
    let framing;
    try {
      framing = requestBodyFraming(head);
    } catch (e) {
      return refuse(e instanceof HttpParseError ? e.status : 400, errorText(e), "error");
    }
    req.decision = "allow";
    req.reason = `route "${route.id}" to pool "${route.config.pool}"`;
    const bp = route.config.backendPrefix;
    const reuse = kept; // this request's now: its watch leaves what arrives to the request
    kept = undefined;
    const outcome = await forwardReverse(
      ctx,
      {
        client,
        clientReader: cR,
        head,
        framing,
        target: bp === undefined ? target : backendTarget(found.path, route.prefix, bp, target),
        hostField,
        route,
        pool,
        proto: info.proto,
        trusted,
        identityTrusted: state.identityTrust.has(client.remote.address),
        user: req.user,
        certificates: state.tls?.clientCertificates !== undefined,
        forwardCertificate: certified && state.tls?.clientCertificates?.forwardCertificate ? info.certificate.der : null,
        requestId,
        meter: flow.meter(),
        clientKey: pool.pool.balance === "client-hash" ? clientRateKey(clientIp) : undefined,
      },
      reuse,
      state.log,
    );
    // what attempts that failed before an answer sent (a body a backend took) is logged too
    req.bytesUp += outcome.earlier.bytesUp;
    req.bytesDown += outcome.earlier.bytesDown;
    bytesUp += outcome.earlier.bytesUp;
    bytesDown += outcome.earlier.bytesDown;
    if (outcome.kind === "failed") {
      if (outcome.backend) {
        req.reason += ` (backend ${outcome.backend})`;
        req.backend = outcome.backend;
      }
      return refuse(outcome.status, outcome.message, "error", outcome.proxyError);
    }
    if (outcome.kind === "aborted") {
      const e = outcome.error;
      req.status = e.sent.status;
      req.headerMs = e.sent.headerAt === null ? null : e.sent.headerAt - started;
      req.bytesUp += e.sent.bytesUp;
      req.bytesDown += e.sent.bytesDown;
      req.reason += ` (backend ${outcome.backend})`;
      req.backend = outcome.backend;
      bytesUp += e.sent.bytesUp;
      bytesDown += e.sent.bytesDown;
      logRequest(true, errorText(e));
      client.close();
      return done(e.clientReset ? "client-reset" : "error", errorText(e));
    }
    const { result, backend } = outcome;
    r.resolved = backend.address;
    req.status = result.status;
    req.headerMs = result.headerAt - started;
    req.bytesUp += result.bytesUp;
    req.bytesDown += result.bytesDown;
    req.reason += ` (backend ${backend.backend.url})`;
    req.backend = backendName(backend.backend);
    bytesUp += result.bytesUp;
    bytesDown += result.bytesDown;
    logRequest(route.config.log);
    if (result.upgradedEnd !== undefined) {
      backend.conn.close();
      return done(result.upgradedEnd);
    }
    if (result.keepUpstream) hold(backend);
    else backend.conn.close();
    if (!result.keepClient) {
      await lingerClose(client, cR); // our FIN went out: read to the client's (bounded), then close
      return done("eof");
    }
  }
}
