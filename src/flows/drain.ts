/**
 * The gateway's shutdown as the flows see it. Once {@linkcode Drain.start} is called, request
 * loops stop at the next request boundary: a connection waiting for its next request (or its
 * first, or a TLS listener's for its ClientHello) is closed at once, and a response in
 * progress is sent with `Connection: close`.
 * Tunnels are not touched: they run until they end or the grace period does.
 *
 * A listener's connections have a drain of their own, a {@linkcode Drain.child} of the
 * gateway's: it starts with the gateway's, or alone when a reload drops the listener, and
 * holds the listener's open connections so that what is left after the grace period can be
 * closed.
 *
 * @module
 */

/** A wait the drain can end: a reader waiting for a request that has not begun. */
export interface Interruptible {
  interrupt(): void;
}

/** A connection a drain can close when its grace period is over. */
export interface Closable {
  close(): void;
}

export class Drain {
  #draining = false;
  /** Readers idle before a request now; each leaves when its wait ends. */
  readonly #idle = new Set<Interruptible>();
  /** Drains that start with this one (until they start). */
  readonly #children = new Set<Drain>();
  #parent: Drain | undefined;
  /** Connections open now (see {@linkcode Drain.hold}). */
  readonly #open = new Set<Closable>();

  /** A drain that starts when this one does, or on its own (one listener's connections). */
  child(): Drain {
    const child = new Drain();
    if (this.#draining) child.start();
    else {
      this.#children.add(child);
      child.#parent = this;
    }
    return child;
  }

  /** True once the drain started. */
  get draining(): boolean {
    return this.#draining;
  }

  /** Starts the drain (again: no effect): every idle reader is interrupted, every child drain started. */
  start(): void {
    if (this.#draining) return;
    this.#draining = true;
    if (this.#parent) this.#parent.#children.delete(this);
    this.#parent = undefined;
    for (const reader of this.#idle) reader.interrupt();
    this.#idle.clear();
    for (const child of this.#children) child.start();
  }

  /** `conn` is open: {@linkcode Drain.closeOpen} closes it unless {@linkcode Drain.release}d first. */
  hold(conn: Closable): void {
    this.#open.add(conn);
  }

  /** `conn` ended. */
  release(conn: Closable): void {
    this.#open.delete(conn);
  }

  /** Closes every connection still held (the grace period is over). */
  closeOpen(): void {
    const open = [...this.#open];
    this.#open.clear();
    for (const conn of open) conn.close();
  }

  /** Connections held now. */
  get open(): number {
    return this.#open.size;
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
