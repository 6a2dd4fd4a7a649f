/**
 * An idle deadline for a sequence of waits, with one timer for the whole sequence.
 *
 * A body relay waits for every chunk twice (read, then write), each wait with the same idle
 * limit. A `setTimeout`/`clearTimeout` pair and a `Promise.race` per wait were tens of
 * thousands of timers per GiB; on Deno that churn kept V8's young generation large (plain-HTTP
 * forwarding of 1 GiB: +19 MiB RSS, +14 MiB without the per-wait timers) and cost ~15% of the
 * throughput (scripts/bench/memory/floor.ts --targets deno-plain). Here the timer is armed
 * once and, when it fires early because a newer wait started later, re-armed for the rest.
 *
 * @module
 */

/** Thrown when a read or write waited longer than allowed. */
export class FlowTimeoutError extends Error {
  override name = "FlowTimeoutError";
}

/** What a deadline needs of a pending wait: how to give up on it. */
interface Wait {
  readonly onTimeout: () => void;
  readonly reject: (e: Error) => void;
}

/**
 * Waits one at a time, each allowed `ms` from its start, as {@link deadline} does for one.
 * Call {@link IdleDeadline.stop} when the sequence is over (it clears the timer).
 *
 * @example
 * ```ts
 * const idle = new IdleDeadline(30_000);
 * try {
 *   for (;;) await idle.race(writer.write(await idle.race(read(), () => {})), () => conn.close());
 * } finally {
 *   idle.stop();
 * }
 * ```
 */
export class IdleDeadline {
  readonly ms: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #wait: Wait | undefined;
  #due = 0;
  #stopped = false;
  #held = false;

  /** `ms` must be > 0. */
  constructor(ms: number) {
    if (!(ms > 0)) throw new RangeError(`An idle deadline needs a positive time, not ${ms}`);
    this.ms = ms;
  }

  /**
   * Settles as `p` does, or — if `p` has not settled `ms` after this call — calls `onTimeout`
   * (which should unblock `p`) and rejects with {@link FlowTimeoutError}. One wait at a time:
   * a call while another is pending throws.
   */
  race<T>(p: Promise<T>, onTimeout: () => void): Promise<T> {
    if (this.#wait) throw new Error("IdleDeadline: a wait is already pending");
    return new Promise<T>((resolve, reject) => {
      const wait: Wait = { onTimeout, reject };
      this.#wait = wait;
      this.#due = performance.now() + this.ms;
      if (this.#timer === undefined && !this.#stopped && !this.#held) this.#arm(this.ms);
      p.then(
        (v) => {
          if (this.#wait === wait) this.#wait = undefined;
          resolve(v);
        },
        (e: unknown) => {
          if (this.#wait === wait) this.#wait = undefined;
          reject(e);
        },
      );
    });
  }

  /**
   * Until {@link IdleDeadline.resume}, waits do not time out: for a wait whose clock should
   * only start once something else is done (the answer to a request whose body is still
   * being uploaded, with idle limits of its own).
   */
  hold(): void {
    this.#held = true;
  }

  /** Ends a {@link IdleDeadline.hold}: the pending wait, if any, gets its full limit from now. */
  resume(): void {
    if (!this.#held) return;
    this.#held = false;
    if (!this.#wait || this.#stopped) return;
    this.#due = performance.now() + this.ms;
    if (this.#timer === undefined) this.#arm(this.ms);
  }

  /** Clears the timer; a wait still pending then never times out. */
  stop(): void {
    this.#stopped = true;
    this.#wait = undefined;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(this.#fire, Math.max(1, Math.ceil(ms)));
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    const wait = this.#wait;
    if (!wait || this.#held) return; // nothing to time out now: the next wait or resume() arms again
    const left = this.#due - performance.now();
    if (left > 0) return this.#arm(left);
    this.#wait = undefined;
    wait.onTimeout();
    wait.reject(new FlowTimeoutError(`Timed out after ${this.ms} ms`));
  };
}

/** Races `p` against a timer of its own; on timeout calls `onTimeout` (which should unblock `p`) and rejects. */
export function deadline<T>(p: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new FlowTimeoutError(`Timed out after ${ms} ms`));
    }, ms);
  });
  p.catch(() => {});
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
