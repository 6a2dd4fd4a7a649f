/// <reference types="bun-types" />
import type { Socket } from "bun";
import { alpnWire } from "../../core/alpn.ts";
import type { Address } from "../../core/conn.ts";
import type { TlsClientSession, TlsConnectOptions } from "../../core/tls.ts";
import { connectNodeTls } from "../node-tls/connect.ts";
import {
  caList,
  errorCode,
  handshakeFailure,
  isIpLiteral,
  secureOptionsFor,
  validatePeer,
} from "../node-tls/verify.ts";
import { BunSocketConn, stripMapped } from "./socket-conn.ts";
import { clientContext } from "./tls-client-context.ts";
import { BunTlsConn, tlsHandlers } from "./tls-conn.ts";

/**
 * Bun reports a failed handshake (alert, version, ALPN) and an untrusted certificate the same
 * way (`ok` false plus an error); only the latter comes with the peer's certificate and an
 * X.509 reason rather than an SSL one.
 */
function handshakeBroken(socket: Socket<BunSocketConn>, error: Error | null): boolean {
  const code = errorCode(error) ?? "";
  if (code === "EPROTO" || code.startsWith("ERR_SSL")) return true;
  const peer = socket.getPeerCertificate();
  return !peer || !peer.raw;
}

/**
 * The trust anchors, minimum version and client certificate: one context made once per
 * configuration when this Bun can take it (`tls-client-context.ts`), else the options
 * themselves, which Bun turns into a new context for every connection.
 */
function trustOptions(options: TlsConnectOptions): Record<string, unknown> {
  const secureContext = clientContext(options);
  if (secureContext) return { secureContext };
  const ca = caList(options.extraCaPem);
  return {
    ...(ca ? { ca } : {}),
    secureOptions: secureOptionsFor(options.minVersion),
    ...(options.clientCertPem && options.clientKeyPem ? { cert: options.clientCertPem, key: options.clientKeyPem } : {}),
  };
}

/**
 * A validating TLS client on a native `Bun.connect({tls})` socket: TCP to the IP `address`,
 * SNI = `servername` (none for an IP literal: an empty `serverName`, else Bun sends the
 * IP), chain verified against the system roots plus `extraCaPem`, name checked by
 * `validatePeer` against `servername`. Bun is told not to reject so the decision, its
 * reason code and the peer certificate are ours on every runtime.
 *
 * With `over` (an open connection, e.g. a tunnel through a parent proxy), a native socket
 * is upgraded in place (`socket.upgradeTLS`); any other Conn goes through `node:tls`.
 *
 * @example
 * ```ts
 * const s = await bunConnectTls({ address: "127.0.0.1", port: 8443, servername: "origin.test", extraCaPem: [ca], verify: true, alpn: ["http/1.1"], minVersion: "TLSv1.2" });
 * ```
 */
export async function bunConnectTls(options: TlsConnectOptions): Promise<TlsClientSession> {
  const over = options.over;
  // Bun upgrades only a plain socket: TLS over a TLS session goes through node:tls
  if (over && (!(over instanceof BunSocketConn) || over instanceof BunTlsConn)) return connectNodeTls(options, () => Promise.reject(new Error("unreachable")));
  const signal = options.signal;
  if (over && signal?.aborted) {
    over.close();
    throw signal.reason;
  }
  signal?.throwIfAborted();
  const { servername } = options;
  const sni = isIpLiteral(servername) ? "" : servername;
  let tls: Record<string, unknown>;
  try {
    tls = {
      serverName: sni,
      rejectUnauthorized: false,
      ALPNProtocols: alpnWire(options.alpn),
      ...trustOptions(options),
    };
  } catch (e) {
    over?.close(); // an ALPN name, key or CA refused: `over` is ours to close all the same
    throw e;
  }
  let conn: BunTlsConn | undefined;
  const opened = (socket: Socket<BunSocketConn>, local: Address) => {
    conn = new BunTlsConn(socket, local, { address: options.address, port: options.port });
    socket.data = conn;
  };
  const connecting: Promise<unknown> = over ? upgrade(over, tls, opened) : Bun.connect<BunSocketConn>({
    hostname: options.address,
    port: options.port,
    allowHalfOpen: true,
    tls,
    socket: {
      ...tlsHandlers,
      open(socket: Socket<BunSocketConn>) {
        opened(socket, { address: stripMapped(socket.localAddress), port: socket.localPort ?? 0 });
      },
      connectError() {
        // the promise rejects with the error
      },
    },
  });
  const side = `"${servername}" (${options.address}:${options.port})`;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
  aborted.catch(() => {});
  try {
    await (signal ? Promise.race([connecting, aborted]) : connecting);
    if (!conn) throw new Error("connection closed before it opened");
    const handshake = conn.handshake.catch((e: unknown) => {
      throw handshakeFailure(side, e, options.alpn);
    });
    const h = await (signal ? Promise.race([handshake, aborted]) : handshake);
    if (!h.ok && handshakeBroken(h.socket, h.error)) throw handshakeFailure(side, h.error, options.alpn);
    const peer = h.socket.getPeerCertificate();
    if (options.verify) {
      const invalid = validatePeer(servername, h.error, peer);
      if (invalid) throw invalid;
    }
    const alpn = h.socket.alpnProtocol;
    return {
      conn,
      alpn: typeof alpn === "string" && alpn !== "" ? alpn : null,
      version: h.socket.getTLSVersion(),
      servername: sni === "" ? null : sni,
      peerCertificateDer: peer?.raw && peer.raw.byteLength > 0 ? new Uint8Array(peer.raw) : null,
    };
  } catch (e) {
    conn?.close();
    over?.close();
    // a connect that completes after an abort must not leak a socket
    if (!over) connecting.then((s) => (s as Socket<BunSocketConn>).terminate(), () => {});
    throw e;
  } finally {
    if (onAbort) signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * Client-side `upgradeTLS` of an open native socket. The server speaks first in TLS, so
 * bytes already received cannot belong to the handshake: they fail it.
 */
async function upgrade(
  over: BunSocketConn,
  tls: Record<string, unknown>,
  opened: (socket: Socket<BunSocketConn>, local: Address) => void,
): Promise<void> {
  await over.handOver((socket: Socket<BunSocketConn>, unread) => {
    if (unread.some((c) => c.byteLength > 0)) throw new Error("the peer sent data before the TLS handshake");
    socket.upgradeTLS<BunSocketConn>({
      tls,
      socket: {
        ...tlsHandlers,
        open(upgraded: Socket<BunSocketConn>) {
          opened(upgraded, over.local);
          over.passOn(upgraded.data); // closing `over` closes the session
        },
      },
    } as Parameters<typeof socket.upgradeTLS<BunSocketConn>>[0]);
  });
}
