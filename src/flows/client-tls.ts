import type { Conn } from "../core/conn.ts";
import type { TlsSession, TlsVersion } from "../core/tls.ts";
import type { FlowContext, MintedLeaf } from "./context.ts";
import { INSPECTED_ALPN } from "./uninspectable.ts";

/**
 * Completes a client's TLS handshake on `client` with `cert` (HTTP/1.1 by ALPN). The whole
 * handshake must be done within `limits.headerTimeoutMs`, as a request head must: a client
 * that stops half-way (or never starts, after a CONNECT's 200) is closed rather than holding
 * its connection — and an upstream connection opened for it — for ever. `spentMs`: what the
 * client already took of that to send its ClientHello (read before, in `initialData`), so a
 * slow ClientHello and a slow rest of the handshake together get one timeout, not two. The
 * gateway's own time in between (its upstream connection) is not counted.
 * `requestClientCertificate`: ask the client for a certificate from these CAs (an HTTPS proxy
 * listener's `clientCertificates`); the session then carries what it sent.
 *
 * @throws {Error} when the handshake fails or times out (`client` is closed then)
 */
export async function acceptClientTls(
  ctx: FlowContext,
  client: Conn,
  cert: MintedLeaf,
  minVersion: TlsVersion,
  initialData?: Uint8Array,
  spentMs = 0,
  requestClientCertificate?: { readonly caPem: readonly string[] },
): Promise<TlsSession> {
  const ms = ctx.limits.headerTimeoutMs;
  const signal = AbortSignal.timeout(Math.max(1, Math.ceil(ms - spentMs)));
  try {
    return await ctx.runtime.tls.accept(client, {
      certChainPem: cert.chainPem,
      keyPem: cert.keyPem,
      alpn: [...INSPECTED_ALPN],
      minVersion,
      signal,
      ...(initialData ? { initialData } : {}),
      ...(requestClientCertificate ? { requestClientCertificate } : {}),
    });
  } catch (e) {
    client.close();
    if (signal.aborted) throw new Error(`No complete client TLS handshake within ${ms} ms`);
    throw new Error(`Client TLS handshake failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}
