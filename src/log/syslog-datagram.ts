/**
 * Syslog over UDP (RFC 5426) to one collector: one message per datagram, sent as it comes,
 * with no queue and no retry — UDP's own terms, and what most collectors listen for on 514.
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
  /** The socket could not be opened (`error`), or was opened after that. */
  readonly onState?: (connected: boolean, error?: string) => void;
  /** After a failure to open, how long before the next message tries again. */
  readonly retryMs?: number;
}

const encoder = new TextEncoder();

export class SyslogDatagram {
  readonly #o: SyslogDatagramOptions;
  #socket: Promise<DatagramSocket | undefined> | undefined;
  #retryAt = 0;
  #closed = false;
  #failed = false;
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
    const bytes = encoder.encode(message);
    try {
      await socket.send(bytes.byteLength > MAX_DATAGRAM_BYTES ? bytes.subarray(0, MAX_DATAGRAM_BYTES) : bytes);
      this.#o.onCount?.("sent", 1);
    } catch {
      this.#o.onCount?.("dropped", 1);
    }
  }

  #open(): Promise<DatagramSocket | undefined> {
    if (this.#socket) return this.#socket;
    if (Date.now() < this.#retryAt) return Promise.resolve(undefined);
    const opening = this.#o.open().then(
      (socket) => {
        if (this.#failed) this.#o.onState?.(true);
        this.#failed = false;
        // a collector that is not listening may be reported (ICMP): nothing to read otherwise
        void socket.readable.pipeTo(new WritableStream()).catch(() => {});
        if (this.#closed) socket.close();
        return socket;
      },
      (e: unknown) => {
        this.#failed = true;
        this.#o.onState?.(false, e instanceof Error ? e.message : String(e));
        this.#retryAt = Date.now() + (this.#o.retryMs ?? 5000);
        this.#socket = undefined;
        return undefined;
      },
    );
    this.#socket = opening;
    return opening;
  }

  /** Lets the sends under way finish, then closes the socket; later messages are dropped. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#sending]);
    this.#closed = true;
    (await this.#socket)?.close();
  }
}
