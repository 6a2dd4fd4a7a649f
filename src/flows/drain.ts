/**
 * The gateway's shutdown as the flows see it. Once {@linkcode Drain.start} is called, request
 * loops stop at the next request boundary: a connection waiting for its next request (or its
 * first) is closed at once, and a response in progress is sent with `Connection: close`.
 * Tunnels are not touched: they run until they end or the grace period does.
 *
 * @module
 */

export class Drain {
  #draining = false;
  #resolve!: () => void;
  /** Settles when the drain starts. */
  readonly started: Promise<void> = new Promise((r) => (this.#resolve = r));

  /** True once the drain started. */
  get draining(): boolean {
    return this.#draining;
  }

  /** Starts the drain (again: no effect). */
  start(): void {
    this.#draining = true;
    this.#resolve();
  }
}
