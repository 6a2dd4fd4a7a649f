/**
 * A core `Conn` seen as a `node:stream` Duplex, so that `node:tls` can run on top of any
 * connection (a Deno TCP conn, an in-memory conn, another TLS session's plaintext).
 *
 * Reading is pull-based: one `read()` on the Conn per `_read()` call, so the Conn's own
 * backpressure holds, but `node:tls` (on Deno at least) keeps reading its transport even
 * while the TLS socket is paused, so the plaintext consumer pauses the transport itself
 * through {@linkcode ConnDuplex.pause}/{@linkcode ConnDuplex.resume}. Ending the Duplex
 * closes the Conn's writable (FIN); destroying it closes the Conn once the bytes already
 * written have gone out (an alert before a handshake failure must reach the peer).
 *
 * With `freeBuffers` (for a TLS layer known to allow it, see {@linkcode ConnDuplexOptions}),
 * the buffers that pass through are freed as soon as they are passed on (`received-chunk.ts`)
 * instead of piling up until the next garbage collection: about three times the body size
 * in dead buffers for one decrypted transfer otherwise.
 *
 * @module
 */

import { Duplex } from "node:stream";
import type { Conn } from "../../core/conn.ts";
import { markWhole, releaseWritten } from "../../core/received-chunk.ts";

/** A Duplex over a Conn, and the switch that stops it reading from the Conn. */
export interface ConnDuplex {
  readonly duplex: Duplex;
  /** Stop reading from the Conn (its peer then meets TCP backpressure). */
  pause(): void;
  /** Read from the Conn again when the Duplex wants data. */
  resume(): void;
  /**
   * Close the Conn once the bytes already written reach it (at most {@linkcode FLUSH_LIMIT_MS}
   * later): a TLS alert sent just before a handshake failure must reach the peer.
   */
  closeAfterFlush(): void;
  /**
   * Send a fatal TLS alert as a plaintext record if the TLS layer has written nothing yet
   * (a handshake that failed on the ClientHello): Deno's `node:tls` over a Duplex reports
   * the failure but never writes its alert.
   */
  sendAlertIfSilent(description: number): void;
  /**
   * With `freeBuffers`: from now on, free each chunk read from the Conn once the Duplex's
   * earlier `data` listeners (the TLS layer's) have had it, and pass `tlsSocket` to
   * `sendOwnBuffers`. Call right after the TLS socket is built on the Duplex, so that its
   * listener comes first. Does nothing otherwise.
   */
  freeConsumed(tlsSocket: object): void;
}

/** How the TLS layer on top treats the buffers it exchanges with the Duplex. */
export interface ConnDuplexOptions {
  /**
   * The TLS layer writes each encrypted chunk in a buffer of its own that it never touches
   * again, and copies each chunk it reads before its `data` listener returns — as Deno's
   * `node:tls` does (its TLSWrap: `drainEncOut()` returns a fresh buffer per call;
   * `readBuffer(chunk)` appends the bytes to its own input buffer). Then both kinds are freed
   * as soon as they are passed on. Default false: nothing is freed early.
   */
  readonly freeBuffers?: boolean;
  /**
   * With `freeBuffers`: called with the TLS socket built on the Duplex, to make a TLS layer that
   * writes copies of its encrypted chunks write the chunks themselves (Deno: `enc-out.ts`), so
   * that the one buffer is freed once sent. Only for a layer that then still hands each buffer
   * out once and never touches it again.
   */
  readonly sendOwnBuffers?: (tlsSocket: object) => void;
}

/** How long a failing TLS layer may wait for its last bytes (an alert) to be written. */
export const FLUSH_LIMIT_MS = 1000;

/**
 * Wraps `conn` (whose streams must be unlocked) as a Duplex; `head` are bytes already read
 * from it that the Duplex delivers first.
 *
 * @example
 * ```ts
 * const { duplex } = connToDuplex(conn, clientHello);
 * const socket = new tls.TLSSocket(duplex, { isServer: true, secureContext });
 * ```
 */
export function connToDuplex(conn: Conn, head?: Uint8Array, options: ConnDuplexOptions = {}): ConnDuplex {
  const free = options.freeBuffers === true;
  const reader = conn.readable.getReader();
  const writer = conn.writable.getWriter();
  let reading = false;
  let paused = false;
  let wanted = false;
  let finishing: Promise<void> | undefined;
  let lastWrite: Promise<void> = Promise.resolve();
  let wroteAny = false;
  let closing = false;
  const closeAfterFlush = () => {
    if (closing) return;
    closing = true;
    // one macrotask first: the failing TLS layer reports its error (and we may queue an
    // alert) after it destroyed its transport
    setTimeout(() => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const limit = new Promise<void>((r) => (timer = setTimeout(r, FLUSH_LIMIT_MS)));
      Promise.race([lastWrite, limit]).then(() => {
        clearTimeout(timer);
        conn.close();
      });
    }, 0);
  };
  let pendingHead = head && head.byteLength > 0 ? head : undefined;
  const pull = () => {
    if (paused) {
      wanted = true;
      return;
    }
    if (reading) return;
    reading = true;
    if (pendingHead) {
      // on a later macrotask, never in the tick that builds the TLS socket: Deno's TLSSocket
      // crashes the process ("Cannot read properties of null (reading '_flushEncOut')") when
      // a handshake fails on data that arrived before its deferred _start()
      const h = pendingHead;
      pendingHead = undefined;
      setTimeout(() => {
        reading = false;
        duplex.push(h);
      }, 0);
      return;
    }
    reader.read().then(
      ({ done, value }) => {
        reading = false;
        duplex.push(done ? null : value);
      },
      (e: unknown) => {
        reading = false;
        duplex.destroy(e instanceof Error ? e : new Error(String(e)));
      },
    );
  };
  const duplex = new Duplex({
    allowHalfOpen: true,
    read: pull,
    write(chunk: Uint8Array, _encoding, callback) {
      wroteAny = true;
      // the Conn frees an encrypted chunk (a buffer of its own) once it has sent it
      const written = writer.write(free ? markWhole(chunk) : chunk);
      lastWrite = written.catch(() => {});
      written.then(() => callback(), callback);
    },
    final(callback) {
      finishing = writer.close();
      finishing.then(() => callback(), callback);
    },
    destroy(error, callback) {
      if (!finishing) {
        closeAfterFlush();
      } else {
        // graceful: the FIN is on its way; the Conn releases itself when the peer's FIN arrives
        finishing.then(() => {}, () => conn.close());
      }
      reader.cancel().catch(() => {});
      callback(error);
    },
  });
  return {
    duplex,
    pause: () => {
      paused = true;
    },
    resume: () => {
      paused = false;
      if (wanted) {
        wanted = false;
        pull();
      }
    },
    closeAfterFlush,
    freeConsumed: (tlsSocket) => {
      if (!free) return;
      options.sendOwnBuffers?.(tlsSocket);
      const held = head?.buffer; // the caller's bytes: not ours to free
      duplex.on("data", (chunk: Uint8Array) => {
        if (chunk.buffer !== held) releaseWritten(chunk);
      });
    },
    sendAlertIfSilent: (description: number) => {
      if (wroteAny) return;
      wroteAny = true;
      // record: alert (21), TLS 1.2 record version, length 2; fatal (2), description
      lastWrite = writer.write(Uint8Array.of(21, 3, 3, 0, 2, 2, description)).catch(() => {});
    },
  };
}
