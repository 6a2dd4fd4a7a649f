/**
 * Open flows whose policy decision may change while they run: a rule's `schedule` starts or
 * ends (lunchtime social networks at 13:00), or a reload changes the rules. The gateway
 * re-decides every open flow at each minute and after a reload; a flow the policy now
 * denies is closed (its client and the upstream connections it opened), and its flow line
 * ends `"revoked"` naming the rule that denies it now.
 *
 * A TLS flow is also closed when the policy now asks for the other decryption (a blind
 * tunnel to a site now decrypted, or a decrypted session with a site now exempted), and any
 * flow when the policy now sends it another way (another parent proxy, a parent whose
 * address changed, or direct instead of through one), so the client's next connection gets
 * what the policy says; its line ends `"revoked"` too.
 *
 * @module
 */
import type { Conn } from "../core/conn.ts";
import type { Decision, Decryption, Policy, PolicyQuery } from "../policy/types.ts";
import type { FlowContext } from "./context.ts";
import type { FlowState } from "./flow-state.ts";

/** What the registry knows of one open flow. */
export interface FlowWatch {
  /** Also close `conn` if the flow is revoked (an upstream connection the flow opened). */
  also(conn: Conn): void;
  /** `conn` left the flow (given to a pool for another session): not closed on revocation. */
  release(conn: Conn): void;
  /** The flow ended: no longer rechecked. Idempotent. */
  end(): void;
}

interface Entry {
  readonly query: PolicyQuery;
  /** The way the flow's upstream goes (see `LiveFlows`'s `route`), when that is watched. */
  readonly route: string | undefined;
  /** The decryption the flow runs with, when a change of it closes the flow (TLS flows). */
  readonly decryption: Decryption | undefined;
  readonly conns: Set<Conn>;
  readonly onRevoke: (reason: string) => void;
}

/**
 * The open flows of one gateway process.
 *
 * @example
 * ```ts
 * const live = new LiveFlows();
 * const watch = live.watch(query, decision, client, (reason) => flow.revoke(reason));
 * watch.also(upstream);
 * live.recheck(policy); // closes client and upstream if policy.decide(query) denies now
 * watch.end();
 * ```
 */
export class LiveFlows {
  readonly #entries = new Set<Entry>();
  readonly #route: ((d: Decision) => string) | undefined;

  /**
   * `route` names the way a decision sends a flow's upstream (e.g. `direct`, or a parent
   * proxy and its address, as in force now); a flow whose name changes is revoked. Without
   * it, routes are not watched.
   */
  constructor(route?: (d: Decision) => string) {
    this.#route = route;
  }

  /** Open flows being watched. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Watches a flow `decision` allowed for `query`; revoking it calls `onRevoke(reason)` and
   * then closes `client` and every connection passed to `also`. With `decryption` (the mode a
   * TLS flow runs with), a decision for the other mode revokes it too. A denied decision is
   * not watched (the flow ends at once anyway).
   */
  watch(query: PolicyQuery, decision: Decision, client: Conn, onRevoke: (reason: string) => void, decryption?: Decryption): FlowWatch {
    const entry: Entry = { query, route: this.#route?.(decision), decryption, conns: new Set([client]), onRevoke };
    if (decision.action === "allow") this.#entries.add(entry);
    return {
      also: (conn) => void entry.conns.add(conn),
      release: (conn) => void entry.conns.delete(conn),
      end: () => void this.#entries.delete(entry),
    };
  }

  /**
   * Re-decides every watched flow under `policy` at `now` (the query's own time is replaced:
   * the question is whether the flow may go on now). Flows now denied, decided for the other
   * decryption or sent another way are revoked and no longer watched. Returns how many were
   * revoked.
   */
  recheck(policy: Policy, now: number = Date.now()): number {
    let revoked = 0;
    for (const entry of [...this.#entries]) {
      let d: Decision;
      try {
        d = policy.decide({ ...entry.query, now });
      } catch {
        continue; // a policy that cannot decide now closes nothing
      }
      const why = revocation(d, entry.decryption) ?? this.#rerouted(d, entry.route);
      if (why === undefined) continue;
      this.#entries.delete(entry);
      revoked++;
      entry.onRevoke(why);
      for (const conn of entry.conns) {
        try {
          conn.close();
        } catch {
          // already closed
        }
      }
    }
    return revoked;
  }

  /** Why a flow that went `route` may not go on under `d`, which sends it another way; or undefined. */
  #rerouted(d: Decision, route: string | undefined): string | undefined {
    if (route === undefined || !this.#route) return undefined;
    const now = this.#route(d);
    return now === route ? undefined : `the policy sends it ${now} now: ${d.reason}`;
  }
}

/** Why a flow running with `decryption` (if that matters) may not go on under decision `d`, or undefined. */
function revocation(d: Decision, decryption: Decryption | undefined): string | undefined {
  if (d.action === "deny") return `the policy denies it now: ${d.reason}`;
  if (decryption === undefined || d.decryption === decryption) return undefined;
  return d.decryption === "decrypt" ? `the policy decrypts it now: ${d.reason}` : `the policy exempts it from decryption now: ${d.reason}`;
}

/**
 * Watches `flow` (allowed by `decision` for `query`) in `ctx.liveFlows`, if the gateway keeps
 * one: a revocation marks the flow's line and closes `client`. `decryption` is the mode a TLS
 * flow runs with (leave it out for plain HTTP, or a flow that can run in one mode only).
 */
export function watchFlow(ctx: FlowContext, flow: FlowState, client: Conn, query: PolicyQuery, decision: Decision, decryption?: Decryption): void {
  if (!ctx.liveFlows) return;
  flow.watch?.end();
  flow.watch = ctx.liveFlows.watch(query, decision, client, (reason) => flow.revoke(reason), decryption);
}

/** Milliseconds from `now` to just after the next whole minute (schedules change on minutes). */
export function untilNextMinute(now: number): number {
  return 60_000 - (now % 60_000) + 5;
}
