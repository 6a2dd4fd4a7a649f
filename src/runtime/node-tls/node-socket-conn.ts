/**
 * A `node:stream` Duplex (a `tls.TLSSocket`) seen as a core `Conn`, with the same semantics
 * as the adapters' TCP conns: explicit `pause()`/`resume()` backpressure (never `pipe`: on
 * Deno, `node:stream` piping buffered hundreds of MB), `drain`-paced writes, half-close.
 * With `freeBuffers`, the chunks it hands out are marked for release (`received-chunk.ts`)
 * and marked chunks written to it are freed once the Duplex is done with them.
 *
 * @module
 */

import type { Duplex } from "node:stream";
import { clearInterval, setInterval } from "node:timers";
import type { Address, Conn } from "../../core/conn.ts";
import { markWhole, releaseWritten } from "../../core/received-chunk.ts";
import { trackFlush } from "../flushing.ts";

/** Bytes buffered in the readable side before the socket is paused. */
const READ_HIGH_WATER = 256 * 1024;

/**
 * How long a socket whose writable side was ended may go without handing its transport
 * anything before it is destroyed (a peer that stopped reading), as a kernel gives up a
 * closed socket's unsent bytes after a while; the same as Deno's loopback hops.
 */
export const FLUSH_MS = 60_000;

/** Extra controls for a {@linkcode NodeSocketConn}. */
export interface NodeSocketConnOptions {
  /** Runs once when the Duplex is gone, with the error when it ended abortively. */
  readonly onClose?: (error: Error | undefined) => void;
  /**
   * Pauses/resumes the transport under the Duplex along with the Duplex itself: `node:tls`
   * keeps reading its transport while the TLS socket is paused, so only this bounds memory.
   */
  readonly transport?: { pause(): void; resume(): void };
  /**
   * The Duplex emits each chunk in a buffer of its own and keeps no reference to it (Deno's
   * TLSWrap copies every decrypted read into a fresh ArrayBuffer), and is done with a written
   * chunk when the write's callback runs: received chunks are marked so that the Conn that
   * sends them on frees them, and chunks written here are freed after their callback.
   */
  readonly freeBuffers?: boolean;
  /** How long a closing socket may hand its transport nothing (default {@linkcode FLUSH_MS}; for tests). */
  readonly flushMs?: number;
}

/**
 * Web Streams over a Duplex. Reading pauses the Duplex when the stream's queue is full and
 * resumes on pull; writing waits for `drain`; closing the writable ends the Duplex (for TLS:
 * close_notify, then FIN) while reading goes on.
 */
export class NodeSocketConn implements Conn {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly remote: Address;
  readonly local: Address;
  #socket: Duplex;
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  #paused = false;
  #readDone = false;
  #writeDone = false;
  #closed = false;
  /** `#flush` was called: the socket is destroyed once it has handed its transport everything. */
  #flushing = false;
  #pending: { resolve: () => void; reject: (e: Error) => void } | undefined;
  #onClose: ((error: Error | undefined) => void) | undefined;
  #transport: { pause(): void; resume(): void } | undefined;
  #free: boolean;
  #flushMs: number;

  constructor(socket: Duplex, remote: Address, local: Address, options: NodeSocketConnOptions = {}) {
    this.#socket = socket;
    this.remote = remote;
    this.local = local;
    this.#onClose = options.onClose;
    this.#transport = options.transport;
    this.#free = options.freeBuffers === true;
    this.#flushMs = options.flushMs ?? FLUSH_MS;
    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          this.#controller = c;
        },
        pull: () => {
          if (this.#paused && !this.#closed) this.#resume();
        },
        cancel: () => {
          this.#readDone = true;
          // keep consuming (and dropping) so the peer's close is still seen
          if (this.#paused) this.#resume();
          this.#release();
        },
      },
      { highWaterMark: READ_HIGH_WATER, size: (chunk) => chunk?.byteLength ?? 0 },
    );
    this.writable = new WritableStream<Uint8Array>({
      write: (chunk) => this.#write(chunk),
      close: () => {
        this.#writeDone = true;
        if (!this.#closed) this.#socket.end();
        this.#release();
      },
      abort: () => this.close(),
    });
    socket.on("data", (data: Uint8Array) => this.#onData(data));
    socket.on("end", () => this.#onEnd());
    socket.on("drain", () => {
      const p = this.#pending;
      this.#pending = undefined;
      p?.resolve();
    });
    socket.on("error", (e: Error) => this.#finish(e));
    socket.on("close", () => this.#finish(undefined));
  }

  /**
   * Tears the connection down; idempotent. Reading stops at once. After the writable was
   * closed (close_notify and FIN on their way), the socket is ended in order: what it still
   * holds goes on to the transport, which is then ended, not closed (no reset). Otherwise both
   * directions are aborted now.
   */
  close(): void {
    if (this.#closed) return;
    if (this.#writeDone && !this.#pending) {
      // keep consuming (and dropping) what the peer sends, so that it is not held up
      if (this.#paused) this.#resume();
      this.#flush();
      this.#finish(new Error("Connection closed"), true);
      return;
    }
    this.#socket.destroy();
    this.#finish(new Error("Connection closed"));
  }

  #onData(data: Uint8Array): void {
    const c = this.#controller;
    if (!c || this.#readDone) return;
    // a plain view: consumers must not depend on Buffer methods
    const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    c.enqueue(this.#free ? markWhole(view) : view);
    if ((c.desiredSize ?? 1) <= 0 && !this.#paused) {
      this.#paused = true;
      this.#socket.pause();
      this.#transport?.pause();
    }
  }

  #resume(): void {
    this.#paused = false;
    this.#transport?.resume();
    this.#socket.resume();
  }

  #onEnd(): void {
    if (this.#readDone) return;
    this.#readDone = true;
    try {
      this.#controller?.close();
    } catch {
      // already closed or errored
    }
    this.#release();
  }

  /**
   * The Conn is done: a pending write and the reader get `error` (the reader an end instead
   * when there is none). The socket is destroyed now, unless `flushing` (`#flush` sees to it),
   * and `onClose` hears of `error` unless `flushing`, so that the transport is ended in order.
   */
  #finish(error: Error | undefined, flushing = false): void {
    if (this.#closed) return;
    this.#closed = true;
    const p = this.#pending;
    this.#pending = undefined;
    p?.reject(error ?? new Error("Connection closed"));
    if (!this.#readDone) {
      this.#readDone = true;
      try {
        if (error) this.#controller?.error(error);
        else this.#controller?.close();
      } catch {
        // already closed
      }
    }
    if (!flushing && !this.#socket.destroyed) this.#socket.destroy();
    const onClose = this.#onClose;
    this.#onClose = undefined;
    onClose?.(flushing ? undefined : error);
  }

  #write(chunk: Uint8Array): Promise<void> | void {
    if (this.#closed) throw new Error("Connection closed");
    const done = this.#free ? () => releaseWritten(chunk) : undefined;
    if (this.#socket.write(chunk, done)) return;
    return new Promise<void>((resolve, reject) => {
      this.#pending = { resolve, reject };
    });
  }

  /** Both halves done: let the socket flush what it holds, then drop it. */
  #release(): void {
    if (!this.#readDone || !this.#writeDone || this.#closed) return;
    this.#flush();
  }

  /**
   * Destroys the socket (its writable side ended) once it has handed everything to its
   * transport (`finish`), or once it has handed nothing on for {@linkcode FLUSH_MS}, or when
   * a shutdown gives up on it (`Runtime.settle`).
   */
  #flush(): void {
    if (this.#flushing) return;
    this.#flushing = true;
    const s = this.#socket;
    if (s.writableFinished || s.destroyed) {
      s.destroy();
      return;
    }
    let seen = s.writableLength;
    const watch = setInterval(() => {
      if (s.writableLength === seen) end();
      seen = s.writableLength;
    }, this.#flushMs);
    watch.unref();
    const end = () => {
      clearInterval(watch);
      untrack();
      s.off("finish", end);
      s.off("close", end);
      s.destroy();
    };
    const untrack = trackFlush(end);
    s.once("finish", end);
    s.once("close", end); // destroyed otherwise (an error)
  }
}
