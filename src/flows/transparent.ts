import { concatBytes } from "../core/bytes.ts";
import type { Conn } from "../core/conn.ts";
import { hostText, normalizeHost } from "../core/host.ts";
import type { ClientHello } from "../protocol/client-hello.ts";
import { ClientHelloError } from "../protocol/client-hello-error.ts";
import { TlsAlert } from "../protocol/tls-alert.ts";
import { hungUpBeforeHello, readClientHello, refuseTls } from "./tls-hello.ts";
import { TlsValidationError } from "../core/tls.ts";
import type { Decision, Host } from "../policy/types.ts";
import { ConnReader, FlowTimeoutError } from "./conn-reader.ts";
import type { FlowContext } from "./context.ts";
import { clientFailure, errorText, FlowState } from "./flow-state.ts";
import { acceptAndRelay, mintLeaf } from "./intercept.ts";
import { blockOverTls, blockPageOf } from "./blocked.ts";
import { connectUpstreamTls, tlsName, upstreamHandle } from "./upstream-tls.ts";
import { splice } from "./splice.ts";
import { connectUpstream, noteUpstream, noteUpstreamError, UpstreamError } from "./upstream.ts";
import { watchFlow } from "./live-flows.ts";

/** What a transparent TLS listener needs from its config. */
export interface TransparentSettings {
  /** Port dialed on the host named by the SNI. */
  readonly upstreamPort: number;
  /** Connections without SNI: refused, or spliced to a fixed upstream. */
  readonly noSni: "deny" | { readonly action: "allow"; readonly upstream: { readonly host: string; readonly port: number } };
  /** "policy": decide on the outer SNI and log ECH; "block": refuse any ClientHello offering ECH. */
  readonly ech: "policy" | "block";
  readonly maxClientHelloBytes: number;
  readonly maxClientHelloRecords: number;
}

/**
 * One connection on a transparent TLS listener (traffic redirected to us; the client does not
 * know). Reads the ClientHello without answering, decides on its SNI, then **resolves the SNI
 * itself** — the destination IP the client used is never trusted, which defeats SNI spoofing —
 * and either forwards the very same ClientHello bytes and splices (exception), or terminates
 * TLS with a minted certificate and re-originates validated TLS (decrypt).
 */
export async function handleTransparent(client: Conn, ctx: FlowContext, settings: TransparentSettings): Promise<void> {
  const flow = new FlowState(ctx, client, ctx.mode);
  const r = flow.record;
  r.kind = "tls";
  const src = new ConnReader(client);
  let hello: ClientHello;
  let raw: Uint8Array;
  try {
    ({ hello, raw } = await readClientHello(src, {
      maxBytes: settings.maxClientHelloBytes,
      maxRecords: settings.maxClientHelloRecords,
      timeoutMs: ctx.limits.headerTimeoutMs,
      drain: ctx.drain,
    }));
  } catch (e) {
    client.close();
    if (hungUpBeforeHello(e, src)) return;
    const why = e instanceof FlowTimeoutError
      ? `No complete ClientHello within ${ctx.limits.headerTimeoutMs} ms`
      : e instanceof ClientHelloError && e.reason === "not-tls"
      ? `Non-TLS bytes on the transparent TLS listener: ${e.message}`
      : errorText(e);
    return flow.finish(e instanceof ClientHelloError || e instanceof FlowTimeoutError ? "error" : clientFailure(e), why);
  }
  r.ech = hello.ech;
  r.alpn = hello.alpn.length > 0 ? hello.alpn.join(",") : null;
  const refuse = (alert: number, end: string, error?: string) => refuseTls(client, alert, src).then(() => flow.finish(end, error));

  if (hello.ech && settings.ech === "block") {
    r.host = hello.sni?.toLowerCase() ?? null; // the outer (public) name: what the client showed
    r.port = settings.upstreamPort;
    r.decision = "deny";
    r.rule = "ech-block";
    r.reason = "ClientHello offers encrypted_client_hello and the listener blocks ECH";
    return refuse(TlsAlert.accessDenied, "denied");
  }
  let host: Host;
  let port = settings.upstreamPort;
  if (hello.sni === undefined) {
    r.port = port;
    if (settings.noSni === "deny") {
      r.decision = "deny";
      r.rule = "no-sni";
      r.reason = `ClientHello without SNI (destination port ${port}); noSni is "deny"`;
      return refuse(TlsAlert.unrecognizedName, "denied");
    }
    host = normalizeHost(settings.noSni.upstream.host);
    port = settings.noSni.upstream.port;
  } else {
    try {
      host = normalizeHost(hello.sni);
    } catch (e) {
      r.host = hello.sni;
      return refuse(TlsAlert.unrecognizedName, "error", `Invalid SNI: ${errorText(e)}`);
    }
  }
  r.host = tlsName(host);
  r.port = port;
  const query = { host, port, clientIp: client.remote.address, listener: ctx.listenerName, mode: ctx.mode };
  const decision = ctx.policy().decide(query);
  flow.decided(decision);
  if (decision.action === "deny") {
    const ic = ctx.interception;
    if (!ic || hello.sni === undefined || !blockPageOf(ctx).interceptDenied) return refuse(TlsAlert.accessDenied, "denied");
    const rest = src.release();
    return blockOverTls(client, rest ? concatBytes([raw, rest]) : raw, host, port, decision, ctx, ic, flow);
  }
  // without SNI a connection can only be spliced: a decision to decrypt cannot apply to it
  watchFlow(ctx, flow, client, query, decision, hello.sni === undefined ? undefined : decision.decryption);
  if (decision.decryption === "decrypt") {
    if (hello.sni !== undefined) {
      const rest = src.release();
      return decryptTransparent(client, rest ? concatBytes([raw, rest]) : raw, host, port, decision, ctx, flow);
    }
    // noSni "allow" always splices (no name the client asked for to mint): say so in the log
    r.decryption = "exception";
    r.reason = `${decision.reason}; no SNI: spliced to the noSni upstream without decryption`;
  }
  // Exception: a tunnel slot (limits.maxTunnels), our own resolution of the SNI, then the very same ClientHello bytes.
  if (ctx.tunnels && !ctx.tunnels.acquire()) {
    return refuse(TlsAlert.internalError, "error", "Too many tunnels (limits.maxTunnels); try again later");
  }
  try {
    await spliceTo(client, src, raw, host, port, decision, ctx, flow, refuse);
  } finally {
    ctx.tunnels?.release();
  }
}

/** The exception's splice, holding a tunnel slot: dials the upstream and relays both ways. */
async function spliceTo(
  client: Conn,
  src: ConnReader,
  raw: Uint8Array,
  host: Host,
  port: number,
  decision: Decision,
  ctx: FlowContext,
  flow: FlowState,
  refuse: (alert: number, end: string, error?: string) => Promise<void>,
): Promise<void> {
  const r = flow.record;
  let up;
  try {
    up = await connectUpstream(ctx, host, port, decision);
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
}

async function decryptTransparent(
  client: Conn,
  raw: Uint8Array,
  host: Host,
  port: number,
  decision: Decision,
  ctx: FlowContext,
  flow: FlowState,
): Promise<void> {
  const r = flow.record;
  const ic = ctx.interception;
  const fail = (alert: number, error: string) => refuseTls(client, alert).then(() => flow.finish("error", error));
  if (!ic) return fail(TlsAlert.internalError, `Rule "${decision.ruleId}" asks for decryption but no CA is configured`);
  let up;
  try {
    up = await connectUpstreamTls(ctx, ic, host, port, decision);
  } catch (e) {
    noteUpstreamError(flow, e);
    // No CONNECT to answer here: the client gets a TLS alert and nothing is minted.
    if (e instanceof TlsValidationError) return fail(TlsAlert.handshakeFailure, `Upstream certificate rejected (${e.code}): ${e.message}`);
    return fail(TlsAlert.internalError, e instanceof UpstreamError ? e.message : `Upstream TLS with ${hostText(host)}:${port} failed: ${errorText(e)}`);
  }
  noteUpstream(r, up);
  const upstream = upstreamHandle(ic, up);
  let leaf;
  try {
    leaf = await mintLeaf(ic, host, up.session);
  } catch (e) {
    upstream.conn.close();
    return fail(TlsAlert.internalError, `Could not issue a certificate for ${hostText(host)}: ${errorText(e)}`);
  }
  // only the Host *name* must match: its port is the client's view of a destination the REDIRECT hides
  return acceptAndRelay(client, raw, leaf, upstream, host, port, decision, ctx, ic, flow, false);
}


