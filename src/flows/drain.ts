/**
 * The gateway's shutdown as the flows see it. Once {@linkcode Drain.start} is called, request
 * loops stop at the next request boundary: a connection waiting for its next request (or its
 * first, or a TLS listener's for its ClientHello) is closed at once, and a response in
 * progress is sent with `Connection: close`.
 * Tunnels are not touched: they run until they end or the grace period does.
 *
 * @module
 */

/** A wait the drain can end: a reader waiting for a request that has not begun. */
export interface Interruptible {
  interrupt(): void;
}

export class Drain {
  #draining = false;
  /** Readers idle before a request now; each leaves when its wait ends. */
  readonly #idle = new Set<Interruptible>();

  /** True once the drain started. */
  get draining(): boolean {
    return this.#draining;
  }

  /** Starts the drain (again: no effect): every idle reader is interrupted. */
  start(): void {
    if (this.#draining) return;
    this.#draining = true;
    for (const reader of this.#idle) reader.interrupt();
    this.#idle.clear();
  }

  /**
   * `reader` waits for a request (or ClientHello) that has not begun: interrupt it if the
   * drain starts meanwhile, or at once if it has started. Pair with {@linkcode Drain.leave}
   * when the wait ends (a keep-alive connection does this once per request, so nothing may
   * be allocated or left behind here).
   */
  enter(reader: Interruptible): void {
    if (this.#draining) reader.interrupt();
    else this.#idle.add(reader);
  }

  /** The wait of `reader` ended. */
  leave(reader: Interruptible): void {
    this.#idle.delete(reader);
  }

  /** Readers waiting now (for tests: none may be left behind). */
  get waiting(): number {
    return this.#idle.size;
  }
}
