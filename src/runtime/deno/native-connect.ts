/**
 * Upstream TLS on Deno's own TLS (`Deno.startTls`, rustls in Rust) for the plain case: dialled
 * directly, validated, no client certificate, TLS 1.2 as the minimum, no need for the peer's
 * certificate (config `deno.ownTls`). Deno's `node:tls` made garbage per record written:
 * ~55 MiB of RSS on a first 1 GiB decrypted upload, ~25 with both sides on Deno's own TLS;
 * since enc-out.ts removed the copy behind it, ~14 either way (docs/hardening-measurements.md).
 *
 * A handshake that fails here is tried once more with `node:tls` (the caller's fallback):
 * rustls names a failure in its own terms (`UnknownIssuer` for a self-signed certificate as
 * for an unknown CA), `node:tls` gives the reason code and words the rest of the gateway
 * reports (`DEPTH_ZERO_SELF_SIGNED_CERT`). So a refused upstream is seen twice, an accepted
 * one once.
 *
 * Deno's TLS runs on the near end of a loopback hop (loopback-hop.ts) spliced to the dialled
 * socket, not on the socket itself: a handshake pending in Deno cannot be called off (closing
 * its conn ends the wait, but the socket stays open until the handshake ends, which for an
 * upstream that accepts TCP and never answers is never: one descriptor lost per such
 * upstream). With the hop the gateway closes ends it owns, and the pending handshake reads EOF.
 *
 * @module
 */

import type { Conn } from "../../core/conn.ts";
import type { TlsClientSession, TlsConnectOptions } from "../../core/tls.ts";
import { raceSignal } from "../../dns/abort.ts";
import { isIpLiteral } from "../node-tls/verify.ts";
import { type Hop, HopListener, quietClose, splice } from "./loopback-hop.ts";
import { DenoTcpConn, tcpSocketOf } from "./tcp-conn.ts";

/** Plaintext reads: one TLS record (16 KiB at most) per read. */
const RECORD = 16 * 1024;

/** Whether this connection can go the native way. */
export function nativeConnectFits(options: TlsConnectOptions): boolean {
  return !options.over && options.verify && !options.clientCertPem && options.minVersion === "TLSv1.2" && !options.peerCertificate;
}

/**
 * A validated handshake on Deno's own TLS over `conn`, a connection just dialled for it.
 * Resolves with the session; with "untouched" when `conn` is not a socket of this adapter or
 * no hop could be made (the caller goes on over `conn`); with "failed" when the handshake
 * failed (`conn` is closed: the caller tries `node:tls` on a new connection, which reports the
 * failure in full). Rejects with the reason when `signal` aborts, everything it opened closed.
 */
export async function connectNativeTls(conn: Conn, options: TlsConnectOptions): Promise<TlsClientSession | "untouched" | "failed"> {
  const signal = options.signal;
  const socket = tcpSocketOf(conn);
  if (!socket) return "untouched";
  let hop: Hop<Deno.TcpConn>;
  try {
    hop = await hops().dial(signal);
  } catch (e) {
    if (signal?.aborted) {
      conn.close();
      throw e;
    }
    return "untouched"; // out of descriptors, say: node:tls over the socket as it is
  }
  let accepted: Deno.TcpConn | undefined;
  let tls: Deno.TlsConn | undefined;
  // closing the gateway's ends (the socket and the hop's accepted end) is what ends a
  // handshake still pending in Deno: its conn then reads EOF (module comment)
  const teardown = () => {
    for (const c of [tls, hop.dialled, accepted, socket]) quietClose(c);
  };
  // the abort ends the waits at once (raceSignal) and closes what is open
  signal?.addEventListener("abort", teardown, { once: true });
  let refusal = false;
  try {
    signal?.throwIfAborted();
    const far = await raceSignal(hop.accepted, signal);
    accepted = far;
    const relay = splice(socket, far);
    refusal = true; // from here on a failure is the handshake's
    tls = await Deno.startTls(hop.dialled, {
      hostname: options.servername,
      caCerts: [...(options.extraCaPem ?? [])],
      alpnProtocols: [...options.alpn],
    });
    signal?.throwIfAborted();
    const { alpnProtocol } = await raceSignal(tls.handshake(), signal);
    return {
      conn: new DenoTcpConn(tls, { remote: conn.remote, local: conn.local, readSize: RECORD, onClose: (flush) => (flush ? relay.flush() : relay.abort()) }),
      alpn: alpnProtocol ?? null,
      // Deno does not say which; rustls takes 1.3 from any server that offers it
      version: "TLSv1.2+",
      servername: isIpLiteral(options.servername) ? null : options.servername,
      peerCertificateDer: null,
    };
  } catch {
    teardown();
    hop.forget();
    if (signal?.aborted) throw signal.reason;
    if (refusal) noteRefused(options);
    return "failed";
  } finally {
    signal?.removeEventListener("abort", teardown);
  }
}

/** How long a server Deno's TLS refused goes straight to `node:tls`. */
const REFUSED_MS = 10 * 60_000;
/** Servers remembered so, at most (the oldest forgotten first). */
const MAX_REFUSED = 1024;
/** `servername|port` → when the refusal is forgotten. */
const refused = new Map<string, number>();

/**
 * Whether Deno's TLS refused this server lately: a server whose certificate only `node:tls`
 * accepts (a name in the subject's CN alone, say: rustls checks SANs only) is not dialled
 * twice for every connection.
 */
export function refusedLately(options: TlsConnectOptions): boolean {
  const key = `${options.servername}|${options.port}`;
  const until = refused.get(key);
  if (until === undefined) return false;
  if (until > Date.now()) return true;
  refused.delete(key);
  return false;
}

function noteRefused(options: TlsConnectOptions): void {
  const key = `${options.servername}|${options.port}`;
  refused.delete(key);
  if (refused.size >= MAX_REFUSED) refused.delete(refused.keys().next().value!);
  refused.set(key, Date.now() + REFUSED_MS);
}

/** The hop listener for upstream handshakes, made on first use, kept for the process's life. */
let hopListener: HopListener<Deno.TcpConn> | undefined;

function hops(): HopListener<Deno.TcpConn> {
  return (hopListener ??= new HopListener(Deno.listen({ hostname: "127.0.0.1", port: 0, transport: "tcp" })));
}
