/**
 * One timer that notices when a relay has been quiet for too long: each byte moved only
 * records the time (`touch`), and the timer, when it fires early, re-arms itself for the rest.
 *
 * @module
 */

/** What {@link watchIdle} returns. */
export interface IdleWatch {
  /** Something moved now. */
  touch(): void;
  /** No more watching (clears the timer). */
  stop(): void;
}

/**
 * Calls `onIdle` once when nothing was touched for `ms`; `ms` of 0 (or less) never does.
 *
 * @example
 * ```ts
 * const idle = watchIdle(300_000, () => tearDown("idle"));
 * socket.on("data", () => idle.touch());
 * // … when the relay ends:
 * idle.stop();
 * ```
 */
export function watchIdle(ms: number, onIdle: () => void): IdleWatch {
  let last = Date.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = (wait: number) => {
    timer = setTimeout(() => {
      const quiet = Date.now() - last;
      if (quiet >= ms) {
        timer = undefined;
        onIdle();
      } else arm(ms - quiet);
    }, wait);
  };
  if (ms > 0) arm(ms);
  return {
    touch: () => {
      last = Date.now();
    },
    stop: () => {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}
