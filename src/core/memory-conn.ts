/**
 * An in-memory connection pair for tests and for wiring flows together without sockets.
 *
 * It behaves like the two ends of a TCP connection as the runtime adapters present them:
 * bounded buffers (a writer waits when its reader does not read), half-close (FIN) and an
 * abortive `close()` (RST). Web standards only.
 *
 * @module
 */

import type { Address, Conn } from "./conn.ts";

/** Options for {@link memoryConnPair}. */
export interface MemoryConnPairOptions {
  /**
   * Bytes each direction buffers on its readable side, and again on its writable side,
   * before a writer has to wait (default 65536). Memory per direction is bounded by about
   * twice this plus the largest single chunk.
   */
  readonly highWaterMark?: number;
  /** The address of the first end's peer, i.e. `a.remote` and `b.local` (default 127.0.0.1:50000). */
  readonly remote?: Address;
  /** The address of the first end itself, i.e. `a.local` and `b.remote` (default 127.0.0.1:8080). */
  readonly local?: Address;
}

/** Why an in-memory connection refused a read or write; `code` mirrors the socket errors. */
export class MemoryConnError extends Error {
  override name = "MemoryConnError";
  /** "ECONNRESET": the peer closed abortively; "EPIPE": the peer stopped reading; "ECLOSED": this end was closed. */
  readonly code: "ECONNRESET" | "EPIPE" | "ECLOSED";

  constructor(code: MemoryConnError["code"], message: string) {
    super(message);
    this.code = code;
  }
}

const DEFAULT_HIGH_WATER_MARK = 64 * 1024;

/**
 * One direction of the pair: bytes written to `writable` come out of `readable`.
 *
 * The chunk is copied synchronously inside `writer.write()` (the queuing strategy's `size`
 * callback is the one hook the Streams standard runs at that moment), so a writer may reuse
 * its buffer as soon as `write()` returns, as with a socket's send.
 */
class Pipe {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  #rc!: ReadableStreamDefaultController<Uint8Array>;
  #wc!: WritableStreamDefaultController;
  /** Copies taken in `size()`, in write order, until the sink takes them. */
  #copies: { readonly original: unknown; readonly copy: Uint8Array | undefined }[] = [];
  /** Resolves a write waiting for the reader to make room. */
  #room: { resolve: () => void; reject: (e: unknown) => void } | undefined;
  /** Set once the writing side can no longer write (reset, or the reader went away). */
  #writeError: unknown;
  #readEnded = false;
  /** Called when the writing side aborts its stream. */
  onAbort: () => void = () => {};

  constructor(highWaterMark: number) {
    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#rc = controller;
        },
        pull: () => this.#wake(),
        cancel: () => {
          this.#readEnded = true;
          this.#failWriter(new MemoryConnError("EPIPE", "The peer stopped reading"));
        },
      },
      { highWaterMark, size: (chunk) => chunk?.byteLength ?? 0 },
    );
    this.writable = new WritableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#wc = controller;
        },
        write: (chunk) => this.#write(chunk),
        close: () => {
          if (!this.#readEnded) {
            this.#readEnded = true;
            this.#rc.close();
          }
        },
        abort: () => this.onAbort(),
      },
      {
        highWaterMark,
        size: (chunk: unknown) => {
          const copy = chunk instanceof Uint8Array ? chunk.slice() : undefined;
          this.#copies.push({ original: chunk, copy });
          return copy?.byteLength ?? 0;
        },
      },
    );
  }

  /** Abortive close: the reader gets `readError` (unless the FIN came first and `graceful`), the writer `writeError`. */
  reset(readError: MemoryConnError, writeError: MemoryConnError, graceful: boolean): void {
    this.#failWriter(writeError);
    if (!this.#readEnded) {
      this.#readEnded = true;
      this.#rc.error(readError);
    } else if (!graceful) {
      // The reader's own end was closed: what it has not read yet is dropped.
      this.#rc.error(readError);
    }
  }

  async #write(chunk: Uint8Array): Promise<void> {
    let entry = this.#copies.shift();
    while (entry && entry.original !== chunk) entry = this.#copies.shift();
    if (this.#writeError !== undefined) throw this.#writeError;
    const copy = entry?.copy ?? (chunk instanceof Uint8Array ? chunk.slice() : undefined);
    if (!copy) throw new TypeError("Only Uint8Array chunks can be written");
    if (copy.byteLength === 0) return;
    this.#rc.enqueue(copy);
    while ((this.#rc.desiredSize ?? 0) <= 0) {
      await new Promise<void>((resolve, reject) => {
        this.#room = { resolve, reject };
      });
      if (this.#writeError !== undefined) throw this.#writeError;
    }
  }

  #wake(): void {
    const room = this.#room;
    this.#room = undefined;
    room?.resolve();
  }

  #failWriter(e: MemoryConnError): void {
    if (this.#writeError !== undefined) return;
    this.#writeError = e;
    this.#copies = [];
    const room = this.#room;
    this.#room = undefined;
    room?.reject(e);
    this.#wc.error(e);
  }
}

/** One end of an in-memory pair. */
class MemoryConn implements Conn {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly remote: Address;
  readonly local: Address;
  readonly #in: Pipe;
  readonly #out: Pipe;
  #closed = false;

  constructor(input: Pipe, output: Pipe, local: Address, remote: Address) {
    this.#in = input;
    this.#out = output;
    this.readable = input.readable;
    this.writable = output.writable;
    this.local = local;
    this.remote = remote;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const closed = new MemoryConnError("ECLOSED", "Connection closed");
    const reset = new MemoryConnError("ECONNRESET", "Connection reset by peer");
    // Our sending direction: data we already FIN'd stays readable by the peer.
    this.#out.reset(reset, closed, true);
    // Our receiving direction: anything unread is discarded; the peer's writes fail.
    this.#in.reset(closed, reset, false);
  }
}

/**
 * Two connected in-memory `Conn`s: bytes written to `a.writable` come out of `b.readable`
 * and vice versa.
 *
 * - Backpressure: each direction buffers about `highWaterMark` bytes on each side; beyond
 *   that `writer.ready` stays pending and `writer.desiredSize` is ≤ 0 until the peer reads.
 * - Half-close: closing `a.writable` ends `b.readable` after the queued bytes; the other
 *   direction stays open.
 * - `close()` on either end is an abortive close of both directions on both ends: pending
 *   and later reads and writes reject with a {@link MemoryConnError} (bytes already
 *   half-closed by the closing end remain readable by the peer, as after FIN then RST).
 *   Cancelling a readable makes the peer's writes fail with "EPIPE"; aborting a writable
 *   closes the connection.
 * - Chunks are copied when written; a writer may reuse its buffer once `write()` returned.
 *
 * @example
 * ```ts
 * const [client, server] = memoryConnPair({ highWaterMark: 1024 });
 * const w = client.writable.getWriter();
 * await w.write(new TextEncoder().encode("ping"));
 * await w.close(); // server.readable yields "ping", then ends
 * ```
 */
export function memoryConnPair(options: MemoryConnPairOptions = {}): [Conn, Conn] {
  const hwm = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
  if (!Number.isSafeInteger(hwm) || hwm < 1) throw new RangeError(`Invalid highWaterMark "${hwm}"`);
  const remote = options.remote ?? { address: "127.0.0.1", port: 50000 };
  const local = options.local ?? { address: "127.0.0.1", port: 8080 };
  const aToB = new Pipe(hwm);
  const bToA = new Pipe(hwm);
  const a = new MemoryConn(bToA, aToB, local, remote);
  const b = new MemoryConn(aToB, bToA, remote, local);
  aToB.onAbort = () => a.close();
  bToA.onAbort = () => b.close();
  return [a, b];
}
