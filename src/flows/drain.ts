/**
 * The gateway's shutdown as the flows see it. Once {@linkcode Drain.start} is called, request
 * loops stop at the next request boundary: a connection waiting for its next request (or its
 * first, or a TLS listener's for its ClientHello) is closed at once, and a response in
 * progress is sent with `Connection: close`.
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

/** What {@linkcode untilDrain} gives when the drain started first. */
export const DRAINED: unique symbol = Symbol("drained");

/**
 * `read`, or {@linkcode DRAINED} if `drain` starts first: for a wait that the drain should
 * cut short (a connection idle before a request). The read is left to settle when the
 * caller closes the connection; nobody waits for it then.
 */
export function untilDrain<T>(read: Promise<T>, drain: Drain): Promise<T | typeof DRAINED> {
  read.catch(() => {});
  return Promise.race([read, drain.started.then((): typeof DRAINED => DRAINED)]);
}
