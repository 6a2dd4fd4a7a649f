/**
 * The addresses each user name signed in from (*familiar* ones, for 30 days): a per-name
 * sign-in limit does not refuse them (see `sign-in-throttle.ts`).
 *
 * When a reload changes a user's credentials, their familiar addresses are forgotten, and a
 * check that began before must not make one familiar again when it succeeds with the old
 * password: each check notes the {@linkcode FamiliarAddresses.epoch} it began in, and a
 * success is remembered only if its name was not forgotten since. The last 16 forgets are
 * kept; a check older than those counts as forgotten. Sans-IO: the clock is injected.
 * @module
 */

/** How long an address stays familiar to a name after a sign-in; how many names are kept. */
const FAMILIAR_MS = 30 * 24 * 3600_000;
const FAMILIAR_NAMES = 10_000;
/** Per name: one account holder must not push everyone else's familiar addresses out. */
const FAMILIAR_PER_NAME = 16;
/** Forgets remembered for checks under way. */
const FORGETS_KEPT = 16;

/** Familiar addresses by name (names in lower case, addresses as rate keys). */
export class FamiliarAddresses {
  /** name → address → until when it is familiar; least recent first at both levels. */
  readonly #byName = new Map<string, Map<string, number>>();
  readonly #now: () => number;
  #epoch = 0;
  /** The latest forgets: in which epoch each began, and whose (undefined: everyone's). */
  readonly #forgets: { readonly epoch: number; readonly which: ((name: string) => boolean) | undefined }[] = [];
  /** Checks begun before this epoch count as forgotten (their forget is no longer kept); -1 until one is dropped. */
  #floor = -1;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** The epoch a check begins in: pass it to {@linkcode remember}. */
  get epoch(): number {
    return this.#epoch;
  }

  has(name: string, address: string): boolean {
    const until = this.#byName.get(name)?.get(address);
    return until !== undefined && until > this.#now();
  }

  /**
   * `name` signed in from `address` in a check begun in epoch `since` (skipped if the name was
   * forgotten since; -1: before every forget kept, so skipped for a name any of them forgot).
   */
  remember(name: string, address: string, since: number): void {
    if (this.#forgottenSince(name, since)) return;
    let addresses = this.#byName.get(name);
    this.#byName.delete(name); // re-inserted: the most recent last
    if (!addresses) {
      addresses = new Map();
      if (this.#byName.size >= FAMILIAR_NAMES) this.#byName.delete(this.#byName.keys().next().value!);
    }
    this.#byName.set(name, addresses);
    addresses.delete(address);
    if (addresses.size >= FAMILIAR_PER_NAME) addresses.delete(addresses.keys().next().value!);
    addresses.set(address, this.#now() + FAMILIAR_MS);
  }

  /** Forgets the addresses of the names `which` selects, or everyone's; checks under way for them will not add one. */
  forget(which?: (name: string) => boolean): void {
    this.#forgets.push({ epoch: this.#epoch, which });
    this.#epoch++;
    if (this.#forgets.length > FORGETS_KEPT) this.#floor = this.#forgets.shift()!.epoch + 1;
    if (!which) return this.#byName.clear();
    for (const name of [...this.#byName.keys()]) if (which(name)) this.#byName.delete(name);
  }

  #forgottenSince(name: string, since: number): boolean {
    if (since < this.#floor) return true;
    return this.#forgets.some((f) => f.epoch >= since && (f.which === undefined || f.which(name)));
  }
}
