import { concatBytes } from "../core/bytes.ts";
import type { Conn } from "../core/conn.ts";
import { TlsAlert } from "../protocol/tls-alert.ts";
import type { Decision, Host } from "../policy/types.ts";
import type { ConnReader } from "./conn-reader.ts";
import type { FlowContext } from "./context.ts";
import { errorText, type FlowState } from "./flow-state.ts";
import { splice } from "./splice.ts";
import { connectUpstream, noteUpstream, noteUpstreamError, UpstreamError } from "./upstream.ts";

/** Refuses the client with a TLS alert and writes the flow line (see `refuseTls`). */
export type TlsRefusal = (alert: number, end: string, error?: string) => Promise<void>;

/**
 * Relays a TLS client blind to `host:port` — a transparent exception, or a client a decrypting
 * rule tunnels because it cannot be inspected — holding a tunnel slot (`limits.maxTunnels`):
 * the upstream dialed (the gateway resolves the name itself), the very same ClientHello bytes
 * (`raw`, then whatever `src` holds) first, then both ways until both are done. The client has
 * had no answer but (after a CONNECT) its tunnel, so refusals are TLS alerts.
 */
export async function spliceHello(
  client: Conn,
  src: ConnReader,
  raw: Uint8Array,
  host: Host,
  port: number,
  decision: Decision,
  ctx: FlowContext,
  flow: FlowState,
  refuse: TlsRefusal,
): Promise<void> {
  if (ctx.tunnels && !ctx.tunnels.acquire()) {
    return refuse(TlsAlert.internalError, "error", "Too many tunnels (limits.maxTunnels); try again later");
  }
  try {
    await relay(client, src, raw, host, port, decision, ctx, flow, refuse);
  } finally {
    ctx.tunnels?.release();
  }
}

/** {@link spliceHello}'s work once it holds its tunnel slot: dials the upstream and relays both ways. */
const relay: typeof spliceHello = async (client, src, raw, host, port, decision, ctx, flow, refuse) => {
  const r = flow.record;
  let up;
  try {
    up = await connectUpstream(ctx, host, port, decision, undefined, flow.clientIp);
  } catch (e) {
    noteUpstreamError(flow, e);
    if (e instanceof UpstreamError && e.kind === "address") return refuse(TlsAlert.accessDenied, "denied");
    return refuse(TlsAlert.internalError, "error", e instanceof UpstreamError ? e.message : errorText(e));
  }
  noteUpstream(r, up);
  flow.watch?.also(up.conn);
  const rest = src.release();
  const headA = rest ? concatBytes([raw, rest]) : raw;
  if (up.head) {
    // a TLS server does not speak first: bytes with the parent's answer are not from one
    up.conn.close();
    return refuse(TlsAlert.internalError, "error", `parent proxy "${up.parent}": the destination sent data before the ClientHello`);
  }
  const progress = flow.relaying();
  const options = { headA, idleTimeoutMs: ctx.limits.idleTimeoutMs, names: ["client", "upstream"] as const, progress };
  const result = await splice(ctx.runtime, client, up.conn, options);
  r.bytesUp = result.bytesAtoB;
  r.bytesDown = result.bytesBtoA;
  flow.finish(result.end, result.error);
};
