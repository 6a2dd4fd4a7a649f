import type { Conn } from "../core/conn.ts";
import { answerError } from "./answers.ts";
import { ConnReader } from "./conn-reader.ts";
import type { FlowContext } from "./context.ts";
import { FlowState } from "./flow-state.ts";

/** Whether a connection refused before anything was read gets an HTTP answer (its client speaks HTTP first), or is closed. */
export function refusedInHttp(ctx: Pick<FlowContext, "mode" | "tlsFirst">): boolean {
  return (ctx.mode === "explicit" && !ctx.tlsFirst) || ctx.mode === "transparent-http";
}

/**
 * Refuses a connection at accept time (client not allowed on this listener, too many
 * connections from one client, or too many new ones), with a flow line naming the rule. HTTP listeners get a
 * short answer (`status`); TLS listeners (an HTTPS proxy's too) are just closed (nothing was read yet).
 */
export async function refuseConnection(
  conn: Conn,
  ctx: FlowContext,
  refusal: { readonly rule: string; readonly reason: string; readonly status: 403 | 429 | 503; readonly retryAfterMs?: number },
): Promise<void> {
  const flow = new FlowState(ctx, conn, ctx.mode);
  flow.record.decision = "deny";
  flow.record.rule = refusal.rule;
  flow.record.reason = refusal.reason;
  if (refusedInHttp(ctx)) {
    const retryAfter: [string, string][] = refusal.retryAfterMs === undefined ? [] : [["Retry-After", String(Math.ceil(refusal.retryAfterMs / 1000))]];
    const proxyStatus = refusal.status === 403 ? "destination_denied" : "connection_limit_reached";
    await answerError(conn, new ConnReader(conn), flow, refusal.status, refusal.reason, { proxyError: proxyStatus, headers: retryAfter });
    return;
  }
  conn.close();
  flow.record.status = null;
  flow.finish("denied");
}
