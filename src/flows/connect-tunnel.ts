import type { Conn } from "../core/conn.ts";
import { normalizeHost } from "../core/host.ts";
import type { RequestHead } from "../protocol/http-request-head.ts";
import type { Decision, Host } from "../policy/types.ts";
import type { ConnReader } from "./conn-reader.ts";
import type { FlowContext, InterceptionContext } from "./context.ts";
import { blockOverTls, blockPageOf } from "./blocked.ts";
import { answerError, blockedBody, ESTABLISHED } from "./answers.ts";
import { errorText, type FlowState } from "./flow-state.ts";
import { interceptConnect } from "./intercept.ts";
import { splice } from "./splice.ts";
import { connectUpstream, noteUpstream, noteUpstreamError, UpstreamError } from "./upstream.ts";
import { watchFlow } from "./live-flows.ts";


/**
 * CONNECT with a decryption exception: policy on the CONNECT host, resolve, dial the
 * resolved address, answer 200, then relay bytes blind until both sides are done.
 */
export async function connectTunnel(client: Conn, src: ConnReader, head: RequestHead, ctx: FlowContext, flow: FlowState): Promise<void> {
  const r = flow.record;
  r.kind = "connect";
  const authority = head.authority!;
  let host;
  try {
    host = normalizeHost(authority.host);
  } catch (e) {
    return answerError(client, src, flow, 400, `Invalid CONNECT host: ${errorText(e)}`);
  }
  r.host = host.kind === "dns" ? host.name : host.address;
  r.port = authority.port;
  const user = flow.record.user ?? undefined;
  const query = { host, port: authority.port, clientIp: client.remote.address, listener: ctx.listenerName, mode: ctx.mode, ...(user ? { user } : {}) };
  const decision = ctx.policy().decide(query);
  flow.decided(decision);
  if (decision.action === "deny") {
    const ic = ctx.interception;
    if (ic && blockPageOf(ctx).interceptDenied) return showBlockPage(client, src, host, authority.port, decision, ctx, ic, flow);
    return answerError(client, src, flow, 403, blockedBody(decision));
  }
  watchFlow(ctx, flow, client, query, decision, decision.decryption);
  if (decision.decryption === "decrypt") return interceptConnect(client, src, host, authority.port, decision, ctx, flow);
  if (ctx.tunnels && !ctx.tunnels.acquire()) {
    return answerError(client, src, flow, 503, "Too many tunnels; try again later", { proxyError: "connection_limit_reached" });
  }
  try {
    await openTunnel(client, src, host, authority.port, decision, ctx, flow);
  } finally {
    ctx.tunnels?.release();
  }
}

/** A denied CONNECT shown the block page (`blockPage.interceptDenied`): 200, then our TLS. */
async function showBlockPage(client: Conn, src: ConnReader, host: Host, port: number, decision: Decision, ctx: FlowContext, ic: InterceptionContext, flow: FlowState): Promise<void> {
  const w = client.writable.getWriter();
  try {
    await w.write(ESTABLISHED);
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
): Promise<void> {
  const r = flow.record;
  let upstream;
  try {
    upstream = await connectUpstream(ctx, host, port, decision);
  } catch (e) {
    noteUpstreamError(flow, e);
    if (e instanceof UpstreamError) return answerError(client, src, flow, e.status, e.message, { proxyError: e.proxyStatus });
    return answerError(client, src, flow, 502, errorText(e));
  }
  noteUpstream(r, upstream);
  flow.watch?.also(upstream.conn);
  const headBytes = upstream.head?.byteLength ?? 0; // the Conn may free the chunk once written
  const w = client.writable.getWriter();
  try {
    await w.write(ESTABLISHED);
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
  const options = { headA, idleTimeoutMs: ctx.limits.idleTimeoutMs, names: ["client", "upstream"] as const };
  const result = await splice(ctx.runtime, client, upstream.conn, options);
  r.bytesUp = result.bytesAtoB;
  r.bytesDown = result.bytesBtoA + headBytes;
  flow.finish(result.end, result.error);
}
