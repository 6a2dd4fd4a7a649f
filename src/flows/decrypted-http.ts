import type { Conn } from "../core/conn.ts";
import { hostText, tryNormalizeHost } from "../core/host.ts";
import { TlsValidationError } from "../core/tls.ts";
import { parseHostPort } from "../protocol/http-authority.ts";
import { requestBodyFraming } from "../protocol/body-framing.ts";
import { HttpParseError } from "../protocol/http-errors.ts";
import type { RequestHead } from "../protocol/http-request-head.ts";
import type { RequestRecord } from "../log/flow-record.ts";
import type { Host } from "../policy/types.ts";
import { answerAndClose, sendAndClose } from "./answers.ts";
import { blockInfo, blockPageOf } from "./blocked.ts";
import { ConnReader, FlowTimeoutError } from "./conn-reader.ts";
import type { UrlDecision } from "../policy/types.ts";
import type { FlowContext } from "./context.ts";
import { errorText, type FlowState } from "./flow-state.ts";
import { ExchangeAbortedError, sentBefore, UpstreamClosedError } from "./exchange-errors.ts";
import { exchange } from "./http-exchange.ts";
import { nextRequest } from "./next-request.ts";
import { requestRecord } from "./request-record.ts";
import { decideUrl, UrlRefusalError, urlExchangeOptions } from "./url-verdict.ts";
import { UpstreamError } from "./upstream.ts";
import { connectionBoundAuth } from "../protocol/connection-auth.ts";
import { isIdempotent } from "../protocol/idempotent.ts";


/** An upstream connection of a decrypted session, and what to do with it once idle. */
export interface UpstreamHandle {
  readonly conn: Conn;
  /** Its reader, when it was read before (a pooled connection); else one is made. */
  readonly reader?: ConnReader;
  /** Requests it carried before (a pooled connection counts as reused). */
  readonly served?: number;
  /**
   * Takes the connection for reuse by another session once this one ends with it idle and
   * kept alive (every response complete); without it the connection is closed.
   */
  readonly keep?: (reader: ConnReader, served: number) => void;
}

export interface DecryptedResult {
  readonly bytesUp: number;
  readonly bytesDown: number;
  readonly end: string;
  readonly error?: string;
}

/**
 * The inspected HTTP/1.1 relay on a decrypted connection: each request is checked — its
 * Host must name the host the connection was decrypted for (domain fronting → 421), URL
 * rules may block it (403 naming the rule) — then forwarded with `exchange()`. One request
 * line per request goes to the flow log. When the origin closes a keep-alive connection,
 * the next request gets a fresh (validated) upstream connection via `reconnect`. An
 * upstream left idle and kept alive when the session ends goes to its `keep`.
 */
export async function relayDecryptedHttp(
  client: Conn,
  upstream: UpstreamHandle,
  host: Host,
  port: number,
  ctx: FlowContext,
  flow: FlowState,
  reconnect: () => Promise<UpstreamHandle>,
  connectionLog: boolean,
  /**
   * Whether the Host port must equal `port`. True after CONNECT (the client named it);
   * false in transparent mode, where the Host port is the client's view of the original
   * destination, which a REDIRECT hides from us.
   */
  portMustMatch = true,
): Promise<DecryptedResult> {
  const cR = new ConnReader(client);
  let handle: UpstreamHandle = upstream;
  let up: Conn | undefined = upstream.conn;
  let uR: ConnReader | undefined = upstream.reader ?? new ConnReader(upstream.conn);
  /** Requests the current upstream connection has carried: a reused one may have been closed by the origin. */
  let upServed = upstream.served ?? 0;
  /** The current upstream is between responses (or has had none yet): another session may reuse it. */
  let upIdle = true;
  /**
   * A request used connection-bound authentication (NTLM, Negotiate): the origin may treat
   * the connection as this client's from then on, so no other client may ever get it.
   */
  let pinned = false;
  let bytesUp = 0;
  let bytesDown = 0;
  let first = true;
  const r = flow.record;
  const origin = `https://${hostText(host)}${port === 443 ? "" : `:${port}`}`;
  const done = (end: string, error?: string): DecryptedResult => {
    if (up && uR && upIdle && !pinned && handle.keep && error === undefined) handle.keep(uR, upServed);
    else up?.close();
    return error === undefined ? { bytesUp, bytesDown, end } : { bytesUp, bytesDown, end, error };
  };
  for (;;) {
    const next = await nextRequest(client, cR, ctx.limits, first, ctx.drain);
    if (!("head" in next)) return "error" in next ? done(next.end, next.error) : done(next.end);
    // from the head on: the time a keep-alive connection sat idle before it is not the request's
    const started = Date.now();
    const head: RequestHead = next.head;
    first = false;
    r.requests += 1;
    const path = head.form === "absolute" ? (head.path ?? "/") : head.target;
    const req: RequestRecord = requestRecord(r, head, hostText(host), port, origin + (head.form === "origin" ? head.target : path));
    const logRequest = (log: boolean, error?: string) => {
      if (error !== undefined) req.error = error;
      req.time = new Date().toISOString();
      req.durationMs = Date.now() - started;
      ctx.flowLog.write(req, !(log || error !== undefined));
    };

    if (head.method.toUpperCase() === "CONNECT" || (head.form !== "origin" && head.form !== "absolute")) {
      // a CONNECT inside the decrypted session (authority-form, never checked against the
      // session's host) would reach an origin that is itself a proxy, and with an upgrade
      // become a relay nothing inspects; OPTIONS * has no path a URL rule can judge
      const why = `${head.method} ${head.target} is not accepted inside a decrypted connection`;
      req.status = 405;
      req.decision = "deny";
      req.rule = "method";
      req.reason = why;
      logRequest(true);
      await answerAndClose(client, cR, 405, why, { method: head.method });
      return done("denied", why);
    }
    const misdirected = checkHost(head, host, portMustMatch ? port : undefined);
    if (misdirected) {
      req.status = 421;
      req.decision = "deny";
      req.rule = "host-mismatch";
      req.reason = misdirected;
      logRequest(true);
      await answerAndClose(client, cR, 421, misdirected, { proxyError: "destination_denied", method: head.method });
      return done("denied", misdirected);
    }
    const decision: UrlDecision = decideUrl(ctx, host, path, head, flow.who());
    // a URL rule that matched says whether to log; otherwise the connection's rule does
    let log = decision.ruleId === "default" ? connectionLog : decision.log;
    const decided = (d: UrlDecision) => {
      log = d.ruleId === "default" ? connectionLog : d.log;
      req.decision = d.action;
      req.rule = d.ruleId;
      req.reason = d.reason;
    };
    /** Answers with the block page (the request was denied, its response, or a body over a limit: 413) and ends the session. */
    const deny = async (d: UrlDecision, status?: 403 | 413) => {
      decided(d);
      const answer = blockPageOf(ctx).answer(blockInfo(flow, host, port, req.url, d), { method: head.method, accept: head.headers.get("accept") ?? undefined, ...(status ? { status } : {}) });
      req.status = answer.status;
      logRequest(log);
      await sendAndClose(client, cR, answer.bytes);
      return done("denied");
    };
    decided(decision);
    if (decision.action === "deny") return await deny(decision);
    let framing;
    try {
      framing = requestBodyFraming(head);
    } catch (e) {
      req.status = e instanceof HttpParseError ? e.status : 400;
      logRequest(true, errorText(e));
      await answerAndClose(client, cR, req.status, errorText(e), { method: head.method });
      return done("error", errorText(e));
    }
    // RFC 9112 §3.2.2: with absolute-form the target's authority is the Host (a Host field
    // naming another server must not reach the origin: that would be domain fronting)
    const hostHeader = head.form === "absolute" && head.url ? head.url.host : (head.headers.get("host") ?? hostText(host));
    if (connectionBoundAuth(head.headers)) pinned = true;
    const options = { ...urlExchangeOptions(decision, decided), meter: flow.meter() };
    let result;
    for (let attempt = 0; ; attempt++) {
      try {
        upIdle = false;
        if (!up || !uR) {
          handle = await reconnect();
          up = handle.conn;
          uR = handle.reader ?? new ConnReader(up);
          upServed = handle.served ?? 0;
        }
        result = await exchange({ client, clientReader: cR, upstream: up, upstreamReader: uR }, head, framing, path, hostHeader, ctx, options);
        upServed += 1;
        break;
      } catch (e) {
        const reused = up !== undefined && upServed > 0;
        up?.close();
        up = undefined;
        uR = undefined;
        // what went up before the failure (a body the origin took) is logged all the same
        const sent = sentBefore(e);
        req.bytesUp += sent.bytesUp;
        req.bytesDown += sent.bytesDown;
        bytesUp += sent.bytesUp;
        bytesDown += sent.bytesDown;
        if (e instanceof UrlRefusalError) return await deny(e.decision, e.status);
        // A kept-alive upstream may have closed (FIN) or been reset (RST) just as we reused it:
        // retry once on a fresh connection, but only for a request without a body (nothing of
        // it was consumed), and after a reset only an idempotent one (it may have arrived). A
        // connection opened for this request is no such race: the origin saw it and went away,
        // and a proxy must not send it again (RFC 9110 §9.2.2).
        const lostReused = reused && (e instanceof UpstreamClosedError || (isConnectionError(e) && isIdempotent(head.method)));
        if (lostReused && attempt === 0 && framing.kind === "none") continue;
        if (e instanceof ExchangeAbortedError) {
          // the client already got the origin's status and some bytes: log those
          if (e.cause instanceof UrlRefusalError) decided(e.cause.decision); // cut off at a body limit
          req.status = e.sent.status;
          req.headerMs = e.sent.headerAt === null ? null : e.sent.headerAt - started;
          req.bytesUp += e.sent.bytesUp;
          req.bytesDown += e.sent.bytesDown;
          bytesUp += e.sent.bytesUp;
          bytesDown += e.sent.bytesDown;
          logRequest(true, errorText(e));
          client.close();
          return done(e.clientReset ? "client-reset" : "error", errorText(e));
        }
        const status = e instanceof UpstreamError ? e.status : e instanceof FlowTimeoutError ? 504 : e instanceof HttpParseError ? e.status : 502;
        req.status = status;
        if (e instanceof TlsValidationError) {
          // as for the CONNECT: name the validation failure (the reconnect re-validated)
          const message = `Upstream certificate rejected (${e.code}): ${e.message}`;
          logRequest(true, message);
          await answerAndClose(client, cR, 502, message, { proxyError: "tls_certificate_error", method: head.method });
          return done("error", message);
        }
        logRequest(true, errorText(e));
        await answerAndClose(client, cR, status, errorText(e), { method: head.method });
        return done("error", errorText(e));
      }
    }
    req.status = result.status;
    req.headerMs = result.headerAt - started;
    req.bytesUp += result.bytesUp;
    req.bytesDown += result.bytesDown;
    bytesUp += result.bytesUp;
    bytesDown += result.bytesDown;
    logRequest(log);
    if (result.upgradedEnd !== undefined) return done(result.upgradedEnd);
    if (!result.keepUpstream) {
      up?.close();
      up = undefined;
      uR = undefined;
    } else {
      upIdle = true;
    }
    if (!result.keepClient) {
      client.close();
      return done("eof");
    }
  }
}

/**
 * The request must be for the host the connection was decrypted for: a different Host
 * (or absolute-form authority) is domain fronting. Returns why it is refused, or undefined.
 */
function checkHost(head: RequestHead, host: Host, port: number | undefined): string | undefined {
  const a0 = head.form === "absolute" ? head.authority : undefined;
  // Authority.host keeps no brackets: put them back for an IPv6 literal before re-parsing
  const value = a0 ? `${a0.host.includes(":") ? `[${a0.host}]` : a0.host}:${a0.port}` : head.headers.get("host");
  if (value === undefined) return `Request has no Host; expected "${hostText(host)}"`;
  const a = parseHostPort(value, 443);
  const h = a ? tryNormalizeHost(a.host) : undefined;
  if (!a || !h || hostText(h) !== hostText(host) || (port !== undefined && a.port !== port)) {
    const expected = port === undefined ? hostText(host) : `${hostText(host)}:${port}`;
    return `Host "${value}" does not match the host this connection was opened for ("${expected}")`;
  }
  return undefined;
}

/** A transport failure (reset, broken pipe, closed), not a protocol error or a timeout of ours. */
function isConnectionError(e: unknown): boolean {
  return !(e instanceof HttpParseError || e instanceof FlowTimeoutError || e instanceof ExchangeAbortedError);
}
