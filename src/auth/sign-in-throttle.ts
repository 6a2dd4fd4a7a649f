/**
 * Whose password may be checked now. Failed sign-ins are limited twice:
 * - **per client address** (an IPv6 /64): each check costs a PBKDF2 derivation or a directory
 *   bind, so one address must not keep the gateway's cores (or the directory) busy;
 * - **per user name**, from all addresses together: many addresses (a botnet) guessing one
 *   account's password are held to the name's allowance, below a directory's lockout
 *   threshold if it is set so, instead of locking the account out everywhere.
 *
 * A per-name limit would let anyone keep a user from signing in by failing in their name, so
 * an address the name signed in from before (a *familiar* one) is held only by its own
 * address allowance. Successes and checks that could not be made do not count.
 *
 * @example
 * ```ts
 * const throttle = new SignInThrottle({ burst: 10, perMinute: 10, perUser: { burst: 5, perHour: 12 } });
 * const attempt = throttle.attempt("alice", "192.0.2.7");
 * if (!attempt.ok) return answer429(attempt.retryAfterMs);
 * // … check the password, then attempt.succeeded() or attempt.uncounted(); a failure keeps its cost
 * ```
 * @module
 */
import { clientRateKey, RateLimiter } from "../policy/rate-limiter.ts";

/** Failed sign-ins allowed per client address (`burst` at once, then `perMinute`) and per user name. */
export interface SignInLimit {
  readonly burst: number;
  readonly perMinute: number;
  /**
   * Per user name, any case, from all addresses together: `burst` at once, then `perHour`
   * (directories' lockout thresholds count a few failures in minutes; default {@link DEFAULT_PER_USER}).
   */
  readonly perUser?: PerUserLimit;
}

/** Failed sign-ins allowed in one name: `burst` at once, then `perHour`. */
export interface PerUserLimit {
  readonly burst: number;
  readonly perHour: number;
}

/** Default per-name allowance: 5 at once, then 12 an hour (one every 5 minutes). */
export const DEFAULT_PER_USER: PerUserLimit = { burst: 5, perHour: 12 };

/** Default {@link SignInLimit}: per address 10 at once, then 10 a minute; per name 5, then 12 an hour. */
export const DEFAULT_SIGN_IN_LIMIT: SignInLimit = { burst: 10, perMinute: 10, perUser: DEFAULT_PER_USER };

/** Longer names are no one's (local and directory names have at most 64 characters). */
const MAX_NAME = 64;

/** How long an address stays familiar to a name after a sign-in, and how many pairs are kept. */
const FAMILIAR_MS = 30 * 24 * 3600_000;
const FAMILIAR_MAX = 10_000;

/** A check that may go ahead: say how it ended unless it failed (a failure keeps its cost). */
export interface SignInAttempt {
  readonly ok: true;
  /** The password was right: its cost is given back, and the address is familiar to the name. */
  succeeded(): void;
  /** The check could not be made (directory down, gateway busy): its cost is given back. */
  uncounted(): void;
}

/** A check refused unmade: `by` says which allowance is spent. */
export interface SignInThrottled {
  readonly ok: false;
  readonly by: "address" | "user";
  readonly reason: string;
  readonly retryAfterMs: number;
}

/** The allowances of one set of users (see the module doc). */
export class SignInThrottle {
  readonly #limit: SignInLimit & { readonly perUser: PerUserLimit };
  readonly #addresses: RateLimiter;
  readonly #names: RateLimiter;
  /** `name\0address` → until when the address is familiar to the name; least recent first. */
  readonly #familiar = new Map<string, number>();
  readonly #now: () => number;

  constructor(limit: SignInLimit, now: () => number = () => performance.now()) {
    const perUser = limit.perUser ?? DEFAULT_PER_USER;
    this.#limit = { ...limit, perUser };
    this.#now = now;
    this.#addresses = new RateLimiter({ perSecond: limit.perMinute / 60, burst: limit.burst }, { now });
    this.#names = new RateLimiter({ perSecond: perUser.perHour / 3600, burst: perUser.burst }, { now });
  }

  /** Takes a failure's worth of `client`'s allowance and `name`'s, or says which is spent. */
  attempt(name: string, client: string): SignInAttempt | SignInThrottled {
    const address = clientRateKey(client);
    const byAddress = this.#addresses.take(address);
    if (!byAddress.ok) {
      const { burst, perMinute } = this.#limit;
      return throttled("address", `from ${address}`, `${burst}, then ${perMinute} a minute`, byAddress.retryAfterMs);
    }
    const folded = name.length <= MAX_NAME ? name.toLowerCase() : undefined;
    const pair = `${folded}\0${address}`;
    let nameTaken = false;
    if (folded !== undefined) {
      const byName = this.#names.take(folded);
      nameTaken = byName.ok;
      if (!byName.ok && !this.#isFamiliar(pair)) {
        this.#addresses.refund(address); // not checked: it cost nothing
        const { burst, perHour } = this.#limit.perUser;
        return throttled("user", `for user ${JSON.stringify(name)}`, `${burst}, then ${perHour} an hour, from all addresses`, byName.retryAfterMs);
      }
    }
    const giveBack = () => {
      this.#addresses.refund(address);
      if (nameTaken && folded !== undefined) this.#names.refund(folded);
    };
    return {
      ok: true,
      succeeded: () => {
        giveBack();
        if (folded === undefined) return;
        this.#familiar.delete(pair);
        if (this.#familiar.size >= FAMILIAR_MAX) this.#familiar.delete(this.#familiar.keys().next().value!);
        this.#familiar.set(pair, this.#now() + FAMILIAR_MS);
      },
      uncounted: giveBack,
    };
  }

  #isFamiliar(pair: string): boolean {
    const until = this.#familiar.get(pair);
    if (until === undefined) return false;
    if (until > this.#now()) return true;
    this.#familiar.delete(pair);
    return false;
  }
}

function throttled(by: "address" | "user", whose: string, limit: string, retryAfterMs: number): SignInThrottled {
  const seconds = Math.ceil(retryAfterMs / 1000);
  return { ok: false, by, reason: `too many failed sign-ins ${whose} (limit ${limit}); not checked, retry after ${seconds} s`, retryAfterMs };
}
