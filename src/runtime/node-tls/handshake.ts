/**
 * Waiting for a `node:tls` handshake over a {@linkcode ConnDuplex}, shared by the server
 * (`accept.ts`) and client (`connect.ts`) sides: one place for which events end the wait and
 * how a failed handshake lets go of its socket and Conn.
 *
 * @module
 */

import type { TLSSocket } from "node:tls";
import type { Conn } from "../../core/conn.ts";
import type { ConnDuplex } from "./conn-duplex.ts";

/** How one side names and reports a failed handshake. */
export interface HandshakeSide<T> {
  /** `secure` (server) or `secureConnect` (client). */
  readonly event: "secure" | "secureConnect";
  readonly signal?: AbortSignal;
  /** The error to reject with for a TLS error (may also queue an alert on the transport). */
  onError(e: Error): unknown;
  /** The error to reject with when the connection closed mid-handshake. */
  closed(): Error;
  /**
   * Builds the result once the handshake is done, in the same tick as the event (so the
   * session's listeners are on the socket before anything else can be emitted); a throw
   * fails the handshake with that error.
   */
  done(): T;
}

/**
 * Resolves with `side.done()` when `socket` completes its handshake; on error, close, the
 * peer's end (FIN) or abort destroys the socket and closes `conn` — after the bytes already
 * written (an alert) reached the peer, unless aborted — and rejects.
 */
export function completeHandshake<T>(socket: TLSSocket, conn: Conn, transport: ConnDuplex, side: HandshakeSide<T>): Promise<T> {
  const { signal } = side;
  return new Promise<T>((resolve, reject) => {
    const cleanup = () => {
      socket.off(side.event, onSecure);
      socket.off("error", onError);
      socket.off("close", onClose);
      socket.off("end", onClose);
      signal?.removeEventListener("abort", onAbort);
    };
    const fail = (e: unknown, abort = false) => {
      cleanup();
      socket.on("error", () => {}); // late transport errors have no one to tell
      socket.destroy();
      // let an alert the TLS layer just wrote reach the peer, unless we were told to stop now
      if (abort) conn.close();
      else transport.closeAfterFlush();
      reject(e);
    };
    const onError = (e: Error) => fail(side.onError(e));
    const onClose = () => fail(side.closed());
    const onAbort = () => fail(signal?.reason, true);
    const onSecure = () => {
      let result: T;
      try {
        result = side.done();
      } catch (e) {
        return fail(e);
      }
      cleanup();
      resolve(result);
    };
    socket.once(side.event, onSecure);
    socket.once("error", onError);
    socket.once("close", onClose);
    // a peer that ends its side mid-handshake (FIN) gets only "end": no handshake can follow
    socket.once("end", onClose);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
