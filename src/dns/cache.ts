import { raceSignal } from "./abort.ts";
import { DnsError, type DnsErrorCode } from "./error.ts";
import { normaliseName } from "./name.ts";
import type { Resolution, Resolver } from "./types.ts";

/** Options for `CachingResolver`. */
export interface CacheOptions {
  /** Most names kept (least recently used evicted first); 0 disables caching. */
  readonly maxEntries: number;
  /** Lifetime of a successful answer in milliseconds; 0 disables positive caching. */
  readonly ttlMs: number;
  /** Lifetime of a `DnsError` answer in milliseconds; 0 disables negative caching. */
  readonly negativeTtlMs: number;
  /** Clock in milliseconds (tests inject one). Default `Date.now`. */
  readonly now?: () => number;
}

type Entry =
  | { readonly expires: number; readonly addresses: readonly string[] }
  | { readonly expires: number; readonly code: DnsErrorCode; readonly message: string };

/**
 * A bounded LRU cache in front of another resolver, with separate lifetimes for answers
 * and failures (`DnsError`s; other errors and aborts are not cached). Concurrent lookups of
 * the same name share one inner lookup; a caller's abort only stops its own wait.
 *
 * @example
 * ```ts
 * const cached = new CachingResolver(system, { maxEntries: 10_000, ttlMs: 30_000, negativeTtlMs: 5_000 });
 * await cached.resolve("example.com"); // source "system", then "cache" for 30 s
 * ```
 */
export class CachingResolver implements Resolver {
  readonly #inner: Resolver;
  readonly #maxEntries: number;
  readonly #ttlMs: number;
  readonly #negativeTtlMs: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<Resolution>>();

  constructor(inner: Resolver, options: CacheOptions) {
    for (const key of ["maxEntries", "ttlMs", "negativeTtlMs"] as const) {
      const value = options[key];
      if (!(value >= 0)) throw new RangeError(`Cache option ${key} must be 0 or more, got ${value}`);
    }
    this.#inner = inner;
    this.#maxEntries = options.maxEntries;
    this.#ttlMs = options.ttlMs;
    this.#negativeTtlMs = options.negativeTtlMs;
    this.#now = options.now ?? Date.now;
  }

  /** Number of cached names, including expired ones not yet dropped. */
  get size(): number {
    return this.#entries.size;
  }

  /** Drop every cached answer (in-flight lookups continue). */
  clear(): void {
    this.#entries.clear();
  }

  resolve(name: string, signal?: AbortSignal): Promise<Resolution> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const key = normaliseName(name);
    const entry = this.#get(key);
    if (entry !== undefined) {
      if ("addresses" in entry) return Promise.resolve({ addresses: entry.addresses, source: "cache" });
      return Promise.reject(new DnsError(entry.code, key, entry.message));
    }
    let pending = this.#inflight.get(key);
    if (pending === undefined) {
      pending = this.#fetch(key);
      this.#inflight.set(key, pending);
    }
    return raceSignal(pending, signal);
  }

  async #fetch(key: string): Promise<Resolution> {
    try {
      const resolution = await this.#inner.resolve(key);
      // an answer that says how long it holds (a DNS server's TTL) is kept no longer
      const ttlMs = resolution.ttlSeconds === undefined ? this.#ttlMs : Math.min(this.#ttlMs, resolution.ttlSeconds * 1000);
      this.#set(key, { expires: this.#now() + ttlMs, addresses: resolution.addresses }, ttlMs);
      return resolution;
    } catch (error) {
      if (error instanceof DnsError) {
        const entry = { expires: this.#now() + this.#negativeTtlMs, code: error.code, message: error.message };
        this.#set(key, entry, this.#negativeTtlMs);
      }
      throw error;
    } finally {
      this.#inflight.delete(key);
    }
  }

  #get(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    if (entry.expires <= this.#now()) return undefined;
    this.#entries.set(key, entry); // most recently used goes last
    return entry;
  }

  #set(key: string, entry: Entry, ttlMs: number): void {
    if (ttlMs <= 0 || this.#maxEntries <= 0) return;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#entries.delete(oldest.value);
    }
  }
}
