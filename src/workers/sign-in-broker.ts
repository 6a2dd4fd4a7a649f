/**
 * The primary's side of shared sign-in counts (see `sign-ins-via-primary.ts`): answers a
 * worker's `sign-in` from the counts in force in the primary, keeps each check it let go
 * ahead until the worker says how it ended, and ends a vanished worker's checks uncounted.
 *
 * @module
 */
import { DEFAULT_SIGN_IN_LIMIT, type SignInAttempt, type SignInCounts, SignInThrottle } from "../auth/sign-in-throttle.ts";
import type { SignInOutcome, SignInVerdict } from "./protocol.ts";

/** Checks one worker may have under way (each holds a password derivation or a directory bind, so far more than its gates let run). */
export const MAX_OPEN_PER_WORKER = 4096;

const GO: SignInVerdict = { ok: true };

/** Shares the primary's sign-in counts with its workers. */
export class SignInBroker {
  readonly #counts: () => SignInCounts | undefined;
  /** For a worker that still checks passwords while the primary has no users (a reload it has not followed yet, or refused). */
  #fallback: SignInThrottle | undefined;
  /** worker → req → the check under way. */
  readonly #open = new Map<number, Map<number, SignInAttempt>>();
  /** worker → how many times it has gone (a check approved after its worker went is ended at once). */
  readonly #gone = new Map<number, number>();

  /** `counts`: the primary's, in force now (undefined while it has no users: the default limits then hold). */
  constructor(counts: () => SignInCounts | undefined) {
    this.#counts = counts;
  }

  /**
   * Worker `worker` asks whether `name` may be checked from `client` (its check `req`).
   * `behind`: the worker has not (or not successfully) applied the primary's latest config,
   * so it may be checking a password the primary's reload replaced: a success then makes no
   * address familiar to a name whose familiar addresses a reload forgot.
   */
  async attempt(worker: number, req: number, name: string, client: string, behind = false): Promise<SignInVerdict> {
    // a reload removed proxyAuth here, and a worker still checks: not without limits
    const counts = this.#counts() ?? (this.#fallback ??= new SignInThrottle(DEFAULT_SIGN_IN_LIMIT));
    let open = this.#open.get(worker);
    if (open?.has(req)) return { ok: false, by: "unavailable", reason: `not checked: sign-in ${req} of worker ${worker} is under way already`, retryAfterMs: 1000 };
    if (open && open.size >= MAX_OPEN_PER_WORKER) {
      return { ok: false, by: "unavailable", reason: `not checked: worker ${worker} has ${open.size} sign-ins under way`, retryAfterMs: 1000 };
    }
    const incarnation = this.#gone.get(worker) ?? 0;
    const attempt = await counts.attempt(name, client, behind ? -1 : undefined);
    if (!attempt.ok) return attempt;
    if ((this.#gone.get(worker) ?? 0) !== incarnation) {
      attempt.uncounted(); // the worker went meanwhile: no one will end it
      return { ok: false, by: "unavailable", reason: `not checked: worker ${worker} exited`, retryAfterMs: 1000 };
    }
    open = this.#open.get(worker);
    if (!open) this.#open.set(worker, open = new Map());
    open.set(req, attempt);
    return GO;
  }

  /** How worker `worker`'s check `req` ended (an unknown one is ignored). */
  end(worker: number, req: number, outcome: SignInOutcome): void {
    const open = this.#open.get(worker);
    const attempt = open?.get(req);
    if (!open || !attempt) return;
    open.delete(req);
    if (open.size === 0) this.#open.delete(worker);
    if (outcome === "succeeded") attempt.succeeded();
    else if (outcome === "uncounted") attempt.uncounted();
    else attempt.failed({ unasked: outcome === "unasked" });
  }

  /** Worker `worker` exited: its checks under way end uncounted (their clients got no answer). */
  gone(worker: number): void {
    const open = this.#open.get(worker);
    this.#open.delete(worker);
    this.#gone.set(worker, (this.#gone.get(worker) ?? 0) + 1);
    for (const attempt of open?.values() ?? []) attempt.uncounted();
  }

  /** Checks under way in all workers, for tests and metrics. */
  get open(): number {
    let n = 0;
    for (const open of this.#open.values()) n += open.size;
    return n;
  }
}
