import { raceSignal } from "./abort.ts";
import { DnsError } from "./error.ts";
import { normaliseName } from "./name.ts";
import type { Resolution, Resolver } from "./types.ts";

/**
 * Bounds another resolver's time: after `timeoutMs` the resolution rejects with a
 * `DnsError` of code "timeout" and the inner resolver's signal is aborted.
 *
 * @example
 * ```ts
 * const bounded = new TimeoutResolver(new SystemResolver(lookup), 5000);
 * ```
 */
export class TimeoutResolver implements Resolver {
  readonly #inner: Resolver;
  readonly #timeoutMs: number;

  constructor(inner: Resolver, timeoutMs: number) {
    if (!(timeoutMs > 0)) throw new RangeError(`DNS timeout must be positive, got ${timeoutMs}`);
    this.#inner = inner;
    this.#timeoutMs = timeoutMs;
  }

  async resolve(name: string, signal?: AbortSignal): Promise<Resolution> {
    signal?.throwIfAborted();
    const controller = new AbortController();
    const timeoutMs = this.#timeoutMs;
    const timer = setTimeout(() => {
      const hostname = normaliseName(name);
      const message = `Lookup of ${JSON.stringify(hostname)} timed out after ${timeoutMs} ms`;
      controller.abort(new DnsError("timeout", hostname, message));
    }, timeoutMs);
    const onAbort = (): void => controller.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      return await raceSignal(this.#inner.resolve(name, controller.signal), controller.signal);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
  }
}
