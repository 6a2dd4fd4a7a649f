import type { Conn } from "../core/conn.ts";
import { hostText } from "../core/host.ts";
import { type TlsClientSession, TlsValidationError } from "../core/tls.ts";
import type { Decision, Host } from "../policy/types.ts";
import { answerError, ESTABLISHED } from "./answers.ts";
import type { ConnReader } from "./conn-reader.ts";
import type { FlowContext, InterceptionContext, MintedLeaf } from "./context.ts";
import { relayDecryptedHttp } from "./decrypted-http.ts";
import { errorText, type FlowState } from "./flow-state.ts";
import { connectUpstreamWith, guardLiteral, noteUpstream, noteUpstreamError, parentFor, UpstreamError } from "./upstream.ts";
import { openParentTunnel } from "../parent/tunnel.ts";


/** Name as it goes into SNI and the minted certificate: no brackets for IPv6. */
export function tlsName(host: Host): string {
  return host.kind === "dns" ? host.name : host.address;
}

/**
 * Opens validated TLS to the real server for `host:port`, directly or through the
 * decision's parent proxy (TLS over its tunnel: the gateway still validates the real
 * server's certificate, end to end). Validation failures are final (no other address is
 * tried: a bad certificate is not an address problem).
 */
export async function connectUpstreamTls(
  ctx: FlowContext,
  ic: InterceptionContext,
  host: Host,
  port: number,
  decision: Decision,
): Promise<{ session: TlsClientSession; address: string | null; dnsSource: string; parent?: string }> {
  const servername = tlsName(host);
  const verify = decision.upstreamTls !== "insecure";
  const handshake = (address: string, deadline: AbortSignal, over?: { conn: Conn; port: number }) =>
    ctx.runtime.tls.connect({
      address,
      port: over?.port ?? port,
      servername,
      extraCaPem: ic.extraCaPem,
      verify,
      alpn: ["http/1.1"],
      minVersion: ic.upstreamMinVersion,
      signal: deadline,
      ...(over ? { over: over.conn } : {}),
    });
  const parent = parentFor(ctx, decision);
  if (parent) {
    guardLiteral(ctx, host, port, decision);
    const t = await openParentTunnel(ctx, parent, host, port);
    if (t.head) {
      t.conn.close();
      throw new UpstreamError("connect", `parent proxy "${parent.name}": ${hostText(host)}:${port} sent data before the TLS handshake`);
    }
    // messages name the parent's address: the handshake goes through it
    const session = await handshake(t.address, AbortSignal.timeout(ctx.limits.connectTimeoutMs), { conn: t.conn, port: parent.port });
    return { session, address: null, dnsSource: "parent", parent: parent.name };
  }
  const r = await connectUpstreamWith(ctx, host, port, decision, (address, deadline) => handshake(address, deadline), undefined, (e) => e instanceof TlsValidationError);
  return { session: r.value, address: r.address, dnsSource: r.dnsSource };
}

/**
 * CONNECT with `decryption: decrypt`: TLS to the real server first (validated), and only
 * then a certificate minted for the host and the client's handshake. If the server's
 * certificate fails validation, the CONNECT itself is answered 502 naming the problem —
 * no certificate is minted, so a bad upstream never looks valid to the client.
 */
export async function interceptConnect(
  client: Conn,
  src: ConnReader,
  host: Host,
  port: number,
  decision: Decision,
  ctx: FlowContext,
  flow: FlowState,
): Promise<void> {
  const r = flow.record;
  const ic = ctx.interception;
  if (!ic) return answerError(client, src, flow, 501, `Rule "${decision.ruleId}" asks for decryption but no CA is configured`);
  let up: Awaited<ReturnType<typeof connectUpstreamTls>>;
  try {
    up = await connectUpstreamTls(ctx, ic, host, port, decision);
  } catch (e) {
    if (e instanceof TlsValidationError) {
      return answerError(client, src, flow, 502, `Upstream certificate rejected (${e.code}): ${e.message}`, "tls_certificate_error");
    }
    noteUpstreamError(flow, e);
    if (e instanceof UpstreamError) return answerError(client, src, flow, e.status, e.message, e.proxyStatus);
    return answerError(client, src, flow, 502, `Upstream TLS handshake with ${hostText(host)}:${port} failed: ${errorText(e)}`, "tls_protocol_error");
  }
  noteUpstream(r, up);
  const upstream = up.session.conn;
  let leaf;
  try {
    leaf = await mintLeaf(ic, host, up.session);
  } catch (e) {
    upstream.close();
    return answerError(client, src, flow, 502, `Could not issue a certificate for ${hostText(host)}: ${errorText(e)}`);
  }
  const w = client.writable.getWriter();
  try {
    await w.write(ESTABLISHED);
  } catch (e) {
    upstream.close();
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
  upstream: Conn,
  host: Host,
  port: number,
  decision: Decision,
  ctx: FlowContext,
  ic: InterceptionContext,
  flow: FlowState,
  portMustMatch: boolean,
): Promise<void> {
  let tlsClient;
  try {
    tlsClient = await ctx.runtime.tls.accept(client, {
      certChainPem: leaf.chainPem,
      keyPem: leaf.keyPem,
      alpn: ["http/1.1"],
      minVersion: ic.clientMinVersion,
      ...(initialData ? { initialData } : {}),
    });
  } catch (e) {
    upstream.close();
    client.close();
    return flow.finish("error", `Client TLS handshake failed: ${errorText(e)}`);
  }
  const reconnect = async () => (await connectUpstreamTls(ctx, ic, host, port, decision)).session.conn;
  const result = await relayDecryptedHttp(tlsClient.conn, upstream, host, port, ctx, ic, flow, reconnect, decision.log, portMustMatch);
  flow.record.bytesUp = result.bytesUp;
  flow.record.bytesDown = result.bytesDown;
  flow.finish(result.end, result.error);
}
