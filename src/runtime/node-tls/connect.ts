/**
 * A validating TLS client with `node:tls` (the Deno adapter's path) over a Conn from the
 * adapter's own `dial`: TCP to the given IP, SNI = servername (none for an IP literal), chain
 * checked against the system roots plus extra CAs, name checked against servername.
 *
 * `tls.connect({host, port})` would open its own `node:net` socket, whose reads `pause()`
 * does not stop on Deno (a slow reader made the sender push 64 MiB into memory); over the
 * adapter's Conn the reads stop when the plaintext consumer does.
 *
 * @module
 */

import { connect } from "node:tls";
import type { TLSSocket } from "node:tls";
import type { Conn } from "../../core/conn.ts";
import type { DialOptions } from "../../core/runtime.ts";
import type { TlsClientSession, TlsConnectOptions } from "../../core/tls.ts";
import { connToDuplex } from "./conn-duplex.ts";
import { completeHandshake } from "./handshake.ts";
import type { ConnDuplexOptions } from "./conn-duplex.ts";
import { NodeSocketConn } from "./node-socket-conn.ts";
import { caList, handshakeFailure, isIpLiteral, validatePeer } from "./verify.ts";

/**
 * Dials `options.address:options.port` with `dial` (or takes `options.over`) and completes a
 * TLS handshake. Rejects with
 * `TlsValidationError` when `verify` is true and the certificate is not trusted for
 * `servername`, with an Error for other failures, with `signal.reason` on abort.
 * `buffers.freeBuffers` as for `acceptNodeTls`. `caFor` turns `extraCaPem` into the `ca`
 * option (default: the system roots plus the extras, or nothing when there are no extras).
 *
 * @example
 * ```ts
 * const s = await connectNodeTls({ address: "93.184.215.14", port: 443, servername: "example.com", verify: true, alpn: ["http/1.1"], minVersion: "TLSv1.2" }, runtime.dial);
 * ```
 */
export async function connectNodeTls(
  options: TlsConnectOptions,
  dial: (options: DialOptions) => Promise<Conn>,
  buffers: ConnDuplexOptions = {},
  caFor: (extraCaPem: readonly string[] | undefined) => string[] | undefined = caList,
): Promise<TlsClientSession> {
  const signal = options.signal;
  if (!options.over) signal?.throwIfAborted(); // else closed below
  const { servername } = options;
  const conn = options.over ?? await dial({ address: options.address, port: options.port, signal });
  if (signal?.aborted) {
    conn.close();
    throw signal.reason;
  }
  const transport = connToDuplex(conn, undefined, buffers);
  let socket: TLSSocket;
  try {
    socket = connect({
      socket: transport.duplex,
      host: options.address,
      servername: isIpLiteral(servername) ? undefined : servername,
      ca: caFor(options.extraCaPem),
      // we decide below, with the peer certificate in hand, the same way on every runtime
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
      ALPNProtocols: options.alpn.length > 0 ? [...options.alpn] : undefined,
      minVersion: options.minVersion,
      ...(options.clientCertPem && options.clientKeyPem ? { cert: options.clientCertPem, key: options.clientKeyPem } : {}),
      // half-open: the Duplex's allowHalfOpen (true) carries over to the TLS socket
    });
  } catch (e) {
    // options refused at once (Bun: a key that cannot be read)
    conn.close();
    throw e;
  }
  transport.freeConsumed(socket);
  const side = `"${servername}" (${options.address}:${options.port})`;
  return completeHandshake(socket, conn, transport, {
    event: "secureConnect",
    signal,
    onError: (e) => handshakeFailure(side, e, options.alpn),
    closed: () => new Error(`TLS handshake with ${side} failed: connection closed`),
    done: () => {
      const peer = socket.getPeerCertificate(false);
      if (options.verify) {
        const invalid = validatePeer(servername, socket.authorizationError, peer);
        if (invalid) throw invalid;
      }
      const alpn = socket.alpnProtocol;
      const raw = peer?.raw;
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
        servername: isIpLiteral(servername) ? null : servername,
        peerCertificateDer: raw && raw.byteLength > 0 ? new Uint8Array(raw) : null,
      };
    },
  });
}
