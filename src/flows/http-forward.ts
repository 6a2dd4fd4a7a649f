import type { Conn } from "../core/conn.ts";
import { bareHost, hostText, normalizeHost } from "../core/host.ts";
import { requestBodyFraming, type BodyFraming } from "../protocol/body-framing.ts";
import { HttpParseError } from "../protocol/http-errors.ts";
import { isIdempotent } from "../protocol/idempotent.ts";
import type { RequestHead } from "../protocol/http-request-head.ts";
import type { Host } from "../policy/types.ts";
import { answerError, lingerClose } from "./answers.ts";
import { blockInfo, denyRequest } from "./blocked.ts";
import { decideUrl, UrlRefusalError, urlExchangeOptions } from "./url-verdict.ts";
import { ConnReader, FlowTimeoutError } from "./conn-reader.ts";
import type { FlowContext } from "./context.ts";
import { errorText, type FlowState } from "./flow-state.ts";
import { ExchangeAbortedError, sentBefore, UpstreamClosedError } from "./exchange-errors.ts";
import { exchange } from "./http-exchange.ts";
import { connectUpstream, guardLiteral, noteUpstream, noteUpstreamError, parentFor, UpstreamError } from "./upstream.ts";
import { dialParent, openParentTunnel, type ParentProxy } from "../parent/tunnel.ts";
import { throughParents } from "../parent/failover.ts";
import { watchFlow } from "./live-flows.ts";
import type { HeaderList } from "../protocol/http-headers.ts";

/** An upstream connection kept open between requests of one client connection. */
export interface KeptUpstream {
  readonly key: string;
  readonly conn: Conn;
  readonly reader: ConnReader;
  /** As in `Upstream`: null, "parent" and the parent's name for a connection to a parent proxy. */
  readonly address: string | null;
  readonly dnsSource: string;
  readonly parent?: string;
  /**
   * The parent proxy it goes to, as the table in force when it was opened had it: a reload
   * makes new ones, so a connection to a parent whose address or secret a reload changed is
   * not used again.
   */
  readonly via?: ParentProxy;
  /** Our `Proxy-Authorization` for the parent proxy it goes to, if that parent has credentials. */
  readonly authorization?: string;
  /** That parent takes the client's address in `X-Forwarded-For` (`forwardedFor`). */
  readonly forwardedFor?: boolean;
  /**
   * Requests go out in absolute form: the connection is to an HTTP parent proxy (any origin).
   * A tunnel through a SOCKS5 parent is to one origin and takes origin-form, as a direct one.
   */
  readonly absoluteForm?: boolean;
}

/** What the dispatcher should do after one forwarded request. */
export type ForwardOutcome = { readonly next: "continue"; readonly upstream: KeptUpstream | undefined } | { readonly next: "stop" };

/**
 * Forwards one absolute-form request (`GET http://host/path`) to its origin: policy on the
 * target host, then one exchange (see `exchange`), with the upstream kept alive for the next
 * request to the same origin. Writes one flow line per request.
 */
export async function forwardHttp(
  client: Conn,
  src: ConnReader,
  head: RequestHead,
  ctx: FlowContext,
  flow: FlowState,
  kept: KeptUpstream | undefined,
  /** Host field to send (transparent mode keeps the client's); default: from the absolute URI. */
  hostOverride?: string,
): Promise<ForwardOutcome> {
  const r = flow.record;
  r.kind = "http";
  const started = Date.now();
  const authority = head.authority!;
  let host: Host;
  try {
    host = normalizeHost(authority.host);
  } catch (e) {
    await answerError(client, src, flow, 400, `Invalid host: ${errorText(e)}`, { method: head.method });
    return { next: "stop" };
  }
  r.host = bareHost(host); // as CONNECT logs it: no brackets
  r.port = authority.port;
  const query = { host, port: authority.port, clientIp: flow.clientIp, listener: ctx.listenerName, mode: ctx.mode, ...flow.who() };
  const decision = ctx.policy().decide(query);
  flow.decided(decision);
  const path = head.path ?? "/";
  const url = `http://${hostText(host)}${authority.port === 80 ? "" : `:${authority.port}`}${path}`;
  if (decision.action === "deny") {
    await denyRequest(client, src, head, ctx, flow, blockInfo(flow, host, authority.port, url, decision));
    return { next: "stop" };
  }
  // url rules see plain HTTP as they see decrypted requests: the path is readable here too
  const verdict = decideUrl(ctx, host, path, head, flow.who());
  flow.urlDecided(verdict);
  if (verdict.action === "deny") {
    await denyRequest(client, src, head, ctx, flow, blockInfo(flow, host, authority.port, url, verdict));
    return { next: "stop" };
  }
  watchFlow(ctx, flow, client, query, decision);
  // a rule with responseTypes that allows the response names itself in the flow line
  const edits = { ...urlExchangeOptions(verdict, (d) => flow.urlDecided(d)), meter: flow.meter() };
  let reqFraming: BodyFraming;
  try {
    reqFraming = requestBodyFraming(head);
  } catch (e) {
    await answerError(client, src, flow, e instanceof HttpParseError ? e.status : 400, errorText(e), { method: head.method });
    return { next: "stop" };
  }
  let parent: ParentProxy | undefined;
  try {
    parent = parentFor(ctx, decision);
  } catch (e) {
    await answerError(client, src, flow, e instanceof UpstreamError ? e.status : 502, errorText(e), { proxyError: e instanceof UpstreamError ? e.proxyStatus : undefined, method: head.method });
    return { next: "stop" };
  }
  // through an HTTP parent one connection carries requests for any origin, as a client's
  // would; a SOCKS5 parent's tunnel (also one to a SOCKS fallback) goes to one origin
  const origin = `${hostText(host)}|${authority.port}`;
  // (a reload that turns forwardedFor on or off does not reuse a connection opened before)
  const via = parent ? `parent|${parent.name}${parent.forwardedFor ? "|for" : ""}` : "";
  const keys = parent ? [via, `${via}|${origin}`] : [origin];
  const current = (k: KeptUpstream) => k.via === undefined || ctx.parents?.().get(k.via.name) === k.via;
  /**
   * Whether this request's decision admits the kept connection's destination, as a new dial
   * would be checked: a connection a trusted child proxy's other client opened under a rule
   * whose `allowAddresses` admitted an internal address must not serve this one.
   */
  const admitted = (k: KeptUpstream): boolean => {
    if (k.address !== null) return ctx.addressGuard?.()?.check(k.address, authority.port, decision.allowAddresses).allowed ?? true;
    try {
      guardLiteral(ctx, host, authority.port, decision); // through a parent: an IP-literal destination
      return true;
    } catch {
      return false;
    }
  };
  let up = kept && keys.includes(kept.key) && current(kept) && admitted(kept) ? kept : undefined;
  if (kept && !up) kept.conn.close();
  const dial = async (): Promise<KeptUpstream | undefined> => {
    try {
      if (parent) {
        guardLiteral(ctx, host, authority.port, decision);
        const { value: p, parent: used } = await throughParents(ctx, parent, async (candidate): Promise<{ conn: Conn; head?: Uint8Array | undefined }> => {
          if (candidate.protocol === "socks5") return await openParentTunnel(ctx, candidate, host, authority.port, undefined, flow.clientIp);
          const budget = AbortSignal.timeout(ctx.limits.connectTimeoutMs);
          return await dialParent(ctx, candidate, budget, budget);
        });
        const reader = new ConnReader(p.conn);
        if (p.head) reader.unread(p.head);
        if (used.protocol === "socks5") return { key: keys[1]!, conn: p.conn, reader, address: null, dnsSource: "parent", parent: used.name, via: used };
        const authorization = used.authorization ? { authorization: used.authorization } : {};
        const forwardedFor = used.forwardedFor ? { forwardedFor: true } : {};
        return { key: keys[0]!, conn: p.conn, reader, address: null, dnsSource: "parent", parent: used.name, via: used, absoluteForm: true, ...authorization, ...forwardedFor };
      }
      const u = await connectUpstream(ctx, host, authority.port, decision, undefined, flow.clientIp);
      return { key: keys[0]!, conn: u.conn, reader: new ConnReader(u.conn), address: u.address, dnsSource: u.dnsSource };
    } catch (e) {
      noteUpstreamError(flow, e);
      await answerError(client, src, flow, e instanceof UpstreamError ? e.status : 502, errorText(e), { proxyError: e instanceof UpstreamError ? e.proxyStatus : undefined, method: head.method });
      return undefined;
    }
  };
  // A kept connection the origin closed while idle fails before any answer; a request without
  // a body can be sent again on a fresh connection (RFC 9112 §9.3.1): after a close, or after
  // a reset only an idempotent one (it may have arrived), as on the other paths.
  let retry = up !== undefined && reqFraming.kind === "none";
  up ??= await dial();
  if (!up) return { next: "stop" };
  r.requests += 1;
  const hostHeader = hostOverride ?? (head.url ? head.url.host : authority.port === 80 ? authority.host : `${authority.host}:${authority.port}`);
  for (;;) {
    // an HTTP parent proxy takes the absolute form (RFC 9112 §3.2.2), and our credentials
    const target = up.absoluteForm ? url : path;
    // our credentials for the parent this connection goes to (a fallback has its own)
    const authorization = up.authorization;
    const forwardedFor = up.forwardedFor ? flow.clientIp : undefined;
    const edit = edits.requestHeaders;
    const forParent = (h: HeaderList) => {
      let out = edit ? edit(h) : h;
      if (authorization) out = out.append("Proxy-Authorization", authorization);
      // ours alone, or none: what the client wrote there is its own claim, and a parent that
      // believes this gateway (trustForwardedFrom) would take it for the client's; so are the
      // other fields that name a client, which a parent may read instead
      out = out.delete("Forwarded", "X-Real-IP");
      return forwardedFor ? out.set("X-Forwarded-For", forwardedFor) : out.delete("X-Forwarded-For");
    };
    const options = up.absoluteForm ? { ...edits, requestHeaders: forParent } : edits;
    noteUpstream(r, up);
    flow.watch?.also(up.conn);
    try {
      const result = await exchange(
        { client, clientReader: src, upstream: up.conn, upstreamReader: up.reader },
        head,
        reqFraming,
        target,
        hostHeader,
        ctx,
        options,
      );
      r.status = result.status;
      r.headerMs = result.headerAt - started;
      r.bytesUp += result.bytesUp;
      r.bytesDown += result.bytesDown;
      if (result.upgradedEnd !== undefined) {
        flow.finish(result.upgradedEnd);
        return { next: "stop" };
      }
      flow.finish("eof");
      if (!result.keepUpstream) up.conn.close();
      if (!result.keepClient) {
        if (result.keepUpstream) up.conn.close();
        await lingerClose(client, src); // release the client: read to its FIN (bounded), then close
        return { next: "stop" };
      }
      return { next: "continue", upstream: result.keepUpstream ? up : undefined };
    } catch (e) {
      up.conn.close();
      // what went up before the failure (a body the origin took) is logged all the same
      const sent = sentBefore(e);
      r.bytesUp += sent.bytesUp;
      r.bytesDown += sent.bytesDown;
      if (e instanceof UrlRefusalError) {
        flow.urlDecided(e.decision);
        await denyRequest(client, src, head, ctx, flow, blockInfo(flow, host, authority.port, url, e.decision), e.status);
        return { next: "stop" };
      }
      const lost = !(e instanceof FlowTimeoutError || e instanceof HttpParseError || e instanceof ExchangeAbortedError);
      if (retry && (e instanceof UpstreamClosedError || (lost && isIdempotent(head.method)))) {
        retry = false;
        up = await dial();
        if (!up) return { next: "stop" };
        continue;
      }
      if (e instanceof ExchangeAbortedError) {
        if (e.cause instanceof UrlRefusalError) flow.urlDecided(e.cause.decision); // cut off at a body limit
        r.status = e.sent.status;
        r.headerMs = e.sent.headerAt === null ? null : e.sent.headerAt - started;
        r.bytesUp += e.sent.bytesUp;
        r.bytesDown += e.sent.bytesDown;
        client.close();
        flow.finish(e.clientReset ? "client-reset" : "error", errorText(e));
        return { next: "stop" };
      }
      const status = e instanceof FlowTimeoutError ? 504 : e instanceof HttpParseError ? e.status : 502;
      await answerError(client, src, flow, status, errorText(e), { method: head.method });
      return { next: "stop" };
    }
  }
}
