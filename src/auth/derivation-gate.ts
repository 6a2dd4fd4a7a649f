/**
 * A bound on the password checks (PBKDF2 derivations) running at once in the process. The
 * per-address limit on failed sign-ins (`SignInLimit`) stops one address from burning CPU;
 * many addresses together (a botnet, or IPv6 /64s by the thousand) could still keep every
 * core busy with ten guesses each. With the gate, at most `concurrency` derivations run at
 * once, up to `queue` more wait their turn, and beyond that a check is refused at once
 * (the caller answers `503` with `Retry-After`): sign-ins slow down under such an attack,
 * the gateway's other work does not. Credentials verified before are answered from the
 * cache and never wait here.
 *
 * @example
 * ```ts
 * const gate = new DerivationGate(4, 64);
 * const ok = await gate.run(() => verifyPassword(password, stored)); // throws GateFullError when full
 * ```
 * @module
 */

/** Thrown by {@link DerivationGate.run} when `concurrency` checks run and `queue` more wait. */
export class GateFullError extends Error {
  override name = "GateFullError";
}

/** A counting semaphore with a bounded wait queue (see the module doc). */
export class DerivationGate {
  readonly concurrency: number;
  readonly queue: number;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(concurrency: number, queue: number) {
    this.concurrency = Math.max(1, Math.floor(concurrency));
    this.queue = Math.max(0, Math.floor(queue));
  }

  /** Checks running now, and waiting. */
  get load(): { readonly running: number; readonly waiting: number } {
    return { running: this.#running, waiting: this.#waiting.length };
  }

  /** Runs `task` when a slot is free; rejects with {@link GateFullError} when the queue is full. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.concurrency) {
      if (this.#waiting.length >= this.queue) throw new GateFullError(`${this.#running} password checks running and ${this.#waiting.length} waiting`);
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running++;
    }
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next) next(); // the slot passes on: `running` stays
      else this.#running--;
    }
  }
}

/** The process's gate: as many checks at once as cores (at least 2), 64 more waiting. */
export const PROCESS_GATE = new DerivationGate(Math.max(2, globalThis.navigator?.hardwareConcurrency ?? 2), 64);
