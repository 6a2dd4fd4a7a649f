import type { Conn } from "../core/conn.ts";
import { hostText } from "../core/host.ts";
import { type TlsClientSession, TlsValidationError } from "../core/tls.ts";
import type { Decision, Host } from "../policy/types.ts";
import type { ConnReader } from "./conn-reader.ts";
import type { FlowContext, InterceptionContext, MintedLeaf } from "./context.ts";
import { relayDecryptedHttp, type UpstreamHandle } from "./decrypted-http.ts";
import { connectUpstreamTls, tlsName, upstreamHandle } from "./upstream-tls.ts";
import { errorText, type FlowState } from "./flow-state.ts";
import { acceptClientTls } from "./client-tls.ts";
import { noteUpstream, noteUpstreamError, UpstreamError } from "./upstream.ts";
import type { TunnelReplies } from "./tunnel-replies.ts";



/**
 * A tunnel (CONNECT, SOCKS5) with `decryption: decrypt`: TLS to the real server first
 * (validated), and only then a certificate minted for the host and the client's handshake.
 * If the server's certificate fails validation, the tunnel request itself is refused (a
 * CONNECT gets a 502 naming the problem) — no certificate is minted, so a bad upstream
 * never looks valid to the client.
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
  const r = flow.record;
  const ic = ctx.interception;
  if (!ic) return replies.refuse(client, src, flow, 501, `Rule "${decision.ruleId}" asks for decryption but no CA is configured`);
  let up: Awaited<ReturnType<typeof connectUpstreamTls>>;
  try {
    up = await connectUpstreamTls(ctx, ic, host, port, decision);
  } catch (e) {
    if (e instanceof TlsValidationError) {
      return replies.refuse(client, src, flow, 502, `Upstream certificate rejected (${e.code}): ${e.message}`, { proxyError: "tls_certificate_error" });
    }
    noteUpstreamError(flow, e);
    if (e instanceof UpstreamError) return replies.refuse(client, src, flow, e.status, e.message, { proxyError: e.proxyStatus });
    return replies.refuse(client, src, flow, 502, `Upstream TLS handshake with ${hostText(host)}:${port} failed: ${errorText(e)}`, { proxyError: "tls_protocol_error" });
  }
  noteUpstream(r, up);
  const upstream = upstreamHandle(ic, up);
  let leaf;
  try {
    leaf = await mintLeaf(ic, host, up.session);
  } catch (e) {
    upstream.conn.close();
    return replies.refuse(client, src, flow, 502, `Could not issue a certificate for ${hostText(host)}: ${errorText(e)}`);
  }
  const w = client.writable.getWriter();
  try {
    await w.write(replies.established(upstream.conn.local));
  } catch (e) {
    upstream.conn.close();
    client.close();
    return flow.finish("client-closed", errorText(e));
  } finally {
    w.releaseLock();
  }
  r.status = 200;
  return acceptAndRelay(client, src.release(), leaf, upstream, host, port, decision, ctx, ic, flow, true);
}

/** A leaf for `host`, with the upstream certificate's names too when mirroring is on. */
export async function mintLeaf(ic: InterceptionContext, host: Host, session: TlsClientSession): Promise<MintedLeaf> {
  const sans = ic.mirrorUpstreamSans && ic.certificateNames && session.peerCertificateDer
    ? await ic.certificateNames(session.peerCertificateDer)
    : undefined;
  return ic.leaf(tlsName(host), sans);
}

/**
 * Completes the client's handshake with the minted leaf (`initialData`: client bytes
 * already read, e.g. the ClientHello) and relays inspected HTTP until the connection ends,
 * then writes the flow line. `portMustMatch`: see `relayDecryptedHttp`.
 */
export async function acceptAndRelay(
  client: Conn,
  initialData: Uint8Array | undefined,
  leaf: MintedLeaf,
  upstream: UpstreamHandle,
  host: Host,
  port: number,
  decision: Decision,
  ctx: FlowContext,
  ic: InterceptionContext,
  flow: FlowState,
  portMustMatch: boolean,
): Promise<void> {
  // a revoked flow closes every upstream connection it uses, but not one it gave to the pool
  const watched = (h: UpstreamHandle): UpstreamHandle => {
    const watch = flow.watch;
    if (!watch) return h;
    watch.also(h.conn);
    const keep = h.keep;
    return keep ? { ...h, keep: (reader, served) => (watch.release(h.conn), keep(reader, served)) } : h;
  };
  upstream = watched(upstream);
  let tlsClient;
  try {
    tlsClient = await acceptClientTls(ctx, client, leaf, ic.clientMinVersion, initialData);
  } catch (e) {
    upstream.conn.close();
    return flow.finish("error", errorText(e));
  }
  flow.watch?.also(tlsClient.conn);
  const reconnect = async () => watched(upstreamHandle(ic, await connectUpstreamTls(ctx, ic, host, port, decision)));
  const result = await relayDecryptedHttp(tlsClient.conn, upstream, host, port, ctx, flow, reconnect, decision.log, portMustMatch);
  flow.record.bytesUp = result.bytesUp;
  flow.record.bytesDown = result.bytesDown;
  flow.finish(result.end, result.error);
}
