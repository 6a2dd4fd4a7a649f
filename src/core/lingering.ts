/**
 * Closed connections whose last bytes an adapter still passes on itself: a Bun socket closed
 * between writes (what it took still goes out), a loopback hop of Deno's own TLS flushing.
 * A kernel socket's send buffer outlives the process; these do not, so a shutdown waits for
 * them ({@linkcode Lingering.settle}, behind `Runtime.settle`).
 *
 * Web standards only (`setTimeout`).
 *
 * @module
 */

/** A set of lingering connections, each known by the function that tears it down. */
export class Lingering {
  readonly #ends = new Set<() => void>();

  /** `end` tears down a connection that now lingers; call {@linkcode Lingering.done} when it ends by itself. */
  add(end: () => void): void {
    this.#ends.add(end);
  }

  /** The connection torn down by `end` has ended (idempotent). */
  done(end: () => void): void {
    this.#ends.delete(end);
  }

  /** How many linger now. */
  get size(): number {
    return this.#ends.size;
  }

  /**
   * Resolves once none lingers (also those that start to while it waits), or at `until`
   * (epoch ms), when those still lingering are torn down.
   *
   * @example
   * ```ts
   * await lingering.settle(Date.now() + 10_000); // before the process exits
   * ```
   */
  async settle(until: number): Promise<void> {
    while (this.#ends.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    for (const end of [...this.#ends]) end();
    this.#ends.clear();
  }
}
