/**
 * A byte connection as the core sees it: two WHATWG streams and the peer addresses.
 *
 * Closing `writable` half-closes (sends FIN) and leaves `readable` open; the adapter
 * releases the socket once both directions are done. `close()` tears both down at once.
 *
 * A chunk written to `writable` is the Conn's from then on: a writer must not use it after
 * `write()` (not even its length). When the chunk is one an adapter itself received and
 * handed out whole, the adapter that sent it frees its buffer at once (see
 * `received-chunk.ts`) instead of leaving it to the garbage collector.
 */
export interface Conn {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly remote: Address;
  readonly local: Address;
  /**
   * Tear both directions down now; idempotent. Reading stops at once. After `writable` was
   * closed (FIN in order), what the connection already took still goes out, as a closed
   * socket's send buffer does: `writable.close()` then `close()` ends a connection in order,
   * and a slow client still gets the whole answer (adapters that pass such bytes on
   * themselves bound it and let a shutdown wait for them: `Runtime.settle`). Otherwise it
   * is an abort, a reset where the runtime allows it: the peer must not take a cut-off
   * answer for a whole one.
   */
  close(): void;
}

/** An IP address and port; `address` is canonical text (IPv6 without brackets). */
export interface Address {
  readonly address: string;
  readonly port: number;
}
