import { concatBytes } from "../core/bytes.ts";
import type { Conn } from "../core/conn.ts";
import { bareHost, normalizeHost } from "../core/host.ts";
import type { ClientHello } from "../protocol/client-hello.ts";
import { ClientHelloError } from "../protocol/client-hello-error.ts";
import { TlsAlert } from "../protocol/tls-alert.ts";
import { hungUpBeforeHello, readClientHello, refuseTls } from "./tls-hello.ts";
import type { Host } from "../policy/types.ts";
import { ConnReader, FlowTimeoutError } from "./conn-reader.ts";
import type { FlowContext } from "./context.ts";
import { clientFailure, errorText, FlowState } from "./flow-state.ts";
import { decryptAfterHello } from "./decrypt-session.ts";
import { blockOverTls, blockPageOf } from "./blocked.ts";
import { spliceHello } from "./hello-splice.ts";
import { uninspectableOffer, uninspectableVerdict } from "./uninspectable.ts";
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
  const waiting = performance.now();
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
  flow.helloMs = performance.now() - waiting;
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
  r.host = bareHost(host);
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
  // a client offering only protocols the decrypted path does not speak: as the rule says
  const offer = decision.decryption === "decrypt" && hello.sni !== undefined ? uninspectableOffer(hello) : undefined;
  const verdict = offer === undefined ? undefined : uninspectableVerdict(offer, decision);
  if (verdict?.action === "refuse") return refuse(TlsAlert.noApplicationProtocol, "error", verdict.error);
  // without SNI a connection can only be spliced: a decision to decrypt cannot apply to it
  watchFlow(ctx, flow, client, query, decision, hello.sni === undefined ? undefined : decision.decryption);
  if (verdict) {
    flow.watch?.uninspectable();
    r.decryption = "exception";
    r.reason = verdict.reason;
  } else if (decision.decryption === "decrypt") {
    if (hello.sni !== undefined) {
      const rest = src.release();
      // only the Host *name* must match: its port is the client's view of a destination the REDIRECT hides
      return decryptAfterHello(client, rest ? concatBytes([raw, rest]) : raw, host, port, decision, ctx, flow, false);
    }
    // noSni "allow" always splices (no name the client asked for to mint): say so in the log
    r.decryption = "exception";
    r.reason = `${decision.reason}; no SNI: spliced to the noSni upstream without decryption`;
  }
  // Exception: our own resolution of the SNI, then the very same ClientHello bytes.
  return spliceHello(client, src, raw, host, port, decision, ctx, flow, refuse);
}
