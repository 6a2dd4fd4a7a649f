/**
 * The TLS a listener terminates with certificates of its own (a reverse listener, an HTTPS
 * proxy listener): the ClientHello read without answering, the certificate its SNI selects
 * (configured, minted by the gateway CA, the default, or a refusal with an
 * `unrecognized_name` alert), and the handshake completed with the very same bytes.
 * @module
 */
import { concatBytes } from "../core/bytes.ts";
import type { Conn } from "../core/conn.ts";
import type { TlsSession } from "../core/tls.ts";
import type { ClientHello } from "../protocol/client-hello.ts";
import { ClientHelloError } from "../protocol/client-hello-error.ts";
import { TlsAlert } from "../protocol/tls-alert.ts";
import type { ReverseTlsState } from "../reverse/listener-state.ts";
import { answerAndClose } from "./answers.ts";
import { acceptClientTls } from "./client-tls.ts";
import { type ConnReader, FlowTimeoutError } from "./conn-reader.ts";
import type { FlowContext } from "./context.ts";
import { clientFailure, errorText, type FlowState } from "./flow-state.ts";
import { hungUpBeforeHello, readClientHello, refuseTls } from "./tls-hello.ts";

/** How the listener is named in its errors. */
export interface TlsListenerWords {
  /** `reverse TLS listener`, `HTTPS proxy listener`: in the flow line of non-TLS bytes. */
  readonly listener: string;
  /** What a client that sent plain HTTP is told, in plain HTTP (400). */
  readonly plainHint: string;
}

/**
 * Reads the ClientHello (its ECH, ALPN and the time it took go into the flow). Undefined when
 * there is none: the client is answered (plain HTTP gets a 400 saying `words.plainHint`) or
 * closed, and the flow line written — or nothing logged for a client that hung up first.
 */
export async function readListenerHello(client: Conn, src: ConnReader, tls: ReverseTlsState, ctx: FlowContext, flow: FlowState, words: TlsListenerWords): Promise<{ hello: ClientHello; raw: Uint8Array } | undefined> {
  const r = flow.record;
  const waiting = performance.now();
  try {
    const read = await readClientHello(src, { maxBytes: tls.maxClientHelloBytes, maxRecords: tls.maxClientHelloRecords, timeoutMs: ctx.limits.headerTimeoutMs, drain: ctx.drain });
    flow.helloMs = performance.now() - waiting;
    r.ech = read.hello.ech;
    r.alpn = read.hello.alpn.length > 0 ? read.hello.alpn.join(",") : null;
    return read;
  } catch (e) {
    if (e instanceof ClientHelloError && e.reason === "not-tls") {
      r.status = 400;
      await answerAndClose(client, src, 400, words.plainHint);
      flow.finish("error", `Non-TLS bytes on the ${words.listener}: ${e.message}`);
      return undefined;
    }
    client.close();
    if (hungUpBeforeHello(e, src)) return undefined;
    const why = e instanceof FlowTimeoutError ? `No complete ClientHello within ${ctx.limits.headerTimeoutMs} ms` : errorText(e);
    flow.finish(e instanceof ClientHelloError || e instanceof FlowTimeoutError ? "error" : clientFailure(e), why);
    return undefined;
  }
}

/**
 * Completes the handshake with the certificate `sni` selects, `raw` (the ClientHello) and
 * anything read after it first. Undefined when it did not: the client got an alert (or was
 * closed) and the flow line is written.
 */
export async function acceptListenerTls(client: Conn, src: ConnReader, raw: Uint8Array, sni: string | undefined, tls: ReverseTlsState, ctx: FlowContext, flow: FlowState): Promise<TlsSession | undefined> {
  const r = flow.record;
  const selection = tls.store.select(sni);
  let cert: { readonly chainPem: string; readonly keyPem: string };
  if (selection.kind === "refuse") {
    r.decision = "deny";
    r.rule = "unknown-sni";
    r.reason = selection.reason;
    await refuseTls(client, TlsAlert.unrecognizedName, src);
    flow.finish("denied");
    return undefined;
  }
  if (selection.kind === "mint") {
    const ic = ctx.interception;
    if (!ic) {
      await refuseTls(client, TlsAlert.internalError, src);
      flow.finish("error", `No CA is configured to mint a certificate for "${selection.name}"`);
      return undefined;
    }
    try {
      cert = await ic.leaf(selection.name);
    } catch (e) {
      await refuseTls(client, TlsAlert.internalError, src);
      flow.finish("error", `Could not issue a certificate for "${selection.name}": ${errorText(e)}`);
      return undefined;
    }
  } else {
    cert = selection.certificate;
  }
  const rest = src.release();
  try {
    const clientCerts = tls.clientCertificates;
    return await acceptClientTls(ctx, client, cert, tls.minVersion, rest ? concatBytes([raw, rest]) : raw, flow.helloMs, clientCerts ? { caPem: clientCerts.trust.caPem } : undefined);
  } catch (e) {
    flow.finish("error", errorText(e));
    return undefined;
  }
}
