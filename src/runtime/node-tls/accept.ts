/**
 * Server-side TLS with `node:tls` on top of any core `Conn` (the Deno adapter's path, and
 * Bun's fallback for conns that are not native sockets).
 *
 * Known limit on Bun (1.4.5): its `node:tls` over a non-socket Duplex tears the connection
 * down when the client's close_notify arrives, so writing after the client's half-close
 * fails there ("Canceled because of SSL destruction"). Bun's own sockets use `upgradeTLS`.
 *
 * @module
 */

import { createSecureContext, TLSSocket } from "node:tls";
import type { SecureContext } from "node:tls";
import type { Conn } from "../../core/conn.ts";
import type { TlsAcceptOptions, TlsSession } from "../../core/tls.ts";
import { connToDuplex } from "./conn-duplex.ts";
import { completeHandshake } from "./handshake.ts";
import type { ConnDuplexOptions } from "./conn-duplex.ts";
import { NodeSocketConn } from "./node-socket-conn.ts";
import { ALPN_FAILURE, errorCode, handshakeFailure } from "./verify.ts";

/** The alert for a handshake failure: no_application_protocol (120), protocol_version (70) or handshake_failure (40). */
function alertFor(error: Error): number {
  const text = `${errorCode(error) ?? ""} ${error.message}`;
  if (ALPN_FAILURE.test(text)) return 120;
  if (/VERSION|UNSUPPORTED_PROTOCOL|Tls12NotOfferedOrEnabled/i.test(text)) return 70;
  return 40;
}

/**
 * Terminates TLS on `conn` with `options.certChainPem`/`keyPem`. The Conn's streams must be
 * unlocked; bytes still queued in its readable are read after `initialData`. ALPN is the
 * first of `options.alpn` the client offered (a client offering ALPN with none of them gets
 * a no_application_protocol alert and this rejects). Aborting `signal` closes `conn`.
 * `buffers.freeBuffers` frees the buffers passed through as soon as they are passed on; only
 * for a `node:tls` that allows it (Deno's, see {@linkcode ConnDuplexOptions}).
 *
 * @example
 * ```ts
 * const session = await acceptNodeTls(conn, { certChainPem, keyPem, alpn: ["http/1.1"], minVersion: "TLSv1.2", initialData: hello });
 * ```
 */
export function acceptNodeTls(conn: Conn, options: TlsAcceptOptions, buffers: ConnDuplexOptions = {}): Promise<TlsSession> {
  if (options.signal?.aborted) {
    conn.close();
    return Promise.reject(options.signal.reason);
  }
  let secureContext: SecureContext;
  try {
    secureContext = createSecureContext({
      cert: options.certChainPem,
      key: options.keyPem,
      minVersion: options.minVersion,
      // the acceptable CA names of the CertificateRequest (the chain is verified by the caller)
      ...(options.requestClientCertificate ? { ca: [...options.requestClientCertificate.caPem] } : {}),
    });
  } catch (e) {
    conn.close(); // bad certificate or key: nothing to answer the client with
    return Promise.reject(e);
  }
  const transport = connToDuplex(conn, options.initialData, buffers);
  const socket = new TLSSocket(transport.duplex, {
    isServer: true,
    secureContext,
    ALPNProtocols: options.alpn.length > 0 ? [...options.alpn] : undefined,
    // never refused here: a client without a certificate, or with one not from these CAs, gets
    // an answer that says so (Deno's node:tls 2.9 would not check the chain anyway)
    ...(options.requestClientCertificate ? { requestCert: true, rejectUnauthorized: false } : {}),
  });
  transport.freeConsumed(socket);
  return completeHandshake(socket, conn, transport, {
    event: "secure",
    signal: options.signal,
    onError: (e) => {
      transport.sendAlertIfSilent(alertFor(e));
      return handshakeFailure(`client ${conn.remote.address}`, e, options.alpn);
    },
    closed: () => new Error(`TLS handshake with client ${conn.remote.address} failed: connection closed`),
    done: () => {
      const sni = socket.servername;
      const alpn = socket.alpnProtocol;
      return {
        conn: new NodeSocketConn(socket, conn.remote, conn.local, {
          transport,
          freeBuffers: buffers.freeBuffers,
          onClose: (e) => {
            if (e) conn.close();
          },
        }),
        alpn: typeof alpn === "string" && alpn !== "" ? alpn : null,
        version: socket.getProtocol() ?? "",
        servername: typeof sni === "string" && sni !== "" ? sni : null,
        ...(options.requestClientCertificate ? { peerCertificateDer: leafDer(socket.getPeerCertificate()) } : {}),
      };
    },
  });
}

/** The DER of a peer certificate from `getPeerCertificate()` (a copy), null for none (`{}`). */
export function leafDer(peer: { readonly raw?: Uint8Array } | undefined | null): Uint8Array | null {
  return peer?.raw && peer.raw.byteLength > 0 ? new Uint8Array(peer.raw) : null;
}
