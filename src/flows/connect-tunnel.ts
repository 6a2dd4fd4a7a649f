import type { Conn } from "../core/conn.ts";
import { bareHost, normalizeHost } from "../core/host.ts";
import type { RequestHead } from "../protocol/http-request-head.ts";
import type { Decision, Host } from "../policy/types.ts";
import type { ConnReader } from "./conn-reader.ts";
import type { FlowContext, InterceptionContext } from "./context.ts";
import { blockOverTls, blockPageOf } from "./blocked.ts";
import { answerError, blockedBody } from "./answers.ts";
import { errorText, type FlowState } from "./flow-state.ts";
import { interceptConnect } from "./intercept.ts";
import { splice } from "./splice.ts";
import { connectUpstream, noteUpstream, noteUpstreamError, UpstreamError } from "./upstream.ts";
import { watchFlow } from "./live-flows.ts";
import { CONNECT_REPLIES, type TunnelReplies } from "./tunnel-replies.ts";

/**
 * CONNECT with a decryption exception: policy on the CONNECT host, resolve, dial the
 * resolved address, answer 200, then relay bytes blind until both sides are done.
 */
export async function connectTunnel(client: Conn, src: ConnReader, head: RequestHead, ctx: FlowContext, flow: FlowState): Promise<void> {
  const r = flow.record;
  const authority = head.authority!;
  let host;
  try {
    host = normalizeHost(authority.host);
  } catch (e) {
    r.kind = "connect";
    return await answerError(client, src, flow, 400, `Invalid CONNECT host: ${errorText(e)}`);
  }
  return await tunnelTo(client, src, host, authority.port, ctx, flow, CONNECT_REPLIES);
}

/**
 * A tunnel to `host:port` that a client asked for (CONNECT, SOCKS5): policy on the host, then
 * a blind relay (decryption exception) or interception (decrypt); `replies` answer the client
 * in its protocol.
 */
export async function tunnelTo(client: Conn, src: ConnReader, host: Host, port: number, ctx: FlowContext, flow: FlowState, replies: TunnelReplies): Promise<void> {
  const r = flow.record;
  r.kind = "connect";
  r.host = bareHost(host);
  r.port = port;
  const query = { host, port, clientIp: flow.clientIp, listener: ctx.listenerName, mode: ctx.mode, ...flow.who() };
  const decision = ctx.policy().decide(query);
  flow.decided(decision);
  if (decision.action === "deny") {
    const ic = ctx.interception;
    if (ic && blockPageOf(ctx).interceptDenied) return showBlockPage(client, src, host, port, decision, ctx, ic, flow, replies);
    return replies.refuse(client, src, flow, 403, blockedBody(decision));
  }
  watchFlow(ctx, flow, client, query, decision, decision.decryption);
  if (decision.decryption === "decrypt") return interceptConnect(client, src, host, port, decision, ctx, flow, replies);
  if (ctx.tunnels && !ctx.tunnels.acquire()) {
    return replies.refuse(client, src, flow, 503, "Too many tunnels; try again later", { proxyError: "connection_limit_reached" });
  }
  try {
    await openTunnel(client, src, host, port, decision, ctx, flow, replies);
  } finally {
    ctx.tunnels?.release();
  }
}

/** A denied tunnel shown the block page (`blockPage.interceptDenied`): opened, then our TLS. */
async function showBlockPage(client: Conn, src: ConnReader, host: Host, port: number, decision: Decision, ctx: FlowContext, ic: InterceptionContext, flow: FlowState, replies: TunnelReplies): Promise<void> {
  const w = client.writable.getWriter();
  try {
    await w.write(replies.established());
  } catch (e) {
    client.close();
    return flow.finish("client-closed", errorText(e));
  } finally {
    w.releaseLock();
  }
  return blockOverTls(client, src.release(), host, port, decision, ctx, ic, flow);
}

async function openTunnel(
  client: Conn,
  src: ConnReader,
  host: Host,
  port: number,
  decision: Decision,
  ctx: FlowContext,
  flow: FlowState,
  replies: TunnelReplies,
): Promise<void> {
  const r = flow.record;
  let upstream;
  try {
    upstream = await connectUpstream(ctx, host, port, decision, undefined, flow.clientIp);
  } catch (e) {
    noteUpstreamError(flow, e);
    if (e instanceof UpstreamError) return replies.refuse(client, src, flow, e.status, e.message, { proxyError: e.proxyStatus });
    return replies.refuse(client, src, flow, 502, errorText(e));
  }
  noteUpstream(r, upstream);
  flow.watch?.also(upstream.conn);
  const headBytes = upstream.head?.byteLength ?? 0; // the Conn may free the chunk once written
  const w = client.writable.getWriter();
  try {
    await w.write(replies.established(upstream.conn.local));
    // what the destination said first came with the parent's answer: it goes first
    if (upstream.head) await w.write(upstream.head);
  } catch (e) {
    upstream.conn.close();
    client.close();
    flow.finish("client-closed", errorText(e));
    return;
  } finally {
    w.releaseLock();
  }
  r.status = 200;
  const headA = src.release();
  const progress = flow.relaying(headBytes);
  const options = { headA, idleTimeoutMs: ctx.limits.idleTimeoutMs, names: ["client", "upstream"] as const, progress };
  const result = await splice(ctx.runtime, client, upstream.conn, options);
  r.bytesUp = result.bytesAtoB;
  r.bytesDown = result.bytesBtoA + headBytes;
  flow.finish(result.end, result.error);
}
