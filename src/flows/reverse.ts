/**
 * One connection on a reverse listener. With TLS: the ClientHello is read without
 * answering; a passthrough route for its SNI takes the connection whole, to a backend
 * (`reverse-passthrough.ts`); else the SNI picks the certificate (configured, minted by the
 * gateway CA, the default, or a refusal with an `unrecognized_name` alert), TLS is
 * terminated with the very same ClientHello bytes, and the decrypted requests are routed to
 * backends. Without TLS the requests are routed directly. With `tls.clientCertificates` the
 * client is asked for a certificate in the handshake, which signs in each of its requests
 * (`reverse-http.ts`). One flow line per connection (mode "reverse").
 * @module
 */
import type { Conn } from "../core/conn.ts";
import { relayedLike } from "../core/relayed-conn.ts";
import { inForce, type ReverseListenerState } from "../reverse/listener-state.ts";
import { ConnReader } from "./conn-reader.ts";
import type { FlowContext } from "./context.ts";
import { FlowState } from "./flow-state.ts";
import { serveReverseHttp } from "./reverse-http.ts";
import { passThrough } from "./reverse-passthrough.ts";
import { trackFlow } from "./live-flows.ts";
import { ConnectionCertificate } from "../auth/connection-certificate.ts";
import { acceptListenerTls, readListenerHello, type TlsListenerWords } from "./tls-listener.ts";

/** Plain HTTP sent to the HTTPS port, most likely: said in plain HTTP. */
const REVERSE_WORDS: TlsListenerWords = { listener: "reverse TLS listener", plainHint: "This port speaks HTTPS: use an https:// URL" };

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
  const first = inForce(current);
  if (!first) return renamed(client, flow); // behind a PROXY header that took a while to come
  const tls = first.tls;
  if (!tls) {
    r.kind = "http";
    const certificate = connectionCertificate(flow, null, false, current, rctx);
    trackFlow(rctx, flow, client);
    const result = await serveReverseHttp(client, rctx, current, flow, { proto: "http", sni: null, certificate });
    r.bytesUp = result.bytesUp;
    r.bytesDown = result.bytesDown;
    return flow.finish(result.end, result.error);
  }
  r.kind = "tls";
  const src = new ConnReader(client);
  const read = await readListenerHello(client, src, tls, rctx, flow, REVERSE_WORDS);
  if (!read) return;
  const { hello, raw } = read;
  r.host = hello.sni ?? null;
  const state = inForce(current);
  if (!state) return renamed(client, flow); // while the ClientHello came
  const through = state.passthrough?.match(hello.sni, ctx.listenerName);
  if (through) return passThrough(client, src, raw, hello.sni, through, state, rctx, flow);
  const session = await acceptListenerTls(client, src, raw, hello.sni, tls, rctx, flow);
  if (!session) return;
  const certificate = connectionCertificate(flow, session.peerCertificateDer ?? null, tls.clientCertificates !== undefined, current, rctx);
  trackFlow(rctx, flow, client);
  flow.watch?.also(session.conn);
  // behind a load balancer, backends' PROXY headers name the client and the address it reached
  const result = await serveReverseHttp(relayedLike(session.conn, client), rctx, current, flow, { proto: "https", sni: hello.sni ?? null, certificate });
  r.bytesUp = result.bytesUp;
  r.bytesDown = result.bytesDown;
  flow.finish(result.end, result.error);
}

/**
 * The connection's certificate, checked against the listener's `clientCertificates` in force;
 * a reload that refuses it now closes the connection (`flow.recheck`), upgraded or not.
 */
function connectionCertificate(flow: FlowState, der: Uint8Array | null, asked: boolean, current: () => ReverseListenerState, ctx: FlowContext): ConnectionCertificate {
  // a listener a reload renamed or removed takes no certificates: one asked for is refused
  const certificate = new ConnectionCertificate(der, asked, () => inForce(current)?.tls?.clientCertificates, ctx.userGroups ?? (() => []));
  flow.recheck = () => certificate.revocation();
  return certificate;
}

/** A connection whose listener a reload renamed or removed before its first request: closed, and logged. */
function renamed(client: Conn, flow: FlowState): void {
  client.close();
  flow.finish("error", "the listener was changed by a reload before the connection's first request; connect again");
}
