/**
 * One connection on an HTTPS proxy listener (an explicit listener with `tls`): the client's
 * TLS to the proxy is terminated with the listener's certificate, then its proxy requests
 * are served as on a plain explicit listener — CONNECT tunnels (TLS inside TLS), decryption,
 * absolute-form requests, proxy authentication. On the network between client and gateway,
 * neither the proxy credentials nor the names asked for are in clear.
 * @module
 */
import type { Conn } from "../core/conn.ts";
import { relayedLike } from "../core/relayed-conn.ts";
import { inForce, type ReverseTlsState } from "../reverse/listener-state.ts";
import { ConnReader } from "./conn-reader.ts";
import type { FlowContext } from "./context.ts";
import { serveExplicit } from "./explicit.ts";
import { ConnectionCertificate } from "../auth/connection-certificate.ts";
import { FlowState } from "./flow-state.ts";
import { acceptListenerTls, readListenerHello, type TlsListenerWords } from "./tls-listener.ts";

const WORDS: TlsListenerWords = {
  listener: "HTTPS proxy listener",
  plainHint: "This proxy port speaks TLS: configure the proxy as https://host:port (curl: --proxy https://…; PAC: HTTPS host:port)",
};

/**
 * Serves one connection of an HTTPS proxy listener. `tls` gives the listener's TLS in force
 * (a reload replaces its certificates), read once for the handshake. Failures before the
 * handshake completed get one flow line; afterwards each request (or tunnel) gets its own,
 * as on a plain explicit listener.
 *
 * With `clientCertificates`, the client's certificate signs in each of its requests. It is
 * checked for every request against the CAs and CRLs in force then (a cached verdict, mostly),
 * so a reload with a new CRL holds from an open connection's next request; and for a tunnel
 * still open, at once (it is closed).
 */
export async function handleHttpsProxy(client: Conn, ctx: FlowContext, tls: () => ReverseTlsState): Promise<void> {
  const flow = new FlowState(ctx, client, ctx.mode);
  flow.record.kind = "tls";
  const src = new ConnReader(client);
  const state = inForce(tls);
  if (!state) {
    // renamed or removed by a reload since the connection came (behind a slow PROXY header)
    client.close();
    return flow.finish("error", "the listener was changed by a reload before the handshake; connect again");
  }
  const read = await readListenerHello(client, src, state, ctx, flow, WORDS);
  if (!read) return;
  flow.record.host = read.hello.sni ?? null;
  const session = await acceptListenerTls(client, src, read.raw, read.hello.sni, state, ctx, flow);
  if (!session) return;
  // the proxy's client is the one the connection came from (a load balancer's relayed one too)
  const inner = relayedLike(session.conn, client);
  const asked = state.clientCertificates !== undefined;
  const certificate = new ConnectionCertificate(session.peerCertificateDer ?? null, asked, () => inForce(tls)?.clientCertificates, ctx.userGroups ?? (() => []));
  return serveExplicit(inner, ctx, certificate);
}
