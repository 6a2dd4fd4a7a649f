/**
 * Open flows whose policy decision may change while they run: a rule's `schedule` starts or
 * ends (lunchtime social networks at 13:00), or a reload changes the rules. The gateway
 * re-decides every open flow at each minute and after a reload; a flow the policy now
 * denies is closed (its client and the upstream connections it opened), and its flow line
 * ends `"revoked"` naming the rule that denies it now.
 *
 * Only allow → deny closes a flow; a flow still allowed keeps the route and decryption it got.
 *
 * @module
 */
import type { Conn } from "../core/conn.ts";
import type { Decision, Policy, PolicyQuery } from "../policy/types.ts";
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

  /** Open flows being watched. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Watches a flow `decision` allowed for `query`; revoking it calls `onRevoke(reason)` and
   * then closes `client` and every connection passed to `also`. A denied decision is not
   * watched (the flow ends at once anyway).
   */
  watch(query: PolicyQuery, decision: Decision, client: Conn, onRevoke: (reason: string) => void): FlowWatch {
    const entry: Entry = { query, conns: new Set([client]), onRevoke };
    if (decision.action === "allow") this.#entries.add(entry);
    return {
      also: (conn) => void entry.conns.add(conn),
      release: (conn) => void entry.conns.delete(conn),
      end: () => void this.#entries.delete(entry),
    };
  }

  /**
   * Re-decides every watched flow under `policy` at `now` (the query's own time is replaced:
   * the question is whether the flow may go on now). Flows now denied are revoked and no
   * longer watched. Returns how many were revoked.
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
      if (d.action !== "deny") continue;
      this.#entries.delete(entry);
      revoked++;
      entry.onRevoke(`the policy denies it now: ${d.reason}`);
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
}

/**
 * Watches `flow` (allowed by `decision` for `query`) in `ctx.liveFlows`, if the gateway keeps
 * one: a revocation marks the flow's line and closes `client`.
 */
export function watchFlow(ctx: FlowContext, flow: FlowState, client: Conn, query: PolicyQuery, decision: Decision): void {
  if (!ctx.liveFlows) return;
  flow.watch?.end();
  flow.watch = ctx.liveFlows.watch(query, decision, client, (reason) => flow.revoke(reason));
}

/** Milliseconds from `now` to just after the next whole minute (schedules change on minutes). */
export function untilNextMinute(now: number): number {
  return 60_000 - (now % 60_000) + 5;
}
