/// <reference types="bun-types" />
import type { Socket } from "bun";
import type { Address, Conn } from "../../core/conn.ts";
import { markReceived, releaseWritten } from "../../core/received-chunk.ts";

/** Bytes buffered in the readable side before the socket is paused (TCP backpressure to the peer). */
const READ_HIGH_WATER = 256 * 1024;

/** Receives a socket's events once {@link BunSocketConn.takeOver} gave the socket away. */
export interface SocketSink {
  data(data: Uint8Array): void;
  /** The peer sent FIN. */
  end(): void;
  drain(): void;
  /** The socket is gone: with an error (reset, …) or after both directions ended. */
  close(error?: Error): void;
}

/** What {@link BunSocketConn.takeOver} hands over. */
export interface TakenSocket {
  readonly socket: Socket<BunSocketConn>;
  /** Bytes received but not read from `readable`, oldest first. */
  readonly unread: Uint8Array[];
  /** The peer's FIN came before the takeover. */
  readonly ended: boolean;
  /** Closes gracefully (both directions are done): FIN if not yet sent, no reset. */
  end(): void;
}

/**
 * A Bun TCP socket seen as a `Conn`: Web Streams over Bun's native socket handlers.
 * Reading pauses the socket when the stream's queue is full and resumes on pull;
 * writing waits for `drain` when the kernel buffer is full. Closing the writable sends FIN.
 */
export class BunSocketConn implements Conn {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly remote: Address;
  readonly local: Address;
  #socket: Socket<BunSocketConn>;
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  #paused = false;
  #readDone = false;
  #writeDone = false;
  #closed = false;
  /** A write the kernel took only part of: the rest (`data`) goes out on `drain`; `chunk` is the whole write. */
  #pending: { chunk: Uint8Array; data: Uint8Array; resolve: () => void; reject: (e: Error) => void } | undefined;
  /** Set by `handOver`: bytes arriving meanwhile are kept here, not given to `readable`. */
  #stash: Uint8Array[] | undefined;
  /** The socket belongs to someone else now (a TLS layer): ignore its events, write nothing. */
  #handedOver = false;
  /** Set by `passOn`: the Conn on the socket that took over the handed-over one; `close()` closes it. */
  #heir: { close(): void } | undefined;
  /** FIN came while stashing for a takeover. */
  #stashEnded = false;
  /** Set by `takeOver`: the socket's events go here. */
  #sink: SocketSink | undefined;

  constructor(socket: Socket<BunSocketConn>, local: Address, remote?: Address) {
    this.#socket = socket;
    this.remote = remote ?? { address: stripMapped(socket.remoteAddress), port: socket.remotePort ?? 0 };
    this.local = local;
    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          this.#controller = c;
        },
        pull: () => {
          if (this.#paused && !this.#closed) {
            this.#paused = false;
            this.#socket.resume();
          }
        },
        cancel: () => {
          this.#readDone = true;
          this.#release();
        },
      },
      { highWaterMark: READ_HIGH_WATER, size: (chunk) => chunk?.byteLength ?? 0 },
    );
    this.writable = new WritableStream<Uint8Array>({
      write: (chunk) => this.#write(chunk),
      close: () => {
        this.#writeDone = true;
        if (!this.#closed && !this.#handedOver) this.#socket.shutdown();
        this.#release();
      },
      abort: () => this.close(),
    });
  }

  /**
   * Tears the connection down: reading stops at once. After the writable was closed (FIN
   * sent in order) the socket is ended, not reset, so what it already took still goes out,
   * as from a closed kernel socket's send buffer: `terminate()` (SO_LINGER 0) dropped it, and
   * a slow client of a response ended with `Connection: close` got it cut off. Otherwise (a
   * failure mid-stream, a socket handed to a TLS layer or a splice) it is reset at once, so
   * that the peer does not take a cut-off answer for a whole one.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // the connection is the upgraded socket's now: `terminate()` of this one would not reach it
    if (this.#heir) this.#heir.close();
    else if (this.#writeDone && !this.#pending && !this.#handedOver && !this.#sink) this.#socket.end();
    else this.#socket.terminate();
    // Bun's close handler will find us closed already: a relay driving the socket (native
    // splice) must hear of it from here, or it would wait for the other side forever
    if (this.#sink) this.#sink.close(new Error("Connection closed"));
    else this.#finish(new Error("Connection closed"));
  }

  /**
   * Gives the socket to `take` (e.g. for `upgradeTLS`) with every byte received but not yet
   * read from `readable` (which then ends; the streams must be unlocked). Waits for a write
   * in flight first. From then on this Conn ignores the socket's events and refuses writes;
   * `close()` still tears the socket down (through the Conn `take` names with `passOn`, for a
   * socket that `take` upgrades).
   */
  async handOver<T>(take: (socket: Socket<BunSocketConn>, unread: Uint8Array[]) => T): Promise<T> {
    const { unread } = await this.#detach();
    this.#handedOver = true;
    return take(this.#socket, unread);
  }

  /**
   * Names the Conn of the socket that took over the handed-over one (`upgradeTLS` gives a new
   * socket object, which owns the connection from then on: `terminate()` of the old one does
   * not reach it), so that `close()` tears the connection down through it.
   */
  passOn(heir: { close(): void }): void {
    this.#heir = heir;
    if (this.#closed) heir.close();
  }

  /**
   * Like `handOver`, for a relay that drives the socket itself (a native splice): the
   * socket's events keep coming, to `sink`. `close()` still tears the socket down.
   */
  async takeOver(sink: SocketSink): Promise<TakenSocket> {
    const { unread, ended } = await this.#detach();
    this.#sink = sink;
    if (this.#paused) {
      // paused for a full stream queue: the relay pauses and resumes it from now on
      this.#paused = false;
      this.#socket.resume();
    }
    return {
      socket: this.#socket,
      unread,
      ended,
      end: () => {
        if (this.#closed) return;
        this.#closed = true;
        this.#socket.end();
      },
    };
  }

  /** Ends `readable` after taking what it holds, and stops giving it the socket's events. */
  async #detach(): Promise<{ unread: Uint8Array[]; ended: boolean }> {
    if (this.#closed) throw new Error("Connection closed");
    if (this.#stash || this.#handedOver || this.#sink) throw new TypeError("Connection was already handed over");
    this.#stash = [];
    if (!this.writable.locked) {
      const w = this.writable.getWriter();
      await w.ready; // a write in flight has reached the socket
      w.releaseLock();
    }
    const unread: Uint8Array[] = [];
    let ended = this.#readDone;
    const reader = this.readable.getReader();
    const c = this.#controller;
    try {
      // desiredSize below the high water mark: something is queued (0 once closed, and
      // then read() drains the rest and says done; null once errored, and read() throws)
      while (c && (c.desiredSize ?? 0) < READ_HIGH_WATER) {
        const r = await reader.read();
        if (r.done) {
          ended = true;
          break;
        }
        unread.push(r.value);
      }
    } catch (e) {
      reader.releaseLock();
      throw e;
    }
    this.#readDone = true;
    try {
      c?.close();
    } catch {
      // already closed
    }
    reader.releaseLock();
    if (this.#closed) throw new Error("Connection closed");
    unread.push(...this.#stash);
    this.#stash = undefined;
    return { unread, ended: ended || this.#stashEnded };
  }

  /** Bun `data` handler. */
  onData(data: Uint8Array): void {
    if (this.#sink) {
      this.#sink.data(data);
      return;
    }
    if (this.#handedOver) {
      // Bun still hands the raw socket every ciphertext chunk its TLS layer reads
      // (oven-sh/bun#26297), each a fresh copy: free it now, not at the next GC
      releaseWritten(markReceived(data));
      return;
    }
    if (this.#stash) {
      this.#stash.push(data);
      return;
    }
    const c = this.#controller;
    if (!c || this.#readDone) return;
    // a fresh buffer per event (up to 512 KiB): freed once written, not at the next GC
    c.enqueue(markReceived(data));
    if ((c.desiredSize ?? 1) <= 0 && !this.#paused) {
      this.#paused = true;
      this.#socket.pause();
    }
  }

  /** Bun `end` handler: the peer sent FIN. */
  onEnd(): void {
    if (this.#sink) {
      this.#sink.end();
      return;
    }
    if (this.#stash) this.#stashEnded = true;
    if (this.#readDone || this.#stash || this.#handedOver) return;
    this.#readDone = true;
    try {
      this.#controller?.close();
    } catch {
      // already closed or errored
    }
    this.#release();
  }

  /** Bun `drain` handler. */
  onDrain(): void {
    if (this.#sink) {
      this.#sink.drain();
      return;
    }
    const p = this.#pending;
    if (!p) return;
    const n = this.#socket.write(p.data);
    if (n < 0) {
      this.#pending = undefined;
      p.reject(new Error("Connection closed"));
    } else if (n === p.data.byteLength) {
      this.#pending = undefined;
      releaseWritten(p.chunk);
      p.resolve();
    } else {
      p.data = p.data.subarray(n);
    }
  }

  /**
   * Bun `close`/`error` handlers. Bun reports a clean end (FIN after both halves) as `close`
   * without an error: that is end-of-stream for the reader, not a failure.
   */
  onClose(error?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#sink) this.#sink.close(error);
    else this.#finish(error);
  }

  #finish(error: Error | undefined): void {
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
  }

  #write(chunk: Uint8Array): Promise<void> | void {
    if (this.#closed) throw new Error("Connection closed");
    if (this.#handedOver || this.#stash) throw new TypeError("Connection was handed over to TLS");
    const n = this.#socket.write(chunk);
    if (n === chunk.byteLength) {
      releaseWritten(chunk); // the socket copied it out
      return;
    }
    if (n < 0) throw new Error("Connection closed");
    return new Promise<void>((resolve, reject) => {
      this.#pending = { chunk, data: chunk.subarray(n), resolve, reject };
    });
  }

  #release(): void {
    if (this.#readDone && this.#writeDone && !this.#closed && !this.#handedOver && !this.#stash) {
      this.#closed = true;
      this.#socket.end();
    }
  }
}

/** Runtimes report IPv4 clients on dual-stack sockets as `::ffff:a.b.c.d`; the core wants `a.b.c.d`. */
export function stripMapped(address: string | undefined): string {
  if (!address) return "";
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

/** Socket handlers shared by every socket (Bun allocates them once per listener). */
export const handlers = {
  data(socket: Socket<BunSocketConn>, data: Uint8Array) {
    socket.data.onData(data);
  },
  end(socket: Socket<BunSocketConn>) {
    socket.data.onEnd();
  },
  drain(socket: Socket<BunSocketConn>) {
    socket.data.onDrain();
  },
  close(socket: Socket<BunSocketConn>, error?: Error) {
    socket.data?.onClose(error);
  },
  error(socket: Socket<BunSocketConn>, error: Error) {
    socket.data?.onClose(error);
  },
};
