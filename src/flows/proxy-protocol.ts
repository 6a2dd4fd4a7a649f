/**
 * Listeners behind load balancers that send a PROXY protocol header (HAProxy
 * `send-proxy`/`send-proxy-v2`, AWS NLB, …): the header names the real client, which is
 * the one the policy, the listener's `clients`, the per-client limit and the logs see.
 * @module
 */
import type { Conn } from "../core/conn.ts";
import { anyCidrContains, type Cidr } from "../core/ip.ts";
import { RelayedConn } from "../core/relayed-conn.ts";
import { ProxyHeaderError, ProxyHeaderReader } from "../protocol/proxy-header.ts";
import { formatAddress } from "../log/flow-record.ts";
import { answerAndClose } from "./answers.ts";
import { ConnReader, FlowTimeoutError } from "./conn-reader.ts";
import type { FlowContext } from "./context.ts";
import { clientFailure, errorText, FlowState } from "./flow-state.ts";
import { readFirst } from "./read-first.ts";
import { refuseConnection } from "./refuse.ts";

/** The rule id of refusals by this step, in flow lines. */
export const PROXY_PROTOCOL_RULE = "proxy-protocol";

/**
 * The modes that always speak plain HTTP: a missing or malformed header gets a 400 there
 * (most likely a balancer not set up to send one). Elsewhere the connection just closes.
 */
const HTTP_MODES = new Set(["explicit", "transparent-http", "redirect-https"]);

/**
 * Admits one connection of a listener with `proxyProtocol`: the peer must be in `from`
 * and send a whole PROXY header (v1 or v2) within the header timeout. Resolves with the
 * Conn to serve (a {@link RelayedConn} whose `remote` is the header's client, or the
 * balancer itself for a LOCAL header: a health check), or undefined once the connection
 * was refused and closed. Refusals are logged, except a peer that hangs up before sending
 * a byte (a TCP health check).
 */
export async function admitRelayed(conn: Conn, ctx: FlowContext, from: readonly Cidr[]): Promise<Conn | undefined> {
  if (!anyCidrContains(from, conn.remote.address)) {
    await refuseConnection(conn, ctx, {
      rule: PROXY_PROTOCOL_RULE,
      reason: `peer ${conn.remote.address} is not a load balancer this listener trusts (proxyProtocol.from); connect through one`,
      status: 403,
    });
    return undefined;
  }
  const src = new ConnReader(conn);
  const reader = new ProxyHeaderReader();
  try {
    const header = await readFirst(src, (chunk) => reader.push(chunk), { timeoutMs: ctx.limits.headerTimeoutMs, drain: ctx.drain });
    if (!header) {
      if (!src.received) {
        conn.close(); // connected and hung up (or shutting down before a byte): a TCP health check
        return undefined;
      }
      throw new ProxyHeaderError("Connection closed before a complete PROXY protocol header");
    }
    src.release();
    const relayed = header.command === "proxy" && header.source !== undefined;
    const client = relayed && header.source ? header.source : conn.remote;
    return new RelayedConn(conn, client, reader.rest(), relayed ? header.destination : undefined);
  } catch (e) {
    const flow = new FlowState(ctx, conn, ctx.mode);
    flow.record.rule = PROXY_PROTOCOL_RULE;
    if (e instanceof FlowTimeoutError) {
      conn.close();
      flow.finish("error", `No complete PROXY protocol header from ${formatAddress(conn.remote.address, conn.remote.port)} within ${ctx.limits.headerTimeoutMs} ms`);
      return undefined;
    }
    if (!(e instanceof ProxyHeaderError)) {
      conn.close();
      flow.finish(clientFailure(e), errorText(e));
      return undefined;
    }
    if (HTTP_MODES.has(ctx.mode) && !ctx.tlsFirst) {
      flow.record.status = 400;
      flow.finish("error", e.message);
      await answerAndClose(conn, src, 400, `This listener expects a PROXY protocol header from its load balancer first: ${e.message}`);
    } else {
      conn.close();
      flow.finish("error", e.message);
    }
    return undefined;
  }
}
