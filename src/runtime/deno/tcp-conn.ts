import type { Address, Conn } from "../../core/conn.ts";
import { markReceived, releaseWritten } from "../../core/received-chunk.ts";
import { readConn } from "./conn-read.ts";

/**
 * Read buffer sizes: a pending read holds its buffer, so an idle connection should hold a
 * small one; a busy one grows to 64 KiB so bulk transfers need few reads. An idle tunnel
 * has two pending reads: with 2 KiB they cost ~35 KiB RSS per tunnel instead of ~65 KiB at
 * 16 KiB (scripts/load/idle-tunnels.ts, 9,950 tunnels), and bulk throughput is unchanged
 * (the size doubles on every full read: 2 → 64 KiB in five reads).
 */
const MIN_READ = 2 * 1024;
const MAX_READ = 64 * 1024;

const sockets = new WeakMap<Conn, Deno.TcpConn>();

/**
 * The Deno socket under `conn` when it is a plain {@linkcode DenoTcpConn} whose readable has
 * nothing read ahead (it never has: reads are pulled one at a time), for code in this adapter
 * that relays it with its own read loop. The caller must not use `conn`'s streams afterwards.
 */
export function tcpSocketOf(conn: Conn): Deno.TcpConn | undefined {
  return sockets.get(conn);
}

/** How a conn that is not the client's own socket presents itself (a TLS conn behind a hop). */
export interface ConnAs {
  readonly remote: Address;
  readonly local: Address;
  /** One read size instead of the adaptive one (a TLS conn reads one record at a time). */
  readonly readSize?: number;
  /**
   * Called once when the conn is closed: `flush` true when its write half had ended first
   * (both halves in order, or `close()` after closing the writable: the way the flows end a
   * connection in order): what was written must still reach the peer, as the bytes in a
   * closed socket's send buffer do; false when `close()` tears it down otherwise (a failure:
   * the peer must not take a cut-off answer for a whole one).
   */
  readonly onClose?: (flush: boolean) => void;
}

/**
 * A `Deno.TcpConn` seen as a `Conn`. Deno's own `conn.readable` closes the resource at EOF,
 * which would also kill our write side; these streams keep the halves independent:
 * reading is pull-based (nothing is read until the consumer asks: real TCP backpressure),
 * closing the writable calls `closeWrite()` (FIN), and the resource is closed once both
 * halves are done.
 */
export class DenoTcpConn implements Conn {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly remote: Address;
  readonly local: Address;
  #conn: Deno.TcpConn | Deno.TlsConn;
  #onClose: ((flush: boolean) => void) | undefined;
  #readSize = MIN_READ;
  readonly #minRead: number;
  readonly #maxRead: number;
  #readDone = false;
  #writeDone = false;
  #closed = false;

  constructor(conn: Deno.TcpConn | Deno.TlsConn, seen?: ConnAs) {
    this.#conn = conn;
    if (!seen) sockets.set(this, conn as Deno.TcpConn);
    this.#onClose = seen?.onClose;
    this.#minRead = seen?.readSize ?? MIN_READ;
    this.#maxRead = seen?.readSize ?? MAX_READ;
    this.#readSize = this.#minRead;
    const r = conn.remoteAddr;
    const l = conn.localAddr;
    this.remote = seen?.remote ?? { address: stripMapped(r.hostname), port: r.port };
    this.local = seen?.local ?? { address: stripMapped(l.hostname), port: l.port };
    this.readable = new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          const buf = new Uint8Array(this.#readSize);
          let n: number | null;
          try {
            n = await readConn(this.#conn, buf);
          } catch (e) {
            // a TLS peer that closes TCP without close_notify: the end of the stream, as
            // node:tls (the default path) takes it, not an error
            if (seen && e instanceof Deno.errors.UnexpectedEof) n = null;
            else {
              this.#readDone = true;
              controller.error(this.#closed ? new Error("Connection closed") : e);
              this.#release();
              return;
            }
          }
          if (n === null) {
            this.#readDone = true;
            controller.close();
            this.#release();
            return;
          }
          // grow while reads fill the buffer, shrink back when they come in small
          if (n === buf.byteLength) this.#readSize = Math.min(this.#maxRead, this.#readSize * 2);
          else if (n < this.#readSize / 4) this.#readSize = this.#minRead;
          // freed once written (releaseWritten), not left to V8's external-memory GC trigger
          controller.enqueue(markReceived(buf.subarray(0, n)));
        },
        cancel: () => {
          this.#readDone = true;
          this.#release();
        },
      },
      { highWaterMark: 0 },
    );
    this.writable = new WritableStream<Uint8Array>({
      write: async (chunk) => {
        let off = 0;
        while (off < chunk.byteLength) {
          off += await this.#conn.write(chunk.subarray(off));
        }
        releaseWritten(chunk);
      },
      close: async () => {
        this.#writeDone = true;
        if (!this.#closed) {
          try {
            await this.#conn.closeWrite();
          } catch {
            // peer already gone
          }
        }
        this.#release();
      },
      abort: () => this.close(),
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#shut();
    this.#onClose?.(this.#writeDone);
  }

  #shut(): void {
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }

  #release(): void {
    if (!this.#readDone || !this.#writeDone || this.#closed) return;
    this.#shut();
    // both halves ended in order: what sits behind (a hop) delivers what is left, then ends
    this.#onClose?.(true);
  }
}

/** Runtimes report IPv4 clients on dual-stack sockets as `::ffff:a.b.c.d`; the core wants `a.b.c.d`. */
export function stripMapped(address: string): string {
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}
