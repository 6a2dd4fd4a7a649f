/// <reference types="bun-types" />
import type { Socket } from "bun";
import { alpnWire } from "../../core/alpn.ts";
import { concatBytes } from "../../core/bytes.ts";
import type { Conn } from "../../core/conn.ts";
import { socketOf } from "../../core/relayed-conn.ts";
import type { TlsAcceptOptions, TlsSession } from "../../core/tls.ts";
import { acceptNodeTls, leafDer } from "../node-tls/accept.ts";
import { handshakeFailure, secureOptionsFor } from "../node-tls/verify.ts";
import { BunSocketConn } from "./socket-conn.ts";
import { BunTlsConn, tlsHandlers } from "./tls-conn.ts";

/**
 * Server-side TLS on an accepted connection. A native Bun socket is upgraded in place with
 * `socket.upgradeTLS({isServer: true, initialData})` (`initialData` plus the bytes still
 * queued in the Conn); any other Conn goes through `node:tls`.
 *
 * @example
 * ```ts
 * const session = await bunAcceptTls(conn, { certChainPem, keyPem, alpn: ["http/1.1"], minVersion: "TLSv1.2", initialData: hello });
 * ```
 */
export async function bunAcceptTls(conn: Conn, options: TlsAcceptOptions): Promise<TlsSession> {
  // a client relayed by a load balancer (PROXY protocol): upgrade the socket underneath,
  // the session keeps the relayed client's address
  const socket = socketOf(conn);
  // TLS inside TLS (a decrypted tunnel through an HTTPS proxy listener): Bun upgrades only a
  // plain socket, so the inner session runs in node:tls over the outer one's Conn
  if (!(socket instanceof BunSocketConn) || socket instanceof BunTlsConn) return acceptNodeTls(conn, options);
  const signal = options.signal;
  if (signal?.aborted) {
    conn.close();
    throw signal.reason;
  }
  const side = `client ${conn.remote.address}`;
  let tlsConn: BunTlsConn;
  try {
    tlsConn = await socket.handOver((native: Socket<BunSocketConn>, unread) => {
      const head = concatBytes(options.initialData ? [options.initialData, ...unread] : unread);
      let created: BunTlsConn | undefined;
      native.upgradeTLS<BunSocketConn>({
        isServer: true,
        ...(head.byteLength > 0 ? { initialData: head } : {}),
        tls: {
          cert: options.certChainPem,
          key: options.keyPem,
          ALPNProtocols: alpnWire(options.alpn),
          secureOptions: secureOptionsFor(options.minVersion),
          // the acceptable CA names of the CertificateRequest; the handshake completes with any
          // certificate or none (BoringSSL still checks the client holds its key), the caller
          // verifies the chain
          ...(options.requestClientCertificate ? { ca: [...options.requestClientCertificate.caPem], requestCert: true, rejectUnauthorized: false } : {}),
        },
        socket: {
          ...tlsHandlers,
          // runs inside upgradeTLS, before the handshake (which, with initialData, may
          // complete or fail before upgradeTLS returns)
          open(upgraded: Socket<BunSocketConn>) {
            created = new BunTlsConn(upgraded, conn.local, conn.remote);
            upgraded.data = created;
            socket.passOn(created); // closing the client's Conn (a revoked flow) closes the session
          },
        },
      } as Parameters<typeof native.upgradeTLS<BunSocketConn>>[0]);
      if (!created) throw new Error("upgradeTLS did not open a socket");
      return created;
    });
  } catch (e) {
    conn.close(); // streams still locked, conn already closed, or a bad certificate/key
    throw e;
  }

  let onAbort: (() => void) | undefined;
  try {
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal?.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
    const h = await (signal ? Promise.race([tlsConn.handshake, aborted]) : tlsConn.handshake);
    if (!h.ok) throw h.error ?? new Error("handshake failed");
    const alpn = h.socket.alpnProtocol;
    const sni = h.socket.getServername() as string | undefined;
    return {
      conn: tlsConn,
      alpn: typeof alpn === "string" && alpn !== "" ? alpn : null,
      version: h.socket.getTLSVersion(),
      servername: typeof sni === "string" && sni !== "" ? sni : null,
      ...(options.requestClientCertificate ? { peerCertificateDer: leafDer(h.socket.getPeerCertificate()) } : {}),
    };
  } catch (e) {
    tlsConn.close();
    conn.close();
    throw e === signal?.reason && signal?.aborted ? e : handshakeFailure(side, e, options.alpn);
  } finally {
    if (onAbort) signal?.removeEventListener("abort", onAbort);
  }
}
