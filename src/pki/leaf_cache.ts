/**
 * A bounded LRU cache of minted leaves, keyed by host (+ extra SANs), with renewal before
 * expiry and one shared in-flight mint per key.
 *
 * @module
 */
import { GateFullError, TaskGate } from "../core/task-gate.ts";
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
  /**
   * Most mints waiting for a slot; a mint beyond it is refused at once (a `GateFullError`
   * naming both bounds), so a flood of unique names cannot queue thousands of handshakes.
   * Default 4 × `maxInflight` (1024): at ≈0.1 ms of CPU a mint on Bun and ≈0.5 ms on Deno
   * (`npm run bench:mint`), a full queue drains in about half a second. 0: none wait.
   */
  readonly maxWaiting?: number;
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
  /** Mints started (given a slot). */
  readonly mintCount: number;
  /** Mints that failed. */
  readonly mintFailures: number;
  /** Mints refused because `maxWaiting` mints were waiting already. */
  readonly mintsRefused: number;
  /** Duration of the last completed mint, in milliseconds (0 before the first). */
  readonly lastMintMs: number;
}

/** A leaf cache. */
export interface LeafCache {
  /**
   * The leaf for `host`, also covering `sans` (e.g. mirrored from the upstream certificate).
   * Concurrent calls for the same key share one mint; a failed mint is not cached.
   * When `signal` aborts the call rejects with its reason; a mint still waiting for a slot
   * leaves the queue once every call sharing it gave up.
   */
  get(host: string, sans?: readonly string[], signal?: AbortSignal): Promise<Leaf>;
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

/** A mint under way: running, or waiting for a slot. */
class Mint {
  readonly leaf: Promise<Leaf>;
  /** Calls still after it; a call without a signal never gives up. */
  callers = 0;
  /** Set once it holds a slot: from then on it runs to its end (and is cached). */
  started = false;
  /** Takes it out of the queue: its callers all gave up before it started. */
  readonly abandon = new AbortController();

  constructor(run: (mint: Mint) => Promise<Leaf>) {
    this.leaf = run(this);
  }
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
  const maxWaiting = options.maxWaiting ?? 4 * maxInflight;
  if (!Number.isInteger(maxWaiting) || maxWaiting < 0) throw new RangeError(`Leaf cache maxWaiting must be a non-negative integer, got "${maxWaiting}"`);
  const slots = new TaskGate(maxInflight, maxWaiting, "leaf mints");
  const maxSans = options.maxSans ?? 99;
  if (!Number.isInteger(maxSans) || maxSans < 0) throw new RangeError(`Leaf cache maxSans must be a non-negative integer, got "${maxSans}"`);
  const renewBeforeMs = (options.renewBeforeSeconds ?? 86_400) * 1000;
  if (!(renewBeforeMs >= 0 && Number.isFinite(renewBeforeMs))) {
    throw new RangeError(`Leaf cache renewBeforeSeconds must be a non-negative number, got "${options.renewBeforeSeconds}"`);
  }
  const now = options.now ?? Date.now;

  // Map iteration order is insertion order: the first key is the least recently used.
  const entries = new Map<string, Entry>();
  const inflight = new Map<string, Mint>();
  /** Counts `clear()`s: a mint that began before one stores nothing. */
  let generation = 0;
  let hits = 0;
  let misses = 0;
  let mintCount = 0;
  let mintFailures = 0;
  let mintsRefused = 0;
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

  function mint(key: string, names: readonly string[]): Mint {
    const begun = generation;
    const m = new Mint(async (self) => {
      try {
        return await slots.run(() => issue(self), self.abandon.signal);
      } catch (error) {
        if (error instanceof GateFullError) mintsRefused++;
        throw error;
      } finally {
        // after a clear() or an abandonment the entry under `key`, if any, is a later mint's
        if (inflight.get(key) === self) inflight.delete(key);
      }
    });
    async function issue(self: Mint): Promise<Leaf> {
      self.started = true;
      mintCount++;
      const started = performance.now();
      try {
        const leaf = await issuer.issue(names);
        lastMintMs = performance.now() - started;
        if (begun === generation) store(key, leaf);
        return leaf;
      } catch (error) {
        mintFailures++;
        throw error;
      }
    }
    inflight.set(key, m);
    return m;
  }

  /** `m`'s leaf for one more call, which gives up when `signal` aborts (see `get`). */
  function follow(key: string, m: Mint, signal: AbortSignal | undefined): Promise<Leaf> {
    m.callers++;
    if (signal === undefined) return m.leaf;
    return new Promise<Leaf>((resolve, reject) => {
      const giveUp = () => {
        if (--m.callers === 0 && !m.started) {
          if (inflight.get(key) === m) inflight.delete(key); // a later call mints anew
          m.abandon.abort(signal.reason);
        }
        reject(signal.reason);
      };
      signal.addEventListener("abort", giveUp, { once: true });
      m.leaf.then(resolve, reject).finally(() => signal.removeEventListener("abort", giveUp));
    });
  }

  return {
    get(host: string, sans: readonly string[] = [], signal?: AbortSignal): Promise<Leaf> {
      let key: string;
      let names: string[];
      try {
        signal?.throwIfAborted();
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
      return follow(key, inflight.get(key) ?? mint(key, names), signal);
    },
    stats(): LeafCacheStats {
      return { hits, misses, size: entries.size, inflight: inflight.size, mintCount, mintFailures, mintsRefused, lastMintMs };
    },
    clear(): void {
      generation++;
      entries.clear();
      inflight.clear();
    },
  };
}
