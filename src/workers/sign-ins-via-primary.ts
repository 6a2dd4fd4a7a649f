/**
 * A worker's sign-in counts: the primary's. Before each password check the worker asks the
 * primary (`sign-in`), whose `SignInThrottle` counts for every process, and afterwards
 * says how the check ended (`sign-in-end`). So a guesser spreading connections over the
 * processes gets one allowance per address and per name, not one per process, and an
 * address a user signed in from through one process is familiar to all.
 *
 * Sans-IO: `send` writes a message to the primary; the worker passes the primary's answers
 * to {@linkcode SignInsViaPrimary.answer}.
 *
 * @module
 */
import { MAX_COUNTED_NAME_UNITS, type SignInAttempt, type SignInCounts, type SignInThrottled } from "../auth/sign-in-throttle.ts";
import { type FromWorker, MAX_SIGN_IN_FIELD, type SignInOutcome, type SignInVerdict } from "./protocol.ts";

/** How long a check waits for the primary's answer before it is refused (503, unchecked). */
export const PRIMARY_ANSWER_MS = 5000;
/** Checks given up on whose answer is still awaited (one that comes is ended at once, uncounted): the latest so many. */
const MAX_LATE = 4096;

type Send = (message: Extract<FromWorker, { readonly t: "sign-in" | "sign-in-end" }>) => void;

/** Sign-in counts kept by the primary process (see the module doc). */
export class SignInsViaPrimary implements SignInCounts {
  readonly #send: Send;
  readonly #timeoutMs: number;
  /** Checks waiting for the primary's verdict, by `req`. */
  readonly #waiting = new Map<number, (verdict: SignInVerdict) => void>();
  /** Checks given up on, oldest first. */
  readonly #late = new Set<number>();
  #req = 0;

  constructor(send: Send, timeoutMs = PRIMARY_ANSWER_MS) {
    this.#send = send;
    this.#timeoutMs = timeoutMs;
  }

  attempt(name: string, client: string): Promise<SignInAttempt | SignInThrottled> {
    const req = ++this.#req;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        // too late for this check; an approval that still comes is handed back at once
        this.#waiting.delete(req);
        this.#late.add(req);
        if (this.#late.size > MAX_LATE) this.#late.delete(this.#late.values().next().value!);
        resolve({
          ok: false,
          by: "unavailable",
          reason: `not checked: the gateway's primary process, which counts sign-ins, did not answer within ${this.#timeoutMs} ms`,
          retryAfterMs: 5000,
        });
      }, this.#timeoutMs);
      this.#waiting.set(req, (verdict) => {
        clearTimeout(timer);
        resolve(verdict.ok ? this.#ticket(req) : verdict);
      });
      // a longer name is not counted (the throttle sees it is too long), so its end is not needed
      const cut = (text: string, max: number) => (text.length > max ? text.slice(0, max) : text);
      this.#send({ t: "sign-in", req, name: cut(name, MAX_COUNTED_NAME_UNITS + 1), client: cut(client, MAX_SIGN_IN_FIELD) });
    });
  }

  /** The primary's answer to `sign-in` `req` (unknown or repeated ones are ignored). */
  answer(req: number, verdict: SignInVerdict): void {
    const waiting = this.#waiting.get(req);
    this.#waiting.delete(req);
    if (waiting) return waiting(verdict);
    if (this.#late.delete(req) && verdict.ok) this.#send({ t: "sign-in-end", req, outcome: "uncounted" });
  }

  /** The primary forgets familiar addresses by its own reload. */
  forgetFamiliar(): void {}

  /** Checks waiting for an answer (or given up on, awaiting a late one), for tests. */
  get waiting(): number {
    return this.#waiting.size + this.#late.size;
  }

  #ticket(req: number): SignInAttempt {
    let ended = false;
    const end = (outcome: SignInOutcome) => {
      if (ended) return;
      ended = true;
      this.#send({ t: "sign-in-end", req, outcome });
    };
    return {
      ok: true,
      succeeded: () => end("succeeded"),
      failed: (options) => end(options?.unasked ? "unasked" : "failed"),
      uncounted: () => end("uncounted"),
    };
  }
}
