/**
 * A backend pool: round-robin over its backends, skipping those that are down.
 *
 * A backend is *available* when the active health check (if any) says it is healthy and it
 * is not ejected. Passive ejection: after `ejectAfterFailures` consecutive connect failures a
 * backend is skipped for `ejectMs`; one successful connect resets the count. When no backend
 * is available every backend is tried anyway (the checks may be stale; a 502 is the worst
 * outcome), still in round-robin order.
 *
 * @example
 * ```ts
 * const pool = new BackendPool("api", [parseBackendUrl("http://10.0.0.1:8080"), parseBackendUrl("http://10.0.0.2:8080")], { ejectAfterFailures: 1, ejectMs: 10_000 });
 * for (const b of pool.candidates()) { ... pool.connectFailed(b) / pool.connected(b) ... }
 * ```
 * @module
 */
import { hostText } from "../core/host.ts";
import type { BackendAddress } from "./backend.ts";
import { rendezvousOrder } from "./rendezvous.ts";

/** One backend of a pool and what is known about it. */
export interface Backend extends BackendAddress {
  /** Position in the pool. */
  readonly index: number;
}

/** Mutable health facts of a backend (read them through {@link BackendPool.state}). */
export interface BackendState {
  /** Active health check verdict (true until a check says otherwise). */
  healthy: boolean;
  /** Consecutive connect failures seen by requests. */
  failures: number;
  /** Epoch ms until which the backend is ejected (0 = not ejected). */
  ejectedUntil: number;
  /** Consecutive health check results in the current direction (successes while down, failures while up). */
  streak: number;
  /** Last failure text (connect or check), for logs. */
  lastError: string | null;
  /** Requests on their way to or from it now (a WebSocket until it ends). */
  inFlight: number;
}

/** Passive ejection settings and an injectable clock. */
export interface PoolOptions {
  /** Consecutive connect failures before ejection; 0 = never eject. */
  readonly ejectAfterFailures: number;
  readonly ejectMs: number;
  /** Clock (default `Date.now`). */
  readonly now?: () => number;
  /**
   * How `candidates` orders the available backends: in turn (`round-robin`, the default), or
   * fewest requests in flight first, in turn among equals (`least-requests`: for backends
   * whose requests take very different times), or by the client (`client-hash`: each client
   * address always to the same backend while it is available, by rendezvous hashing — for
   * backends that keep sessions in memory).
   */
  readonly balance?: Balance;
}

/** A pool's balancing (see {@link PoolOptions.balance}). */
export type Balance = "round-robin" | "least-requests" | "client-hash";

/** A pool's backends, their state and the round-robin position (see the module doc). */
export class BackendPool {
  readonly id: string;
  readonly backends: readonly Backend[];
  readonly #states: BackendState[];
  readonly #options: PoolOptions;
  readonly #now: () => number;
  #next = 0;

  constructor(id: string, backends: readonly BackendAddress[], options: PoolOptions) {
    if (backends.length === 0) throw new RangeError(`Pool "${id}" has no backends`);
    this.id = id;
    this.backends = backends.map((b, index) => Object.freeze({ ...b, index }));
    this.#states = backends.map(() => ({ healthy: true, failures: 0, ejectedUntil: 0, streak: 0, lastError: null, inFlight: 0 }));
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** How the pool balances (see {@link PoolOptions.balance}). */
  get balance(): Balance {
    return this.#options.balance ?? "round-robin";
  }

  /** How long an ejected backend is skipped. */
  get ejectMs(): number {
    return this.#options.ejectMs;
  }

  /** The live state of `b` (mutated by the pool and its health checker). */
  state(b: Backend): BackendState {
    const s = this.#states[b.index];
    if (!s) throw new RangeError(`Backend ${b.index} is not in pool "${this.id}"`);
    return s;
  }

  /** Healthy and not ejected now. */
  available(b: Backend): boolean {
    const s = this.state(b);
    return s.healthy && s.ejectedUntil <= this.#now();
  }

  /**
   * The backends to try for one request, in order: the available ones starting at the
   * round-robin position (which advances by one per call), or every backend when none is
   * available; with `least-requests`, those with fewer requests in flight first; with
   * `client-hash`, in the ranking of `clientKey` (the client's address; round-robin without one).
   */
  candidates(clientKey?: string): Backend[] {
    if (this.#options.balance === "client-hash" && clientKey !== undefined) {
      const ranked = rendezvousOrder(clientKey, this.backends, backendIdentity);
      const up = ranked.filter((b) => this.available(b));
      return up.length > 0 ? up : ranked;
    }
    const n = this.backends.length;
    const start = this.#next % n;
    this.#next = (start + 1) % n;
    const ordered: Backend[] = [];
    for (let i = 0; i < n; i++) ordered.push(this.backends[(start + i) % n] as Backend);
    const up = ordered.filter((b) => this.available(b));
    const list = up.length > 0 ? up : ordered;
    // a stable sort: among equals the round-robin order stays
    return this.#options.balance === "least-requests" ? list.sort((a, b) => this.state(a).inFlight - this.state(b).inFlight) : list;
  }

  /** A request to `b` starts (call {@link BackendPool.ended} once when it is over). */
  began(b: Backend): void {
    this.state(b).inFlight += 1;
  }

  /** A request to `b` is over. */
  ended(b: Backend): void {
    const s = this.state(b);
    if (s.inFlight > 0) s.inFlight -= 1;
  }

  /** A request connected to `b`: its failure count starts again. */
  connected(b: Backend): void {
    const s = this.state(b);
    s.failures = 0;
    s.ejectedUntil = 0;
  }

  /** A request could not connect to `b`; returns true when that ejected it. */
  connectFailed(b: Backend, error: string): boolean {
    const s = this.state(b);
    s.failures += 1;
    s.lastError = error;
    const limit = this.#options.ejectAfterFailures;
    if (limit > 0 && s.failures >= limit) {
      s.ejectedUntil = this.#now() + this.#options.ejectMs;
      s.failures = 0;
      return true;
    }
    return false;
  }
}

/** A backend's identity in the hash ranking: its address, not its position in the list. */
function backendIdentity(b: Backend): string {
  return `${b.scheme}://${hostText(b.host)}:${b.port}`;
}
