/**
 * One connection on a reverse listener. With TLS: the ClientHello is read without
 * answering; a passthrough route for its SNI takes the connection whole, to a backend
 * (`reverse-passthrough.ts`); else the SNI picks the certificate (configured, minted by the
 * gateway CA, the default, or a refusal with an `unrecognized_name` alert), TLS is
 * terminated with the very same ClientHello bytes, and the decrypted requests are routed to
 * backends. Without TLS the requests are routed directly. One flow line per connection
 * (mode "reverse").
 * @module
 */
import { concatBytes } from "../core/bytes.ts";
import type { Conn } from "../core/conn.ts";
import type { ClientHello } from "../protocol/client-hello.ts";
import { ClientHelloError } from "../protocol/client-hello-error.ts";
import { TlsAlert } from "../protocol/tls-alert.ts";
import { hungUpBeforeHello, readClientHello, refuseTls } from "./tls-hello.ts";
import type { ReverseListenerState } from "../reverse/listener-state.ts";
import { answerAndClose } from "./answers.ts";
import { ConnReader, FlowTimeoutError } from "./conn-reader.ts";
import type { FlowContext } from "./context.ts";
import { clientFailure, errorText, FlowState } from "./flow-state.ts";
import { acceptClientTls } from "./client-tls.ts";
import { serveReverseHttp } from "./reverse-http.ts";
import { passThrough } from "./reverse-passthrough.ts";
import { trackFlow } from "./live-flows.ts";

/**
 * Serves one client connection of a reverse listener. `current` gives the listener's state
 * in force (a reload replaces it): read once for the TLS handshake, and again for each
 * request.
 */
export async function handleReverse(client: Conn, ctx: FlowContext, current: () => ReverseListenerState): Promise<void> {
  const rctx: FlowContext = ctx.mode === "reverse" ? ctx : { ...ctx, mode: "reverse" };
  const flow = new FlowState(rctx, client, "reverse");
  const r = flow.record;
  r.port = client.local.port;
  const tls = current().tls;
  if (!tls) {
    r.kind = "http";
    trackFlow(rctx, flow, client);
    const result = await serveReverseHttp(client, rctx, current, flow, { proto: "http", sni: null });
    r.bytesUp = result.bytesUp;
    r.bytesDown = result.bytesDown;
    return flow.finish(result.end, result.error);
  }
  r.kind = "tls";
  const src = new ConnReader(client);
  let hello: ClientHello;
  let raw: Uint8Array;
  const waiting = performance.now();
  try {
    ({ hello, raw } = await readClientHello(src, {
      maxBytes: tls.maxClientHelloBytes,
      maxRecords: tls.maxClientHelloRecords,
      timeoutMs: ctx.limits.headerTimeoutMs,
      drain: ctx.drain,
    }));
  } catch (e) {
    if (e instanceof ClientHelloError && e.reason === "not-tls") {
      // most likely plain HTTP sent to the HTTPS port: say so in plain HTTP
      r.status = 400;
      await answerAndClose(client, src, 400, "This port speaks HTTPS: use an https:// URL");
      return flow.finish("error", `Non-TLS bytes on the reverse TLS listener: ${e.message}`);
    }
    client.close();
    if (hungUpBeforeHello(e, src)) return;
    const why = e instanceof FlowTimeoutError ? `No complete ClientHello within ${ctx.limits.headerTimeoutMs} ms` : errorText(e);
    return flow.finish(e instanceof ClientHelloError || e instanceof FlowTimeoutError ? "error" : clientFailure(e), why);
  }
  flow.helloMs = performance.now() - waiting;
  r.ech = hello.ech;
  r.alpn = hello.alpn.length > 0 ? hello.alpn.join(",") : null;
  r.host = hello.sni ?? null;
  const state = current();
  const through = state.passthrough?.match(hello.sni, ctx.listenerName);
  if (through) return passThrough(client, src, raw, hello.sni, through, state, rctx, flow);
  const selection = tls.store.select(hello.sni);
  let chainPem: string;
  let keyPem: string;
  if (selection.kind === "refuse") {
    r.decision = "deny";
    r.rule = "unknown-sni";
    r.reason = selection.reason;
    await refuseTls(client, TlsAlert.unrecognizedName, src);
    return flow.finish("denied");
  }
  if (selection.kind === "mint") {
    const ic = ctx.interception;
    if (!ic) {
      await refuseTls(client, TlsAlert.internalError, src);
      return flow.finish("error", `No CA is configured to mint a certificate for "${selection.name}"`);
    }
    try {
      ({ chainPem, keyPem } = await ic.leaf(selection.name));
    } catch (e) {
      await refuseTls(client, TlsAlert.internalError, src);
      return flow.finish("error", `Could not mint a certificate for "${selection.name}": ${errorText(e)}`);
    }
  } else {
    chainPem = selection.certificate.chainPem;
    keyPem = selection.certificate.keyPem;
  }
  const rest = src.release();
  let session;
  try {
    session = await acceptClientTls(ctx, client, { chainPem, keyPem }, tls.minVersion, rest ? concatBytes([raw, rest]) : raw, flow.helloMs);
  } catch (e) {
    return flow.finish("error", errorText(e));
  }
  trackFlow(rctx, flow, client);
  flow.watch?.also(session.conn);
  const result = await serveReverseHttp(session.conn, rctx, current, flow, { proto: "https", sni: hello.sni ?? null });
  r.bytesUp = result.bytesUp;
  r.bytesDown = result.bytesDown;
  flow.finish(result.end, result.error);
}


