import type { Address, Conn } from "./conn.ts";

/**
 * A client connection relayed by a load balancer that named the real client in a PROXY
 * protocol header: `remote` is that client, `peer` the balancer (the socket's own peer).
 * The streams, `local` and `close()` are the socket's own, so runtime adapters can reach
 * the native socket through {@link socketOf} (an in-place TLS upgrade, a native splice).
 *
 * The bytes that came after the header in the same read (`early`) belong in front of
 * `readable`: the first `ConnReader` on this Conn takes them ({@link takeEarly}).
 */
export class RelayedConn implements Conn {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly local: Address;
  readonly remote: Address;
  /** The TCP peer (the load balancer). */
  readonly peer: Address;
  /**
   * The address the client connected to, as the header names it (the balancer's own
   * address); `local` when the header named none (LOCAL).
   */
  readonly destination: Address;
  readonly socket: Conn;
  #early: Uint8Array | undefined;

  /**
   * `peer`: the load balancer, when `socket` is not the connection it made (the TLS session
   * on it, whose addresses are the relayed client's); default `socket.remote`.
   */
  constructor(socket: Conn, client: Address, early: Uint8Array | undefined, destination?: Address, peer?: Address) {
    this.socket = socket;
    this.destination = destination ?? socket.local;
    this.readable = socket.readable;
    this.writable = socket.writable;
    this.local = socket.local;
    this.peer = peer ?? socket.remote;
    this.remote = client;
    this.#early = early && early.byteLength > 0 ? early : undefined;
  }

  /** True until the bytes read past the header are taken. */
  get hasEarly(): boolean {
    return this.#early !== undefined;
  }

  /** The bytes read past the header, once (undefined afterwards or when there were none). */
  takeEarly(): Uint8Array | undefined {
    const early = this.#early;
    this.#early = undefined;
    return early;
  }

  close(): void {
    this.socket.close();
  }
}

/**
 * The connection a runtime adapter created (through any {@link RelayedConn} wrapping), for
 * an adapter that drives its own socket. Throws when bytes read past the PROXY header were
 * never taken (no `ConnReader` read the Conn first): they would be lost.
 */
export function socketOf(conn: Conn): Conn {
  if (!(conn instanceof RelayedConn)) return conn;
  if (conn.hasEarly) throw new Error("Bytes after the PROXY protocol header were not read (read a relayed Conn through a ConnReader)");
  return socketOf(conn.socket);
}

/**
 * `inner` (a TLS session on `outer`) as seen from `outer`: when `outer` is relayed by a load
 * balancer, the session is too, with the client, the address the client connected to and the
 * balancer the PROXY header named; otherwise `inner` itself.
 */
export function relayedLike(inner: Conn, outer: Conn): Conn {
  return outer instanceof RelayedConn ? new RelayedConn(inner, outer.remote, undefined, outer.destination, outer.peer) : inner;
}
