/**
 * The gateway's resolver as a reload sees it: the one built for the `dns` settings in force,
 * replaced whole (a new cache too) by a reload that changes them. Lookups under way finish
 * on the old one; it lets go of its connections to DNS servers once they are over (after
 * the new settings' timeout).
 * @module
 */
import type { DnsSettings, Resolution, Resolver } from "./types.ts";

export class ResolverInForce implements Resolver {
  readonly #make: (settings: DnsSettings) => Resolver;
  #current: Resolver;
  /** Resolvers a reload replaced, each with the timer that closes it. */
  readonly #retired = new Map<Resolver, ReturnType<typeof setTimeout>>();

  /** `make` builds a resolver for settings (it may throw: a CA file that cannot be read). */
  constructor(make: (settings: DnsSettings) => Resolver, settings: DnsSettings) {
    this.#make = make;
    this.#current = make(settings);
  }

  resolve(name: string, signal?: AbortSignal): Promise<Resolution> {
    return this.#current.resolve(name, signal);
  }

  /** Builds the resolver for `next`, nothing in force yet; `commit()` puts it in force. @throws as `make` does */
  prepare(next: DnsSettings): { commit(): void } {
    const resolver = this.#make(next);
    return {
      commit: () => {
        const old = this.#current;
        this.#current = resolver;
        const timer = setTimeout(() => {
          this.#retired.delete(old);
          old.close?.();
        }, next.timeoutMs);
        this.#retired.set(old, timer);
      },
    };
  }

  /** Closes the resolver in force and those a reload replaced. */
  close(): void {
    for (const [old, timer] of this.#retired) {
      clearTimeout(timer);
      old.close?.();
    }
    this.#retired.clear();
    this.#current.close?.();
  }
}
