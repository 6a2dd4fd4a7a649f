import type { Conn } from "../core/conn.ts";
import { hostText, normalizeHost } from "../core/host.ts";
import { responseBodyFraming, requestBodyFraming, type BodyFraming } from "../protocol/body-framing.ts";
import { HttpParseError } from "../protocol/http-errors.ts";
import type { HeaderList } from "../protocol/http-headers.ts";
import { keepAlive, stripHopByHop } from "../protocol/hop-by-hop.ts";
import type { RequestHead } from "../protocol/http-request-head.ts";
import { parseResponseHead, type ResponseHead } from "../protocol/http-response-head.ts";
import { serializeRequestHead, serializeResponseHead } from "../protocol/http-serialize.ts";
import type { Host } from "../policy/types.ts";
import { answerError, blockedBody } from "./answers.ts";
import { relayBody } from "./body-relay.ts";
import { ConnReader, FlowTimeoutError } from "./conn-reader.ts";
import type { FlowContext } from "./context.ts";
import { errorText, type FlowState } from "./flow-state.ts";
import { readHead } from "./read-head.ts";
import { spliceStreams } from "./splice.ts";
import { connectUpstream, UpstreamError } from "./upstream.ts";

/** An upstream connection kept open between requests of one client connection. */
export interface KeptUpstream {
  readonly key: string;
  readonly conn: Conn;
  readonly reader: ConnReader;
  readonly address: string;
  readonly dnsSource: string;
}

/** What the dispatcher should do after one forwarded request. */
export type ForwardOutcome = { readonly next: "continue"; readonly upstream: KeptUpstream | undefined } | { readonly next: "stop" };

/**
 * Forwards one absolute-form request (`GET http://host/path`) to its origin and the response
 * back: policy on the target host, hop-by-hop fields removed (RFC 9110 §7.6.1), `Via` added,
 * bodies streamed with their framing checked, upstream kept alive for the next request to the
 * same origin. Writes one flow line per request.
 */
export async function forwardHttp(
  client: Conn,
  src: ConnReader,
  head: RequestHead,
  ctx: FlowContext,
  flow: FlowState,
  kept: KeptUpstream | undefined,
): Promise<ForwardOutcome> {
  const r = flow.record;
  r.kind = "http";
  const authority = head.authority!;
  let host: Host;
  try {
    host = normalizeHost(authority.host);
  } catch (e) {
    await answerError(client, src, flow, 400, `Invalid host: ${errorText(e)}`);
    return { next: "stop" };
  }
  r.host = hostText(host);
  r.port = authority.port;
  const decision = ctx.policy().decide({ host, port: authority.port, clientIp: client.remote.address });
  flow.decided(decision);
  if (decision.action === "deny") {
    await answerError(client, src, flow, 403, blockedBody(decision));
    return { next: "stop" };
  }
  let reqFraming: BodyFraming;
  try {
    reqFraming = requestBodyFraming(head);
  } catch (e) {
    await answerError(client, src, flow, e instanceof HttpParseError ? e.status : 400, errorText(e));
    return { next: "stop" };
  }
  const key = `${r.host}|${authority.port}`;
  let up = kept && kept.key === key ? kept : undefined;
  if (kept && !up) kept.conn.close();
  if (!up) {
    try {
      const u = await connectUpstream(ctx, host, authority.port);
      up = { key, conn: u.conn, reader: new ConnReader(u.conn), address: u.address, dnsSource: u.dnsSource };
    } catch (e) {
      await answerError(client, src, flow, e instanceof UpstreamError ? e.status : 502, errorText(e));
      return { next: "stop" };
    }
  }
  r.resolved = up.address;
  r.dnsSource = up.dnsSource;
  const clientWantsKeepAlive = keepAlive(head.version, head.headers);
  const upgrade = head.headers.get("upgrade");

  // Request head towards the origin: origin-form target, Host from the absolute URI.
  let headers = stripHopByHop(head.headers).delete("host");
  const hostHeader = head.url ? head.url.host : authority.port === 80 ? authority.host : `${authority.host}:${authority.port}`;
  headers = headers.set("Host", hostHeader);
  headers = addVia(headers, head.version, ctx.viaName);
  if (reqFraming.kind === "chunked") headers = headers.append("Transfer-Encoding", "chunked");
  if (upgrade !== undefined) headers = headers.append("Connection", "upgrade").append("Upgrade", upgrade);
  const upW = up.conn.writable.getWriter();
  const cW = client.writable.getWriter();
  const idle = ctx.limits.idleTimeoutMs;
  const stall = () => {
    client.close();
    up.conn.close();
  };
  try {
    const out = serializeRequestHead({ method: head.method, target: head.path ?? "/", version: "HTTP/1.1", headers });
    await upW.write(out);
    r.bytesUp += out.byteLength;
    r.requests += 1;
    r.bytesUp += await relayBody(src, upW, reqFraming, idle, stall, 400);

    // Response(s): pass 1xx through, then the final one.
    let res: ResponseHead;
    for (;;) {
      const bytes = await readHead(up.reader, {
        kind: "response",
        maxHeadBytes: ctx.limits.maxHeadBytes,
        headTimeoutMs: idle || ctx.limits.headerTimeoutMs,
        firstByteTimeoutMs: idle,
      });
      if (!bytes) throw new UpstreamError("connect", "Upstream closed the connection before answering");
      res = parseResponseHead(bytes, { maxHeaders: ctx.limits.maxHeaders, maxHeadBytes: ctx.limits.maxHeadBytes });
      if (res.status >= 200 || res.status === 101) break;
      const info = serializeResponseHead({ version: "HTTP/1.1", status: res.status, reason: res.reason, headers: stripHopByHop(res.headers) });
      await cW.write(info);
      r.bytesDown += info.byteLength;
    }
    r.status = res.status;
    const resFraming = responseBodyFraming(res, head.method);
    const tunnel = resFraming.kind === "tunnel" && upgrade !== undefined;
    const keepClient = !tunnel && clientWantsKeepAlive && resFraming.kind !== "close";
    let resHeaders = addVia(stripHopByHop(res.headers), res.version, ctx.viaName);
    if (resFraming.kind === "chunked") resHeaders = resHeaders.append("Transfer-Encoding", "chunked");
    if (tunnel) {
      resHeaders = resHeaders.append("Connection", "upgrade").append("Upgrade", res.headers.get("upgrade") ?? upgrade);
    } else if (!keepClient) {
      resHeaders = resHeaders.append("Connection", "close");
    }
    const resHead = serializeResponseHead({ version: "HTTP/1.1", status: res.status, reason: res.reason, headers: resHeaders });
    await cW.write(resHead);
    r.bytesDown += resHead.byteLength;
    if (tunnel) {
      upW.releaseLock();
      cW.releaseLock();
      const result = await spliceStreams(client, up.conn, {
        headA: src.release(),
        idleTimeoutMs: idle,
      });
      // bytes the upstream sent after its 101 head were pushed back into its reader
      r.bytesUp += result.bytesAtoB;
      r.bytesDown += result.bytesBtoA;
      flow.finish(result.end);
      return { next: "stop" };
    }
    r.bytesDown += await relayBody(up.reader, cW, resFraming, idle, stall, 502);
    const keepUpstream = resFraming.kind !== "close" && keepAlive(res.version, res.headers);
    flow.finish("eof");
    if (!keepClient) {
      await cW.close().catch(() => {});
      if (!keepUpstream) up.conn.close();
      else up.conn.close();
      return { next: "stop" };
    }
    if (!keepUpstream) {
      up.conn.close();
      return { next: "continue", upstream: undefined };
    }
    return { next: "continue", upstream: up };
  } catch (e) {
    up.conn.close();
    if (r.status === null) {
      // nothing sent to the client yet: answer properly
      upW.releaseLock();
      cW.releaseLock();
      const status = e instanceof UpstreamError ? e.status : e instanceof FlowTimeoutError ? 504 : e instanceof HttpParseError ? e.status : 502;
      await answerError(client, src, flow, status, errorText(e));
      return { next: "stop" };
    }
    client.close();
    flow.finish("error", errorText(e));
    return { next: "stop" };
  } finally {
    try {
      upW.releaseLock();
      cW.releaseLock();
    } catch {
      // already released
    }
  }
}

/** Appends our hop to `Via` (RFC 9110 §7.6.3). */
function addVia(headers: HeaderList, version: string, name: string): HeaderList {
  const proto = version.replace(/^HTTP\//, "");
  return headers.append("Via", `${proto} ${name}`);
}
