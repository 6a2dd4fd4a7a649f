/**
 * A bounded LRU cache of minted leaves, keyed by host (+ extra SANs), with renewal before
 * expiry and one shared in-flight mint per key.
 *
 * @module
 */
import type { Leaf } from "./leaf_issuer.ts";
import { nameKey, parseSubjectName } from "./_names.ts";

/** What the cache needs from an issuer (a {@linkcode LeafIssuer} fits). */
export interface LeafSource {
  issue(names: readonly string[]): Promise<Leaf>;
}

/** Options of {@linkcode createLeafCache}. */
export interface LeafCacheOptions {
  /** Most cached leaves; the least recently used is evicted beyond it. Default 10000. */
  readonly maxEntries?: number;
  /**
   * Most mints running at once; a mint beyond it waits for one to end (first come, first
   * served), so the cache's size never decides whether a `get` succeeds. Default 256.
   */
  readonly maxInflight?: number;
  /** Most extra SANs per leaf (after sorting and de-duplication); the rest are dropped. Default 99. */
  readonly maxSans?: number;
  /** Re-mint a leaf this long before its notAfter (at most half its lifetime). Default 86400. */
  readonly renewBeforeSeconds?: number;
  /** Clock in ms since the epoch. Default `Date.now`. */
  readonly now?: () => number;
}

/** Counters of a {@linkcode LeafCache}. */
export interface LeafCacheStats {
  /** `get`s served from the cache. */
  readonly hits: number;
  /** `get`s that had to wait for a mint (their own or a shared one). */
  readonly misses: number;
  /** Cached leaves. */
  readonly size: number;
  /** Mints under way, running or waiting for a slot. */
  readonly inflight: number;
  /** Mints started. */
  readonly mintCount: number;
  /** Mints that failed. */
  readonly mintFailures: number;
  /** Duration of the last completed mint, in milliseconds (0 before the first). */
  readonly lastMintMs: number;
}

/** A leaf cache. */
export interface LeafCache {
  /**
   * The leaf for `host`, also covering `sans` (e.g. mirrored from the upstream certificate).
   * Concurrent calls for the same key share one mint; a failed mint is not cached.
   */
  get(host: string, sans?: readonly string[]): Promise<Leaf>;
  stats(): LeafCacheStats;
  /**
   * Drops every cached leaf. Mints under way still complete for their callers, but are not
   * cached nor shared with later calls: after a leaf-key rotation no later handshake gets a
   * leaf made for the old key.
   */
  clear(): void;
}

/** Most extra SANs one `get` accepts (before `maxSans` trims them), bounding the work per call. */
export const MAX_SANS_INPUT = 1000;

interface Entry {
  readonly leaf: Leaf;
  /** When to mint a replacement, ms since the epoch. */
  readonly renewAt: number;
}

function positiveInteger(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${what} must be a positive integer, got "${value}"`);
  return value;
}

/**
 * Creates a leaf cache in front of `issuer`.
 *
 * @example
 * ```ts
 * const cache = createLeafCache(createLeafIssuer(ca));
 * const leaf = await cache.get("example.com");
 * ```
 */
export function createLeafCache(issuer: LeafSource, options: LeafCacheOptions = {}): LeafCache {
  const maxEntries = positiveInteger(options.maxEntries ?? 10_000, "Leaf cache maxEntries");
  const maxInflight = positiveInteger(options.maxInflight ?? 256, "Leaf cache maxInflight");
  const maxSans = options.maxSans ?? 99;
  if (!Number.isInteger(maxSans) || maxSans < 0) throw new RangeError(`Leaf cache maxSans must be a non-negative integer, got "${maxSans}"`);
  const renewBeforeMs = (options.renewBeforeSeconds ?? 86_400) * 1000;
  if (!(renewBeforeMs >= 0 && Number.isFinite(renewBeforeMs))) {
    throw new RangeError(`Leaf cache renewBeforeSeconds must be a non-negative number, got "${options.renewBeforeSeconds}"`);
  }
  const now = options.now ?? Date.now;

  // Map iteration order is insertion order: the first key is the least recently used.
  const entries = new Map<string, Entry>();
  const inflight = new Map<string, Promise<Leaf>>();
  /** Counts `clear()`s: a mint that began before one stores nothing. */
  let generation = 0;
  /** Mints holding a slot (a `clear()` does not end them), and those waiting for one. */
  let running = 0;
  const waiting: (() => void)[] = [];
  let hits = 0;
  let misses = 0;
  let mintCount = 0;
  let mintFailures = 0;
  let lastMintMs = 0;

  function store(key: string, leaf: Leaf): void {
    const mintedAt = now();
    const lifetime = leaf.notAfter.getTime() - mintedAt;
    // Never renew before half the lifetime has passed, so a short-lived leaf cannot cause a mint per get.
    const renewAt = leaf.notAfter.getTime() - Math.min(renewBeforeMs, Math.max(lifetime, 0) / 2);
    entries.delete(key);
    entries.set(key, { leaf, renewAt });
    while (entries.size > maxEntries) {
      const oldest = entries.keys().next();
      if (oldest.done === true) break;
      entries.delete(oldest.value);
    }
  }

  async function slot(): Promise<void> {
    if (running < maxInflight) {
      running++;
      return;
    }
    await new Promise<void>((resolve) => waiting.push(resolve));
  }

  /** Hands the slot to the first waiting mint, if any. */
  function release(): void {
    const next = waiting.shift();
    if (next === undefined) running--;
    else next();
  }

  function mint(key: string, names: readonly string[]): Promise<Leaf> {
    mintCount++;
    const begun = generation;
    const pending = (async () => {
      // Yield once so `pending` is registered in `inflight` before `finally` can remove it,
      // even when `issue` throws synchronously.
      await undefined;
      await slot();
      const started = performance.now();
      try {
        const leaf = await issuer.issue(names);
        lastMintMs = performance.now() - started;
        if (begun === generation) store(key, leaf);
        return leaf;
      } catch (error) {
        mintFailures++;
        throw error;
      } finally {
        release();
        // after a clear() the entry under `key`, if any, is a later mint's
        if (begun === generation) inflight.delete(key);
      }
    })();
    inflight.set(key, pending);
    return pending;
  }

  return {
    get(host: string, sans: readonly string[] = []): Promise<Leaf> {
      let key: string;
      let names: string[];
      try {
        if (sans.length > MAX_SANS_INPUT) {
          throw new RangeError(`At most ${MAX_SANS_INPUT} extra SANs may be given, got "${sans.length}"`);
        }
        const primary = parseSubjectName(host);
        const primaryKey = nameKey(primary);
        const extra = new Map<string, string>();
        for (const san of sans) {
          const parsed = parseSubjectName(san);
          const k = nameKey(parsed);
          if (k !== primaryKey) extra.set(k, parsed.value);
        }
        const sortedKeys = [...extra.keys()].sort().slice(0, maxSans);
        key = [primaryKey, ...sortedKeys].join(" ");
        names = [primary.value, ...sortedKeys.map((k) => extra.get(k) as string)];
      } catch (error) {
        return Promise.reject(error);
      }

      const entry = entries.get(key);
      if (entry !== undefined && now() < entry.renewAt) {
        hits++;
        entries.delete(key);
        entries.set(key, entry);
        return Promise.resolve(entry.leaf);
      }
      misses++;
      const shared = inflight.get(key);
      if (shared !== undefined) return shared;
      return mint(key, names);
    },
    stats(): LeafCacheStats {
      return { hits, misses, size: entries.size, inflight: inflight.size, mintCount, mintFailures, lastMintMs };
    },
    clear(): void {
      generation++;
      entries.clear();
      inflight.clear();
    },
  };
}
