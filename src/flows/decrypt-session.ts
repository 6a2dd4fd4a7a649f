/**
 * A decrypted session's TLS: the leaf minted for the client, the client's handshake, and the
 * inspected relay that follows; and the whole of it for a client whose ClientHello is in.
 * @module
 */
import type { Conn } from "../core/conn.ts";
import { bareHost, hostText } from "../core/host.ts";
import { type TlsClientSession, TlsValidationError } from "../core/tls.ts";
import { TlsAlert } from "../protocol/tls-alert.ts";
import type { Decision, Host } from "../policy/types.ts";
import { acceptClientTls } from "./client-tls.ts";
import type { FlowContext, InterceptionContext, MintedLeaf } from "./context.ts";
import { relayDecryptedHttp, type UpstreamHandle } from "./decrypted-http.ts";
import { errorText, type FlowState } from "./flow-state.ts";
import { refuseTls } from "./tls-hello.ts";
import { noteUpstream, noteUpstreamError, UpstreamError } from "./upstream.ts";
import { connectUpstreamTls, upstreamHandle } from "./upstream-tls.ts";

/**
 * A leaf for `host`, with the upstream certificate's names too when mirroring is on and that
 * certificate was validated (`validated`): the names of one that was not (`upstreamTls:
 * "insecure"`) are nobody's word, and go into no leaf the gateway's CA signs.
 */
export async function mintLeaf(ic: InterceptionContext, host: Host, session: TlsClientSession, validated: boolean): Promise<MintedLeaf> {
  const sans = validated && ic.mirrorUpstreamSans && ic.certificateNames && session.peerCertificateDer
    ? await ic.certificateNames(session.peerCertificateDer)
    : undefined;
  return ic.leaf(bareHost(host), sans);
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
    tlsClient = await acceptClientTls(ctx, client, leaf, ic.clientMinVersion, initialData, flow.helloMs);
  } catch (e) {
    upstream.conn.close();
    return flow.finish("error", errorText(e));
  }
  flow.watch?.also(tlsClient.conn);
  const reconnect = async () => watched(upstreamHandle(ic, await connectUpstreamTls(ctx, ic, host, port, decision, flow.clientIp)));
  const result = await relayDecryptedHttp(tlsClient.conn, upstream, host, port, ctx, flow, reconnect, decision.log, portMustMatch);
  flow.record.bytesUp = result.bytesUp;
  flow.record.bytesDown = result.bytesDown;
  flow.finish(result.end, result.error);
}

/** Why a decrypted session could not start: `status` and `proxyError` for a CONNECT's refusal. */
export type DecryptionFailure = {
  /** the upstream certificate failed validation: only then does a TLS alert say `handshake_failure` */
  certificate: boolean;
  error: string;
  status: number;
  proxyError?: string;
};

/** The upstream side of a decrypted session, ready for the client's handshake. */
export type DecryptionStart = { upstream: UpstreamHandle; leaf: MintedLeaf };

/**
 * Validated TLS to the real server, then a leaf minted for the client — in that order, so a
 * bad upstream certificate is never vouched for. A failure is returned (the flow noted), for
 * the caller to answer as it can: a CONNECT not yet answered with an HTTP refusal, a client
 * whose ClientHello is in with a TLS alert.
 */
export async function startDecryption(
  ctx: FlowContext,
  ic: InterceptionContext,
  host: Host,
  port: number,
  decision: Decision,
  flow: FlowState,
): Promise<DecryptionStart | DecryptionFailure> {
  let up;
  try {
    up = await connectUpstreamTls(ctx, ic, host, port, decision, flow.clientIp);
  } catch (e) {
    noteUpstreamError(flow, e);
    if (e instanceof TlsValidationError) {
      return { certificate: true, error: `Upstream certificate rejected (${e.code}): ${e.message}`, status: 502, proxyError: "tls_certificate_error" };
    }
    if (e instanceof UpstreamError) return { certificate: false, error: e.message, status: e.status, proxyError: e.proxyStatus };
    return { certificate: false, error: `Upstream TLS handshake with ${hostText(host)}:${port} failed: ${errorText(e)}`, status: 502, proxyError: "tls_protocol_error" };
  }
  noteUpstream(flow.record, up);
  const upstream = upstreamHandle(ic, up);
  try {
    return { upstream, leaf: await mintLeaf(ic, host, up.session, decision.upstreamTls !== "insecure") };
  } catch (e) {
    upstream.conn.close();
    return { certificate: false, error: `Could not issue a certificate for ${hostText(host)}: ${errorText(e)}`, status: 502 };
  }
}

/**
 * Decryption once the client's ClientHello is in (`raw`, handed to the handshake): see
 * {@link startDecryption}, then the client's handshake and the inspected relay. The client
 * was told nothing before (a transparent connection) or only that its tunnel is open (a
 * CONNECT whose rule looks at the ClientHello first), so failures are TLS alerts: an
 * upstream certificate that fails validation gets `handshake_failure`, others
 * `internal_error`. `portMustMatch`: see `relayDecryptedHttp`.
 */
export async function decryptAfterHello(
  client: Conn,
  raw: Uint8Array | undefined,
  host: Host,
  port: number,
  decision: Decision,
  ctx: FlowContext,
  flow: FlowState,
  portMustMatch: boolean,
): Promise<void> {
  const ic = ctx.interception;
  const fail = (alert: number, error: string) => refuseTls(client, alert).then(() => flow.finish("error", error));
  if (!ic) return fail(TlsAlert.internalError, `Rule "${decision.ruleId}" asks for decryption but no CA is configured`);
  const started = await startDecryption(ctx, ic, host, port, decision, flow);
  if (!("leaf" in started)) return fail(started.certificate ? TlsAlert.handshakeFailure : TlsAlert.internalError, started.error);
  return acceptAndRelay(client, raw, started.leaf, started.upstream, host, port, decision, ctx, ic, flow, portMustMatch);
}
