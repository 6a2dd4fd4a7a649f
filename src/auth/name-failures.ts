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
 * never a spent one; with none to drop, a new name's check is refused (one from an address
 * the name signed in from goes ahead, the table briefly past its size). So flooding the table
 * with other names' failures never hands a spent name a fresh count. Sans-IO: the clock is
 * injected.
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
    const entry = this.#entries.get(name);
    if (entry && entry.inFlight === 0 && this.#expired(entry, now)) entry.failures = 0;
    if (entry && entry.failures + entry.inFlight >= this.limit.failures) {
      // spent by checks under way: they may yet succeed; ask again in a second
      const retryAfterMs = entry.failures >= this.limit.failures ? entry.last + this.#resetMs - now : 1000;
      return { ok: false, retryAfterMs: Math.max(1, Math.ceil(retryAfterMs)) };
    }
    if (!entry && !this.#makeRoom(now)) return { ok: false, retryAfterMs: 1000 };
    this.#count(name, entry, now);
    return { ok: true };
  }

  /**
   * Starts a check in `name` whatever its count (an address the name signed in from): its
   * failure still counts, so the count and its window follow what the directory saw. With
   * no entry to drop, the table goes past `maxNames` rather than drop a spent name's count:
   * only names with a familiar address get here (each a user who signed in), so that is
   * bounded by the users, not by what a flood can send.
   */
  beginAnyway(name: string): void {
    const now = this.#now();
    const entry = this.#entries.get(name);
    if (!entry) this.#makeRoom(now);
    this.#count(name, entry, now);
  }

  #count(name: string, entry: Entry | undefined, now: number): void {
    if (!entry) {
      entry = { failures: 0, inFlight: 0, last: now };
      this.#entries.set(name, entry);
    }
    entry.inFlight++;
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

  /**
   * Room for one more entry: drops an expired one among the oldest, else the one of them with
   * the fewest failures, never one that is spent or has checks under way; false when there
   * is none (a new name's check waits: failing closed, never handing a spent name a fresh count).
   */
  #makeRoom(now: number): boolean {
    if (this.#entries.size < this.#maxNames) return true;
    let scanned = 0;
    let least: [string, Entry] | undefined;
    for (const [name, entry] of this.#entries) {
      if (entry.inFlight === 0) {
        if (this.#expired(entry, now)) {
          this.#entries.delete(name);
          return true;
        }
        if (entry.failures < this.limit.failures && (!least || entry.failures < least[1].failures)) least = [name, entry];
      }
      if (++scanned >= SCAN) break;
    }
    if (least) this.#entries.delete(least[0]);
    return least !== undefined;
  }
}
