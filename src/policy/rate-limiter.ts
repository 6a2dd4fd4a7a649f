/**
 * Request rate limits: a token bucket per key (a client address, or one for everyone). A
 * bucket holds up to `burst` tokens and refills at `perSecond`; a request takes one token or
 * is refused with the time until one is there. Sans-IO: the clock is injected.
 *
 * Memory is bounded: at most `maxKeys` buckets, the least recently used dropped first. A
 * dropped bucket starts full when its key comes back, which a bucket untouched for a while
 * would have been anyway (refilled); a flood of distinct keys costs each only its own burst.
 *
 * @example
 * ```ts
 * const limiter = new RateLimiter({ perSecond: 10, burst: 20 });
 * limiter.take("192.0.2.7"); // { ok: true } twenty times at once, then
 *                            // { ok: false, retryAfterMs: 100 }
 * ```
 * @module
 */
import { formatIPv4, formatIPv6, IpScratch, isIPv4Mapped } from "../core/ip.ts";

/** A rate: `perSecond` sustained, `burst` at once. */
export interface RateLimit {
  /** Tokens added per second (> 0; fractions allowed: 0.5 is one request every 2 s). */
  readonly perSecond: number;
  /** Bucket size: requests allowed at once (≥ 1). */
  readonly burst: number;
}

/** The outcome of {@link RateLimiter.take}. */
export type RateVerdict =
  | { readonly ok: true }
  | { readonly ok: false; /** Until the next token, ms (≥ 1). */ readonly retryAfterMs: number };

/** Optional settings of {@link RateLimiter}. */
export interface RateLimiterOptions {
  /** Buckets kept at most (default 100,000). */
  readonly maxKeys?: number;
  /** Clock in ms (default `performance.now`). */
  readonly now?: () => number;
}

// clientRateKey parses into it (once per connection admitted, per reverse-proxy request
// limited by client): a new typed array costs ~0.6 µs on Deno (docs/performance.md)
const _scratch = new IpScratch();

/**
 * The key a client address is limited under: an IPv4 address as it is, an IPv6 address by
 * its /64 (one subscriber or host gets a whole /64 and may use any address in it), an
 * IPv4-mapped IPv6 address as the IPv4 one. Anything unparseable is its own key.
 */
export function clientRateKey(address: string): string {
  const bytes = _scratch.parse(address);
  if (bytes === undefined) return address;
  if (bytes.length === 4 || isIPv4Mapped(bytes)) return formatIPv4(bytes);
  bytes.fill(0, 8); // the /64, in place: the buffer is the scratch's, and only text leaves
  return `${formatIPv6(bytes)}/64`;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Token buckets by key (see the module doc). */
export class RateLimiter {
  readonly limit: RateLimit;
  readonly #buckets = new Map<string, Bucket>();
  readonly #maxKeys: number;
  readonly #now: () => number;

  /** @throws {RangeError} for a rate or burst out of range */
  constructor(limit: RateLimit, options: RateLimiterOptions = {}) {
    if (!(limit.perSecond > 0 && Number.isFinite(limit.perSecond))) throw new RangeError(`Rate must be a positive number per second, got ${limit.perSecond}`);
    if (!(Number.isInteger(limit.burst) && limit.burst >= 1)) throw new RangeError(`Burst must be an integer >= 1, got ${limit.burst}`);
    this.limit = { perSecond: limit.perSecond, burst: limit.burst };
    this.#maxKeys = Math.max(1, options.maxKeys ?? 100_000);
    this.#now = options.now ?? (() => performance.now());
  }

  /** Buckets held now. */
  get size(): number {
    return this.#buckets.size;
  }

  /** Takes a token from `key`'s bucket, or says how long until there is one. */
  take(key: string): RateVerdict {
    const now = this.#now();
    const { perSecond, burst } = this.limit;
    let bucket = this.#buckets.get(key);
    if (bucket) {
      this.#buckets.delete(key); // re-inserted below: the most recently used is last
      bucket.tokens = Math.min(burst, bucket.tokens + (Math.max(0, now - bucket.at) / 1000) * perSecond);
      bucket.at = now;
    } else {
      if (this.#buckets.size >= this.#maxKeys) this.#buckets.delete(this.#buckets.keys().next().value!);
      bucket = { tokens: burst, at: now };
    }
    this.#buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterMs: Math.max(1, Math.ceil(((1 - bucket.tokens) / perSecond) * 1000)) };
  }

  /** Puts back a token `take` gave `key` (what it paid for turned out not to count). */
  refund(key: string): void {
    const bucket = this.#buckets.get(key);
    if (bucket) bucket.tokens = Math.min(this.limit.burst, bucket.tokens + 1);
  }
}
