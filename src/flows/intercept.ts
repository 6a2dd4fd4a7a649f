import type { Conn } from "../core/conn.ts";
import { concatBytes } from "../core/bytes.ts";
import { DEFAULT_MAX_CLIENT_HELLO_BYTES, DEFAULT_MAX_CLIENT_HELLO_RECORDS } from "../protocol/client-hello.ts";
import { TlsAlert } from "../protocol/tls-alert.ts";
import type { Decision, Host } from "../policy/types.ts";
import { ConnReader, FlowTimeoutError } from "./conn-reader.ts";
import type { FlowContext } from "./context.ts";
import { acceptAndRelay, decryptAfterHello, startDecryption } from "./decrypt-session.ts";
import { errorText, type FlowState } from "./flow-state.ts";
import { spliceHello } from "./hello-splice.ts";
import { type PeekedHello, peekClientHello, refuseTls } from "./tls-hello.ts";
import type { TunnelReplies } from "./tunnel-replies.ts";
import { uninspectableOffer, uninspectableVerdict } from "./uninspectable.ts";

/**
 * A tunnel (CONNECT, SOCKS5) with `decryption: decrypt`: TLS to the real server first
 * (validated), and only then a certificate minted for the host and the client's handshake.
 * If the server's certificate fails validation, the tunnel request itself is refused (a
 * CONNECT gets a 502 naming the problem) — no certificate is minted, so a bad upstream
 * never looks valid to the client. A client whose ClientHello offers only protocols the
 * decrypted path does not speak (only `h2`) gets a `no_application_protocol` alert.
 *
 * A rule with `uninspectable: "tunnel"` looks at the ClientHello first instead (see
 * {@link lookFirst}): such a client is relayed blind, to a server that may speak nothing
 * but `h2` and so would refuse the gateway's own HTTP/1.1 handshake.
 */
export async function interceptConnect(
  client: Conn,
  src: ConnReader,
  host: Host,
  port: number,
  decision: Decision,
  ctx: FlowContext,
  flow: FlowState,
  replies: TunnelReplies,
): Promise<void> {
  const ic = ctx.interception;
  if (!ic) return replies.refuse(client, src, flow, 501, `Rule "${decision.ruleId}" asks for decryption but no CA is configured`);
  if (decision.uninspectable === "tunnel") return lookFirst(client, src, host, port, decision, ctx, flow, replies);
  const started = await startDecryption(ctx, ic, host, port, decision, flow);
  if (!("leaf" in started)) return replies.refuse(client, src, flow, started.status, started.error, { proxyError: started.proxyError });
  const { upstream, leaf } = started;
  if (!(await open(client, flow, replies.established(upstream.conn.local)))) return upstream.conn.close();
  const looked = await tunnelHello(client, src, ctx, flow);
  if (!looked) return upstream.conn.close();
  const offer = looked.hello && uninspectableOffer(looked.hello);
  if (offer !== undefined) {
    // the validated connection opened for decryption goes to the pool for another session
    if (upstream.keep) upstream.keep(upstream.reader ?? new ConnReader(upstream.conn), upstream.served ?? 0);
    else upstream.conn.close();
    // (a rule that tunnels such clients looked first: this one refuses them)
    const verdict = uninspectableVerdict(offer, decision);
    const error = verdict.action === "refuse" ? verdict.error : verdict.reason;
    return refuseTls(client, TlsAlert.noApplicationProtocol, src).then(() => flow.finish("error", error));
  }
  return acceptAndRelay(client, initialData(looked.raw, src), leaf, upstream, host, port, decision, ctx, ic, flow, true);
}

/**
 * `uninspectable: "tunnel"`: the tunnel opens first, then the client's ClientHello decides.
 * Offering only protocols the decrypted path does not speak, it is relayed blind to a new
 * connection, the ClientHello first, as an exception would be; else decrypted. Failures
 * after the tunnel opened are TLS alerts (a bad upstream certificate: `handshake_failure`,
 * nothing minted), as in transparent mode.
 */
async function lookFirst(client: Conn, src: ConnReader, host: Host, port: number, decision: Decision, ctx: FlowContext, flow: FlowState, replies: TunnelReplies): Promise<void> {
  if (!(await open(client, flow, replies.established()))) return;
  const looked = await tunnelHello(client, src, ctx, flow);
  if (!looked) return;
  if (!looked.hello) {
    // no TLS to decrypt (nor to relay as this rule allows): no server is bothered for it
    client.close();
    return flow.finish("error", `Client TLS handshake failed: ${looked.problem}`);
  }
  const offer = uninspectableOffer(looked.hello);
  if (offer === undefined) return decryptAfterHello(client, initialData(looked.raw, src), host, port, decision, ctx, flow, true);
  const verdict = uninspectableVerdict(offer, decision);
  const refuse = (alert: number, end: string, error?: string) => refuseTls(client, alert, src).then(() => flow.finish(end, error));
  if (verdict.action === "refuse") return refuse(TlsAlert.noApplicationProtocol, "error", verdict.error);
  flow.watch?.uninspectable();
  flow.record.decryption = "exception";
  flow.record.reason = verdict.reason;
  return spliceHello(client, src, looked.raw, host, port, decision, ctx, flow, refuse);
}

/** Tells the client its tunnel is open (`reply`); false (flow line written) when it is gone. */
async function open(client: Conn, flow: FlowState, reply: Uint8Array): Promise<boolean> {
  const w = client.writable.getWriter();
  try {
    await w.write(reply);
  } catch (e) {
    client.close();
    flow.finish("client-closed", errorText(e));
    return false;
  } finally {
    w.releaseLock();
  }
  flow.record.status = 200;
  return true;
}

/**
 * A look at the ClientHello the client sends into its open tunnel (see `peekClientHello`;
 * its ALPN offer goes into the flow line). Undefined when none came in time or the client
 * failed: the client is closed and the flow line written then.
 */
async function tunnelHello(client: Conn, src: ConnReader, ctx: FlowContext, flow: FlowState): Promise<PeekedHello | undefined> {
  const ms = ctx.limits.headerTimeoutMs;
  const waiting = performance.now();
  try {
    const looked = await peekClientHello(src, { maxBytes: DEFAULT_MAX_CLIENT_HELLO_BYTES, maxRecords: DEFAULT_MAX_CLIENT_HELLO_RECORDS, timeoutMs: ms, drain: ctx.drain });
    flow.helloMs = performance.now() - waiting;
    if (looked.hello && looked.hello.alpn.length > 0) flow.record.alpn = looked.hello.alpn.join(",");
    return looked;
  } catch (e) {
    client.close();
    flow.finish("error", e instanceof FlowTimeoutError ? `No complete client TLS handshake within ${ms} ms` : `Client TLS handshake failed: ${errorText(e)}`);
    return undefined;
  }
}

/** The client's bytes for its handshake: those looked at, then any that followed (none: undefined). */
function initialData(raw: Uint8Array, src: ConnReader): Uint8Array | undefined {
  const rest = src.release();
  const all = rest ? concatBytes([raw, rest]) : raw;
  return all.byteLength > 0 ? all : undefined;
}
