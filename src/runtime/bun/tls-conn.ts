/// <reference types="bun-types" />
import type { Socket } from "bun";
import type { Address } from "../../core/conn.ts";
import { BunSocketConn, handlers } from "./socket-conn.ts";

/** What Bun's `handshake` handler reported. */
export interface BunHandshake {
  readonly socket: Socket<BunSocketConn>;
  readonly ok: boolean;
  readonly error: Error | null;
}

/**
 * A Bun TLS socket (native `upgradeTLS` or `Bun.connect({tls})`) as a `Conn`: the same
 * streams as a TCP `BunSocketConn` (Bun hands `data` plaintext and `write` encrypts), plus
 * the handshake outcome.
 */
export class BunTlsConn extends BunSocketConn {
  readonly handshake: Promise<BunHandshake>;
  #settle: { resolve: (h: BunHandshake) => void; reject: (e: Error) => void } | undefined;

  constructor(socket: Socket<BunSocketConn>, local: Address, remote?: Address) {
    super(socket, local, remote);
    this.handshake = new Promise<BunHandshake>((resolve, reject) => {
      this.#settle = { resolve, reject };
    });
    this.handshake.catch(() => {}); // observed by whoever awaits it
  }

  /** Bun `handshake` handler. */
  onHandshake(socket: Socket<BunSocketConn>, ok: boolean, error: Error | null): void {
    const s = this.#settle;
    this.#settle = undefined;
    s?.resolve({ socket, ok, error });
  }

  /** A close before the handshake completed fails it. */
  override onClose(error?: Error): void {
    const s = this.#settle;
    this.#settle = undefined;
    s?.reject(error ?? new Error("connection closed"));
    super.onClose(error);
  }
}

/** Socket handlers for TLS sockets whose `data` is a `BunTlsConn`. */
export const tlsHandlers = {
  ...handlers,
  handshake(socket: Socket<BunSocketConn>, ok: boolean, error: Error | null) {
    if (socket.data instanceof BunTlsConn) socket.data.onHandshake(socket, ok, error);
  },
};
