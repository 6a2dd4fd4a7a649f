/**
 * Whose password may be checked now. Failed sign-ins are limited
 * - **per client address** (an IPv6 /64): each check costs a PBKDF2 derivation or a directory
 *   bind, so one address must not keep the gateway's cores (or the directory) busy;
 * - optionally **per user name**, from all addresses together (`name-failures.ts`): many
 *   addresses (a botnet) guessing one account's password get the name's allowance between
 *   them, which can be set to keep a directory's lockout from ever being reached.
 *
 * A per-name limit lets anyone keep a user from signing in by failing in their name, so an
 * address the name signed in from before (a *familiar* one, for 30 days) is held only by its
 * own address allowance; its failures still count in the name. Successes and checks that
 * could not be made do not count.
 *
 * @example
 * ```ts
 * const throttle = new SignInThrottle({ burst: 10, perMinute: 10, perUser: { failures: 4, resetMinutes: 15 } });
 * const attempt = throttle.attempt("alice", "192.0.2.7");
 * if (!attempt.ok) return answer429(attempt.retryAfterMs);
 * // … check the password, then attempt.succeeded(), attempt.failed() or attempt.uncounted()
 * ```
 * @module
 */
import { clientRateKey, RateLimiter } from "../policy/rate-limiter.ts";
import { NameFailures, type PerUserLimit } from "./name-failures.ts";
import { FamiliarAddresses } from "./familiar-addresses.ts";

export type { PerUserLimit };

/** Failed sign-ins allowed per client address (`burst` at once, then `perMinute`), and per user name. */
export interface SignInLimit {
  readonly burst: number;
  readonly perMinute: number;
  /** Per user name, any case, from all addresses together; absent = no such limit. */
  readonly perUser?: PerUserLimit;
}

/** Default {@link SignInLimit}: per address 10 at once, then 10 a minute; no limit per name. */
export const DEFAULT_SIGN_IN_LIMIT: SignInLimit = { burst: 10, perMinute: 10 };

/** Longer names are no one's (local and directory names have at most 64 characters): not counted. */
export const MAX_COUNTED_NAME = 64;
/** UTF-16 units past which a name surely has more than {@link MAX_COUNTED_NAME} characters (code points). */
export const MAX_COUNTED_NAME_UNITS = 2 * MAX_COUNTED_NAME;

/** Whether `name` may be someone's: at most 64 characters, counted as `USER_NAME_RE` counts them (code points). */
function countable(name: string): boolean {
  if (name.length <= MAX_COUNTED_NAME) return true;
  if (name.length > MAX_COUNTED_NAME_UNITS) return false;
  let characters = 0;
  for (const _ of name) if (++characters > MAX_COUNTED_NAME) return false;
  return true;
}


/** A check that may go ahead: say how it ended. */
export interface SignInAttempt {
  readonly ok: true;
  /** The password was right: nothing counts, and the address is familiar to the name. */
  succeeded(): void;
  /**
   * The password was wrong: a failure for the address and the name; with `unasked`, one the
   * directory was never asked about (an empty password, a name it is not asked about), for
   * the address only.
   */
  failed(options?: { readonly unasked?: boolean }): void;
  /** The check could not be made (directory down, gateway busy): nothing counts. */
  uncounted(): void;
}

/**
 * A check refused unmade: `by` says which allowance is spent, or (`unavailable`) that the
 * counts could not be asked (a worker whose primary process did not answer).
 */
export interface SignInThrottled {
  readonly ok: false;
  readonly by: "address" | "user" | "unavailable";
  readonly reason: string;
  readonly retryAfterMs: number;
}

/**
 * Where failed sign-ins are counted: this process's {@link SignInThrottle}, or, in a worker
 * process, the primary's (`workers/sign-ins-via-primary.ts`), so that every process draws on
 * one allowance per address and per name.
 */
export interface SignInCounts {
  /**
   * Takes a failure's worth of `client`'s allowance and `name`'s, or says which is spent.
   * `since` (-1: credentials that may predate every reload, as a worker's that has not
   * followed the last one): see {@linkcode SignInThrottle.attempt}.
   */
  attempt(name: string, client: string, since?: number): SignInAttempt | SignInThrottled | Promise<SignInAttempt | SignInThrottled>;
  /**
   * Forgets the familiar addresses of the names `which` selects (lower case), or of every
   * name: a reload changed those users, and a password in the wrong hands must not keep one.
   */
  forgetFamiliar(which?: (name: string) => boolean): void;
  /** Where forgetting has got to, for `since` (counts kept elsewhere have none). */
  readonly epoch?: number;
}

/** The allowances of one set of users (see the module doc). */
export class SignInThrottle implements SignInCounts {
  readonly #limit: SignInLimit;
  readonly #addresses: RateLimiter;
  readonly #names: NameFailures | undefined;
  readonly #familiar: FamiliarAddresses;
  readonly #now: () => number;

  constructor(limit: SignInLimit, now: () => number = () => performance.now(), from?: SignInThrottle) {
    this.#limit = limit;
    this.#now = now;
    this.#addresses = new RateLimiter({ perSecond: limit.perMinute / 60, burst: limit.burst }, { now });
    const was = from ? from.#limit.perUser : undefined;
    const same = was !== undefined && limit.perUser !== undefined && was.failures === limit.perUser.failures && was.resetMinutes === limit.perUser.resetMinutes;
    this.#names = same && from ? from.#names : limit.perUser ? new NameFailures(limit.perUser, now) : undefined;
    this.#familiar = from ? from.#familiar : new FamiliarAddresses(now); // shared: checks the old one let go ahead still add to it
  }

  /**
   * This throttle's counts under another `limit` (a reload changed it): the addresses' start
   * afresh, the names' go on while `perUser` is the same (checks under way included), and
   * familiar addresses are kept.
   */
  withLimit(limit: SignInLimit): SignInThrottle {
    return new SignInThrottle(limit, this.#now, this);
  }

  /**
   * Takes a failure's worth of `client`'s allowance and `name`'s, or says which is spent.
   * `since`: the {@linkcode epoch} the credentials being checked were current in (default:
   * now); a success is not made familiar for a name forgotten after it.
   */
  attempt(name: string, client: string, since = this.#familiar.epoch): SignInAttempt | SignInThrottled {
    const address = clientRateKey(client);
    const byAddress = this.#addresses.take(address);
    if (!byAddress.ok) {
      const { burst, perMinute } = this.#limit;
      return throttled("address", `from ${address}`, `${burst}, then ${perMinute} a minute`, byAddress.retryAfterMs);
    }
    const folded = countable(name) ? name.toLowerCase() : undefined;
    let counted: string | undefined; // the name whose failures this check counts in
    if (this.#names && folded !== undefined) {
      const byName = this.#names.begin(folded);
      if (!byName.ok) {
        if (!this.#familiar.has(folded, address)) {
          this.#addresses.refund(address); // not checked: it cost nothing
          const { failures, resetMinutes } = this.#names.limit;
          return throttled("user", `for user ${JSON.stringify(name)}`, `${failures}, then none until ${resetMinutes} minutes pass without one`, byName.retryAfterMs);
        }
        this.#names.beginAnyway(folded); // not refused, but counted: the directory counts it too
      }
      counted = folded;
    }
    let ended = false;
    const end = (outcome: "succeeded" | "failed" | "unasked" | "uncounted") => {
      if (ended) return;
      ended = true;
      if (outcome === "succeeded" || outcome === "uncounted") this.#addresses.refund(address);
      if (counted !== undefined) this.#names?.end(counted, outcome === "failed");
      if (outcome === "succeeded" && folded !== undefined && this.#names) this.#familiar.remember(folded, address, since);
    };
    return {
      ok: true,
      succeeded: () => end("succeeded"),
      failed: (options) => end(options?.unasked ? "unasked" : "failed"),
      uncounted: () => end("uncounted"),
    };
  }

  forgetFamiliar(which?: (name: string) => boolean): void {
    this.#familiar.forget(which);
  }

  /** Where forgetting has got to: a check of credentials current now is begun in this epoch. */
  get epoch(): number {
    return this.#familiar.epoch;
  }
}

function throttled(by: "address" | "user", whose: string, limit: string, retryAfterMs: number): SignInThrottled {
  const seconds = Math.ceil(retryAfterMs / 1000);
  return { ok: false, by, reason: `too many failed sign-ins ${whose} (limit ${limit}); not checked, retry after ${seconds} s`, retryAfterMs };
}
