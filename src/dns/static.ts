import { DnsError } from "./error.ts";
import { normaliseName } from "./name.ts";
import type { Resolution, Resolver } from "./types.ts";

/**
 * Resolves names from a fixed map (the config's `dns.hosts`), like /etc/hosts.
 * Names are matched case-insensitively and without a trailing dot.
 *
 * @example
 * ```ts
 * const hosts = new StaticResolver({ "origin.test": ["127.0.0.1"] });
 * await hosts.resolve("Origin.Test."); // { addresses: ["127.0.0.1"], source: "static" }
 * ```
 */
export class StaticResolver implements Resolver {
  readonly #map = new Map<string, readonly string[]>();

  constructor(hosts: Readonly<Record<string, readonly string[]>>) {
    for (const [name, addresses] of Object.entries(hosts)) {
      if (addresses.length === 0) throw new RangeError(`Static host ${JSON.stringify(name)} has no addresses`);
      this.#map.set(normaliseName(name), Object.freeze([...addresses]));
    }
  }

  /** Number of names in the map. */
  get size(): number {
    return this.#map.size;
  }

  /** The addresses for `name`, or `undefined` when it is not in the map. */
  get(name: string): readonly string[] | undefined {
    return this.#map.get(normaliseName(name));
  }

  /** Resolve from the map; a name not in it rejects with a `DnsError` of code "notfound". */
  resolve(name: string, signal?: AbortSignal): Promise<Resolution> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const addresses = this.get(name);
    if (addresses === undefined) return Promise.reject(new DnsError("notfound", normaliseName(name)));
    return Promise.resolve({ addresses, source: "static" });
  }
}
