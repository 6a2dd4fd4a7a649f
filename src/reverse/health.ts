/**
 * Active health checks of a backend pool: every `intervalMs`, each backend is probed (by
 * default a `GET path`, see `probe.ts`). A healthy backend goes down after
 * `unhealthyThreshold` consecutive failed probes; a down one comes back after
 * `healthyThreshold` consecutive successes. Backends start healthy.
 *
 * The probe and the timers are injected, so tests drive rounds with {@link HealthChecker.runOnce}.
 *
 * @example
 * ```ts
 * const checker = new HealthChecker(pool, (b, signal) => probeBackend(b, signal), settings, { onChange: log });
 * checker.start(); // … checker.stop();
 * ```
 * @module
 */
import { GLOBAL_TIMERS, type Timers } from "../core/timers.ts";
import type { HealthCheckConfig } from "./config-types.ts";
import type { Backend, BackendPool } from "./pool.ts";

/** One probe: resolves true when `backend` is healthy; a rejection counts as a failure (its message is kept). */
export type Probe = (backend: Backend, signal: AbortSignal) => Promise<boolean>;

export type { Timers };

/** Optional behaviour of {@link HealthChecker}. */
export interface HealthCheckerOptions {
  /** Called when a backend changes state: `healthy` is the new state, `detail` why. */
  readonly onChange?: (backend: Backend, healthy: boolean, detail: string) => void;
  readonly timers?: Timers;
}

/** Probes a pool's backends on a timer and applies the thresholds (see the module doc). */
export class HealthChecker {
  readonly #pool: BackendPool;
  readonly #probe: Probe;
  readonly #settings: Pick<HealthCheckConfig, "intervalMs" | "timeoutMs" | "healthyThreshold" | "unhealthyThreshold">;
  readonly #options: HealthCheckerOptions;
  readonly #timers: Timers;
  #timer: unknown;
  #running = false;
  #abort: AbortController | undefined;

  constructor(
    pool: BackendPool,
    probe: Probe,
    settings: Pick<HealthCheckConfig, "intervalMs" | "timeoutMs" | "healthyThreshold" | "unhealthyThreshold">,
    options: HealthCheckerOptions = {},
  ) {
    this.#pool = pool;
    this.#probe = probe;
    this.#settings = settings;
    this.#options = options;
    this.#timers = options.timers ?? GLOBAL_TIMERS;
  }

  /** Probes every backend now (first round right away), then again `intervalMs` after each round ends. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#schedule(0);
  }

  /** Stops scheduling and aborts probes in flight. */
  stop(): void {
    this.#running = false;
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#abort?.abort(new Error("Health checks stopped"));
  }

  #schedule(ms: number): void {
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = undefined;
      this.runOnce().finally(() => {
        if (this.#running) this.#schedule(this.#settings.intervalMs);
      });
    }, ms);
  }

  /** One round: probes every backend concurrently (each bounded by `timeoutMs`) and applies the thresholds. */
  async runOnce(): Promise<void> {
    const abort = new AbortController();
    this.#abort = abort;
    await Promise.all(this.#pool.backends.map(async (b) => {
      const signal = AbortSignal.any([abort.signal, AbortSignal.timeout(this.#settings.timeoutMs)]);
      let ok: boolean;
      let detail: string;
      try {
        ok = await raceAbort(this.#probe(b, signal), signal);
        detail = ok ? "check passed" : "check failed";
      } catch (e) {
        ok = false;
        detail = signal.aborted && !abort.signal.aborted ? `check timed out after ${this.#settings.timeoutMs} ms` : e instanceof Error ? e.message : String(e);
      }
      if (abort.signal.aborted) return;
      this.record(b, ok, detail);
    }));
    if (this.#abort === abort) this.#abort = undefined;
  }

  /** Applies one probe result to `b` (exposed for tests and passive signals). */
  record(b: Backend, ok: boolean, detail: string): void {
    const s = this.#pool.state(b);
    if (ok === s.healthy) {
      s.streak = 0;
      return;
    }
    if (!ok) s.lastError = detail;
    s.streak += 1;
    const needed = ok ? this.#settings.healthyThreshold : this.#settings.unhealthyThreshold;
    if (s.streak < needed) return;
    s.streak = 0;
    s.healthy = ok;
    if (ok) {
      // back in service: a stale passive ejection must not keep it out
      s.ejectedUntil = 0;
      s.failures = 0;
    }
    this.#options.onChange?.(b, ok, ok ? `${needed} consecutive checks passed` : `${needed} consecutive checks failed: ${detail}`);
  }
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
