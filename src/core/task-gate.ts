/**
 * A counting semaphore with a bounded wait queue: at most `concurrency` tasks run at once, up
 * to `queue` more wait their turn (first come, first served), and beyond that a task is
 * refused at once with a {@linkcode GateFullError}. A waiter whose signal aborts leaves the
 * queue, so a caller that gave up holds no place in it.
 *
 * @example
 * ```ts
 * const gate = new TaskGate(4, 64, "password checks");
 * const ok = await gate.run(() => verifyPassword(password, stored)); // throws GateFullError when full
 * ```
 * @module
 */

/** Thrown by {@linkcode TaskGate.run} when `concurrency` tasks run and `queue` more wait. */
export class GateFullError extends Error {
  override name = "GateFullError";
}

/** See the module doc. */
export class TaskGate {
  readonly concurrency: number;
  readonly queue: number;
  /** What the tasks are, in the refusal's message (`password checks`). */
  readonly #what: string;
  #running = 0;
  /** Each waiter's go-ahead; a Set keeps arrival order and lets an aborted waiter leave at once. */
  readonly #waiting = new Set<() => void>();

  constructor(concurrency: number, queue: number, what = "tasks") {
    this.concurrency = Math.max(1, Math.floor(concurrency));
    this.queue = Math.max(0, Math.floor(queue));
    this.#what = what;
  }

  /** Tasks running now, and waiting. */
  get load(): { readonly running: number; readonly waiting: number } {
    return { running: this.#running, waiting: this.#waiting.size };
  }

  /**
   * Runs `task` when a slot is free. Rejects with {@linkcode GateFullError} when the queue is
   * full, and with `signal`'s reason when it aborts before the task began (once begun, the
   * task is the caller's to stop).
   */
  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    if (this.#running >= this.concurrency) {
      if (this.#waiting.size >= this.queue) {
        throw new GateFullError(`${this.#running} ${this.#what} running and ${this.#waiting.size} waiting, as many as may wait`);
      }
      await this.#turn(signal); // the slot is handed over: `running` stays
    } else {
      this.#running++;
    }
    try {
      return await task();
    } finally {
      const next = this.#waiting.values().next();
      if (next.done === true) this.#running--;
      else {
        this.#waiting.delete(next.value);
        next.value();
      }
    }
  }

  /** Waits in the queue for a slot, or leaves it when `signal` aborts first. */
  #turn(signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      const leave = () => {
        this.#waiting.delete(go);
        reject(signal?.reason);
      };
      const go = () => {
        signal?.removeEventListener("abort", leave);
        resolve();
      };
      this.#waiting.add(go);
      signal?.addEventListener("abort", leave, { once: true });
    });
  }
}
