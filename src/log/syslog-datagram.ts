/**
 * Syslog over UDP (RFC 5426) to one collector: one message per datagram, sent as it comes,
 * with no queue and no retry — UDP's own terms, and what most collectors listen for on 514.
 * A socket whose send fails, or that reports an error (an ICMP "port unreachable"), is
 * dropped and the next message opens a new one, resolving the collector's name again.
 * @module
 */
import type { DatagramSocket } from "../core/datagram.ts";

/** Largest UDP payload over IPv4; a longer message is cut to it (RFC 5426 §3.2). */
export const MAX_DATAGRAM_BYTES = 65_507;

export interface SyslogDatagramOptions {
  /** Opens the socket to the collector (its name resolved). */
  readonly open: () => Promise<DatagramSocket>;
  /** Messages sent, or dropped (no socket, a send that failed). */
  readonly onCount?: (result: "sent" | "dropped", n: number) => void;
  /**
   * The socket could not be opened or failed (`error`; said once until one works again), or
   * works again: a message went out on it after failures.
   */
  readonly onState?: (connected: boolean, error?: string) => void;
  /**
   * After a failure, how long before a message tries a new socket (meanwhile messages are
   * dropped); doubled for each failure of a socket that worked less than a minute, up to a minute.
   */
  readonly retryMs?: number;
}

const encoder = new TextEncoder();

/** `bytes` cut to at most `max`, at a character boundary of UTF-8. */
export function cutUtf8(bytes: Uint8Array, max: number): Uint8Array {
  if (bytes.byteLength <= max) return bytes;
  let end = max;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--; // not inside a character
  return bytes.subarray(0, end);
}

export class SyslogDatagram {
  readonly #o: SyslogDatagramOptions;
  #socket: Promise<DatagramSocket | undefined> | undefined;
  #retryAt = 0;
  #closed = false;
  #failed = false;
  /** Failures in a row (of sockets that did not last a minute): the pause doubles with each. */
  #fails = 0;
  #openedAt = 0;
  /** Sends under way, which `close()` lets finish. */
  readonly #sending = new Set<Promise<void>>();

  constructor(options: SyslogDatagramOptions) {
    this.#o = options;
  }

  send(message: string): void {
    const sending = this.#send(message);
    this.#sending.add(sending);
    void sending.finally(() => this.#sending.delete(sending));
  }

  async #send(message: string): Promise<void> {
    const socket = await this.#open();
    if (!socket || this.#closed) return this.#o.onCount?.("dropped", 1);
    try {
      await socket.send(cutUtf8(encoder.encode(message), MAX_DATAGRAM_BYTES));
      this.#o.onCount?.("sent", 1);
      if (this.#failed && !this.#closed) this.#o.onState?.(true);
      this.#failed = false;
    } catch (e) {
      this.#o.onCount?.("dropped", 1);
      this.#broken(socket, e);
    }
  }

  #open(): Promise<DatagramSocket | undefined> {
    if (this.#socket) return this.#socket;
    if (Date.now() < this.#retryAt) return Promise.resolve(undefined);
    const opening = this.#o.open().then(
      (socket) => {
        this.#openedAt = Date.now();
        // nothing comes back but errors (an ICMP "port unreachable" where the platform tells)
        void socket.readable.pipeTo(new WritableStream()).catch((e: unknown) => this.#broken(socket, e));
        if (this.#closed) socket.close();
        return socket;
      },
      (e: unknown) => {
        this.#fail(e);
        return undefined;
      },
    );
    this.#socket = opening;
    return opening;
  }

  /** `socket` failed: the next message (after `retryMs`) opens a new one. */
  #broken(socket: DatagramSocket, e: unknown): void {
    void this.#socket?.then((current) => {
      if (current !== socket) return;
      socket.close();
      this.#fail(e);
    });
  }

  #fail(e: unknown): void {
    if (!this.#failed && !this.#closed) this.#o.onState?.(false, e instanceof Error ? e.message : String(e));
    this.#failed = true;
    const now = Date.now();
    this.#fails = this.#openedAt > 0 && now - this.#openedAt >= 60_000 ? 1 : this.#fails + 1;
    this.#openedAt = 0;
    this.#retryAt = now + Math.min(60_000, (this.#o.retryMs ?? 5000) * 2 ** (this.#fails - 1));
    this.#socket = undefined;
  }

  /** Lets the sends under way finish, then closes the socket; later messages are dropped. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#sending]);
    this.#closed = true;
    (await this.#socket)?.close();
  }
}
