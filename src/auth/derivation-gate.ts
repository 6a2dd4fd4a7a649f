/**
 * A bound on the password checks (PBKDF2 derivations) running at once in the process. The
 * per-address limit on failed sign-ins (`SignInLimit`) stops one address from burning CPU;
 * many addresses together (a botnet, or IPv6 /64s by the thousand) could still keep every
 * core busy with ten guesses each. With the gate, at most `concurrency` derivations run at
 * once, up to `queue` more wait their turn, and beyond that a check is refused at once
 * (the caller answers `503` with `Retry-After`): sign-ins slow down under such an attack,
 * the gateway's other work does not. Credentials verified before are answered from the
 * cache and never wait here.
 *
 * @example
 * ```ts
 * const gate = new DerivationGate(4, 64);
 * const ok = await gate.run(() => verifyPassword(password, stored)); // throws GateFullError when full
 * ```
 * @module
 */
import { GateFullError, TaskGate } from "../core/task-gate.ts";

export { GateFullError };

/** A {@linkcode TaskGate} for password checks (see the module doc). */
export class DerivationGate extends TaskGate {
  constructor(concurrency: number, queue: number) {
    super(concurrency, queue, "password checks");
  }
}

/** The process's gate: as many checks at once as cores (at least 2), 64 more waiting. */
export const PROCESS_GATE = new DerivationGate(Math.max(2, globalThis.navigator?.hardwareConcurrency ?? 2), 64);
