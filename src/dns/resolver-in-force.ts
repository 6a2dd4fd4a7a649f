/**
 * The gateway's resolver as a reload sees it: the one built for the `dns` settings in force,
 * replaced whole (a new cache too) by a reload that changes them. Lookups under way finish
 * on the old one; it lets go of its connections to DNS servers once they are over (after
 * its own timeout, the longest any of them can take, and a second more).
 * @module
 */
import type { DnsSettings, Resolution, Resolver } from "./types.ts";

export class ResolverInForce implements Resolver {
  readonly #make: (settings: DnsSettings) => Resolver;
  #current: Resolver;
  #settings: DnsSettings;
  /** Resolvers a reload replaced, each with the timer that closes it. */
  readonly #retired = new Map<Resolver, ReturnType<typeof setTimeout>>();

  /** `make` builds a resolver for settings (it may throw: a CA file that cannot be read). */
  constructor(make: (settings: DnsSettings) => Resolver, settings: DnsSettings) {
    this.#make = make;
    this.#current = make(settings);
    this.#settings = settings;
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
        const lookupsOver = this.#settings.timeoutMs + 1000;
        this.#current = resolver;
        this.#settings = next;
        const timer = setTimeout(() => {
          this.#retired.delete(old);
          old.close?.();
        }, lookupsOver);
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
