/**
 * Denied requests answered with the block page (see `block/block-page.ts`): plain HTTP and
 * decrypted requests directly, and — with `blockPage.interceptDenied` — denied TLS, by
 * completing the client's handshake with a minted certificate just to show the page. The
 * denied host is never contacted.
 */
import { BlockPage } from "../block/block-page.ts";
import type { BlockInfo } from "../block/block-template.ts";
import type { Conn } from "../core/conn.ts";
import { bareHost, hostText } from "../core/host.ts";
import type { RequestHead } from "../protocol/http-request-head.ts";
import type { Decision, Host, UrlDecision } from "../policy/types.ts";
import { sendAndClose } from "./answers.ts";
import { ConnReader } from "./conn-reader.ts";
import type { FlowContext, InterceptionContext } from "./context.ts";
import { errorText, type FlowState } from "./flow-state.ts";
import { nextRequest } from "./next-request.ts";
import { requestRecord } from "./request-record.ts";
import { acceptClientTls } from "./client-tls.ts";

/** The block page in force on this flow's listener. */
export function blockPageOf(ctx: FlowContext): BlockPage {
  return ctx.blockPage?.() ?? BlockPage.default;
}

/** What the page says about one denied request. */
export function blockInfo(flow: FlowState, host: Host, port: number, url: string, d: Decision | UrlDecision): BlockInfo {
  const r = flow.record;
  return {
    host: hostText(host),
    port,
    url,
    rule: d.ruleId,
    reason: d.reason,
    ...(d.message !== undefined ? { message: d.message } : {}),
    client: flow.clientIp,
    ...(r.user ? { user: r.user } : {}),
    listener: r.listener,
    time: new Date().toISOString(),
  };
}

/**
 * Answers a plain-HTTP request the policy denied (page, text or redirect), writes the flow
 * line and closes.
 */
export async function denyRequest(client: Conn, src: ConnReader, head: RequestHead, ctx: FlowContext, flow: FlowState, info: BlockInfo, status?: 403 | 413): Promise<void> {
  const answer = blockPageOf(ctx).answer(info, { method: head.method, accept: head.headers.get("accept") ?? undefined, ...(status ? { status } : {}) });
  flow.record.status = answer.status;
  flow.finish("denied");
  await sendAndClose(client, src, answer.bytes);
}

/**
 * A denied TLS connection shown the block page: the client's handshake is completed with a
 * certificate minted for `host` (`initialData`: what was read of it already), its first
 * request is answered with the page and logged as a request line, and the connection is
 * closed. A client that does not trust the CA fails its handshake; either way the
 * connection's line says "denied".
 */
export async function blockOverTls(
  client: Conn,
  initialData: Uint8Array | undefined,
  host: Host,
  port: number,
  decision: Decision,
  ctx: FlowContext,
  ic: InterceptionContext,
  flow: FlowState,
): Promise<void> {
  const r = flow.record;
  r.reason = `${decision.reason}; block page shown over TLS`;
  let leaf;
  try {
    leaf = await ic.leaf(bareHost(host));
  } catch (e) {
    client.close();
    return flow.finish("denied", `Could not issue a certificate for ${hostText(host)} to show the block page: ${errorText(e)}`);
  }
  let session;
  try {
    session = await acceptClientTls(ctx, client, leaf, ic.clientMinVersion, initialData, flow.helloMs);
  } catch (e) {
    return flow.finish("denied", errorText(e));
  }
  const conn = session.conn;
  const src = new ConnReader(conn);
  const next = await nextRequest(conn, src, ctx.limits, true, ctx.drain);
  if (!("head" in next)) return flow.finish("denied");
  const head = next.head;
  const started = Date.now();
  const path = head.form === "origin" ? head.target : (head.path ?? "/");
  const url = `https://${hostText(host)}${port === 443 ? "" : `:${port}`}${path}`;
  const answer = blockPageOf(ctx).answer(blockInfo(flow, host, port, url, decision), { method: head.method, accept: head.headers.get("accept") ?? undefined });
  const req = requestRecord(r, head, hostText(host), port, url);
  req.decision = "deny";
  req.rule = decision.ruleId;
  req.reason = decision.reason;
  req.status = answer.status;
  r.requests = 1;
  r.status = req.status;
  await sendAndClose(conn, src, answer.bytes);
  req.time = new Date().toISOString();
  req.durationMs = Date.now() - started;
  ctx.flowLog.write(req, !decision.log);
  flow.finish("denied");
}
