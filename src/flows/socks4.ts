/**
 * A SOCKS4 or SOCKS4a CONNECT on a SOCKS listener (the listener tells the versions apart by
 * the first byte): a tunnel exactly as a SOCKS5 or HTTP CONNECT one (policy, decryption
 * exception or interception, flow line). SOCKS4 has no password sign-in (its USERID is a
 * claim, not a credential), so a listener with `proxyAuth` refuses it; BIND is not done.
 * Every refusal is reply 91, the only one SOCKS4 has for it.
 * @module
 */
import type { Conn } from "../core/conn.ts";
import { bareHost, normalizeHost, tryNormalizeHost } from "../core/host.ts";
import { Socks4Command, Socks4Reply, socks4Reply, type Socks4Request } from "../protocol/socks4.ts";
import { finishRefused, sendAndClose } from "./answers.ts";
import type { ConnReader } from "./conn-reader.ts";
import type { FlowContext } from "./context.ts";
import { tunnelTo } from "./connect-tunnel.ts";
import { errorText, type FlowState } from "./flow-state.ts";
import type { TunnelReplies } from "./tunnel-replies.ts";

/** SOCKS4 answers for {@link tunnelTo}: reply 90 (granted) or 91 (rejected or failed). */
export const SOCKS4_REPLIES: TunnelReplies = {
  established: () => socks4Reply(Socks4Reply.granted),
  async refuse(client, src, flow, status, message) {
    finishRefused(flow, status, message);
    await sendAndClose(client, src, socks4Reply(Socks4Reply.rejected));
  },
};

/** Serves a SOCKS4(a) `request` read from `client` (the rest of its bytes in `src`). */
export function serveSocks4(client: Conn, src: ConnReader, request: Socks4Request, ctx: FlowContext, flow: FlowState): Promise<void> {
  const r = flow.record;
  r.kind = "connect";
  r.port = request.port;
  const rejected = socks4Reply(Socks4Reply.rejected);
  const fail = (error: string): Promise<void> => {
    flow.finish("error", error);
    return sendAndClose(client, src, rejected);
  };
  if (ctx.proxyAuth?.()) {
    const named = tryNormalizeHost(request.host);
    r.host = named === undefined ? null : bareHost(named); // as a tunnel's line names it
    r.decision = "deny";
    r.rule = "proxy-auth"; // as for a failed sign-in on the explicit and SOCKS5 listeners
    r.reason = "SOCKS4 has no password sign-in and this listener requires one (proxyAuth): use SOCKS5";
    finishRefused(flow, 407, "Proxy authentication required"); // what a CONNECT without credentials gets
    return sendAndClose(client, src, rejected);
  }
  if (request.command !== Socks4Command.connect) {
    return fail(`SOCKS4 ${request.command === Socks4Command.bind ? "BIND" : `command ${request.command}`} is not supported (only CONNECT)`);
  }
  let host;
  try {
    host = normalizeHost(request.host);
  } catch (e) {
    return fail(`Invalid SOCKS4 destination: ${errorText(e)}`);
  }
  if (request.port === 0) return fail("SOCKS4 destination port 0");
  return tunnelTo(client, src, host, request.port, ctx, flow, SOCKS4_REPLIES);
}
