/**
 * Timer functions as an injectable dependency, so periodic work (health checks) can be
 * driven by tests without waiting.
 * @module
 */

/** `setTimeout` / `clearTimeout` with an opaque handle. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The global timers. */
export const GLOBAL_TIMERS: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
