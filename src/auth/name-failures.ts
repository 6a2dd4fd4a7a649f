/**
 * Failed sign-ins counted per user name, the way directories count them before a lockout:
 * after `failures` in one name, further checks are refused until `resetMinutes` pass without
 * a failure, and then the count starts again at 0 (Active Directory's "account lockout
 * threshold" and "reset account lockout counter after"). With `failures` below the
 * directory's threshold and `resetMinutes` at least its reset time, guesses through the
 * gateway alone never lock the account.
 *
 * Checks under way count as failures until they end (so concurrent guesses cannot overshoot).
 * A name has an entry only while it has failures or checks under way, so names that never
 * failed cost nothing; at most `maxNames` entries are kept. When the table is full, the one
 * dropped is an expired one among the oldest, else the one of them with the fewest failures,
 * so flooding it with one failure in each of many names does not hand a spent name a fresh
 * count. Sans-IO: the clock is injected.
 * @module
 */

/** `failures` in one name, then none until `resetMinutes` pass without one. */
export interface PerUserLimit {
  readonly failures: number;
  readonly resetMinutes: number;
}

interface Entry {
  failures: number;
  inFlight: number;
  /** When the last failure was counted. */
  last: number;
}

/** How many of the oldest entries a full table looks through for one to drop. */
const SCAN = 64;

/** Failures per name (see the module doc). */
export class NameFailures {
  readonly limit: PerUserLimit;
  readonly #entries = new Map<string, Entry>();
  readonly #maxNames: number;
  readonly #now: () => number;

  constructor(limit: PerUserLimit, now: () => number, maxNames = 100_000) {
    this.limit = limit;
    this.#now = now;
    this.#maxNames = maxNames;
  }

  /** Entries held now. */
  get size(): number {
    return this.#entries.size;
  }

  /** Starts a check in `name`, or says in how many ms one may be made. */
  begin(name: string): { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number } {
    const now = this.#now();
    let entry = this.#entries.get(name);
    if (entry && entry.inFlight === 0 && this.#expired(entry, now)) entry.failures = 0;
    if (entry && entry.failures + entry.inFlight >= this.limit.failures) {
      // spent by checks under way: they may yet succeed; ask again in a second
      const retryAfterMs = entry.failures >= this.limit.failures ? entry.last + this.#resetMs - now : 1000;
      return { ok: false, retryAfterMs: Math.max(1, Math.ceil(retryAfterMs)) };
    }
    if (!entry) {
      if (this.#entries.size >= this.#maxNames) this.#dropOne(now);
      entry = { failures: 0, inFlight: 0, last: now };
      this.#entries.set(name, entry);
    }
    entry.inFlight++;
    return { ok: true };
  }

  /** Ends a check `begin` allowed: a failure is counted; otherwise nothing is. */
  end(name: string, failed: boolean): void {
    const entry = this.#entries.get(name);
    if (!entry) return;
    entry.inFlight = Math.max(0, entry.inFlight - 1);
    if (failed) {
      entry.failures++;
      entry.last = this.#now();
      this.#entries.delete(name); // the most recently failed last
      this.#entries.set(name, entry);
    } else if (entry.failures === 0 && entry.inFlight === 0) {
      this.#entries.delete(name);
    }
  }

  get #resetMs(): number {
    return this.limit.resetMinutes * 60_000;
  }

  #expired(entry: Entry, now: number): boolean {
    return now - entry.last >= this.#resetMs;
  }

  /** Drops an expired entry among the oldest, else the one of them with the fewest failures. */
  #dropOne(now: number): void {
    let scanned = 0;
    let least: [string, Entry] | undefined;
    for (const [name, entry] of this.#entries) {
      if (entry.inFlight === 0 && this.#expired(entry, now)) {
        this.#entries.delete(name);
        return;
      }
      if (!least || entry.failures < least[1].failures) least = [name, entry];
      if (++scanned >= SCAN) break;
    }
    if (least) this.#entries.delete(least[0]);
  }
}
