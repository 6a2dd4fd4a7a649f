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
 * what the policy says; its line ends `"revoked"` too. After a reload, a flow whose client
 * certificate the listener's new CAs or CRL refuse is closed as well, and at each minute
 * one whose certificate has expired.
 *
 * The registry is also what the admin API lists as open connections (`GET /connections`)
 * and closes one of on request (`DELETE /connections/{id}`): every watched flow has an id.
 *
 * @module
 */
import type { Conn } from "../core/conn.ts";
import type { FlowRecord } from "../log/flow-record.ts";
import type { Decision, Decryption, Policy, PolicyQuery } from "../policy/types.ts";
import type { FlowContext } from "./context.ts";
import type { FlowState } from "./flow-state.ts";

/** A flow as the registry watches it (a `FlowState`). */
export interface WatchedFlow {
  /** The policy (or an administrator) ended it: its connections are closed next. */
  revoke(reason: string): void;
  /** Its record as it stands now, for the list of open flows. */
  snapshot?(): LiveRecord;
  /**
   * After a reload, and at each minute: why the flow may not go on for what it holds beyond
   * the policy (the client certificate of its connection, refused or expired now), or
   * undefined. See `recheckHolders`.
   */
  readonly recheck?: (() => Promise<string | undefined>) | undefined;
}

/** A flow record in progress: `since` is when the flow began, `time` when this view was taken. */
export interface LiveRecord extends FlowRecord {
  readonly since: string;
}

/** An open flow as `list` gives it: its record so far, and the id that `close` takes. */
export interface OpenFlow extends LiveRecord {
  readonly id: string;
}

/** What the registry knows of one open flow. */
export interface FlowWatch {
  /** Also close `conn` if the flow is revoked (an upstream connection the flow opened). */
  also(conn: Conn): void;
  /** `conn` left the flow (given to a pool for another session): not closed on revocation. */
  release(conn: Conn): void;
  /**
   * A flow decided for decryption runs blind after all: its client offered nothing the
   * gateway inspects and the rule tunnels such clients (`uninspectable: "tunnel"`). From
   * now on a decision for either decryption lets it go on, except one that decrypts and
   * refuses such clients.
   */
  uninspectable(): void;
  /** The flow ended: no longer rechecked. Idempotent. */
  end(): void;
}

/** The decryption a watched flow runs with; `"uninspectable"`: see `FlowWatch.uninspectable`. */
type WatchedDecryption = Decryption | "uninspectable";

interface Entry {
  readonly id: string;
  /** Undefined for a flow no policy decides (a reverse-proxy connection): never rechecked. */
  readonly query: PolicyQuery | undefined;
  /** The way the flow's upstream goes (see `LiveFlows`'s `route`), when that is watched. */
  readonly route: string | undefined;
  /** The decryption the flow runs with, when a change of it closes the flow (TLS flows). */
  decryption: WatchedDecryption | undefined;
  readonly conns: Set<Conn>;
  readonly flow: WatchedFlow;
}

/**
 * The open flows of one gateway process.
 *
 * @example
 * ```ts
 * const live = new LiveFlows();
 * const watch = live.watch(query, decision, client, flow);
 * watch.also(upstream);
 * live.recheck(policy); // closes client and upstream if policy.decide(query) denies now
 * watch.end();
 * ```
 */
export class LiveFlows {
  /** By id, in the order they were watched. */
  readonly #entries = new Map<string, Entry>();
  readonly #route: ((d: Decision) => string) | undefined;
  readonly #process: number;
  #next = 0;
  /** The `recheckHolders` pass under way, and the one queued after it. */
  #runningPass: Promise<number> | undefined;
  #queuedPass: Promise<number> | undefined;

  /**
   * `route` names the way a decision sends a flow's upstream (e.g. `direct`, or a parent
   * proxy and its address, as in force now); a flow whose name changes is revoked. Without
   * it, routes are not watched. `process` is this gateway process's number (0 for the
   * primary, 1… for workers): flow ids are `<process>-<n>`, so they name the process too.
   */
  constructor(route?: (d: Decision) => string, process = 0) {
    this.#route = route;
    this.#process = process;
  }

  /** Open flows being watched. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Watches a flow `decision` allowed for `query`; revoking it calls `flow.revoke(reason)` and
   * then closes `client` and every connection passed to `also`. With `decryption` (the mode a
   * TLS flow runs with), a decision for the other mode revokes it too. A denied decision is
   * not watched (the flow ends at once anyway).
   */
  watch(query: PolicyQuery, decision: Decision, client: Conn, flow: WatchedFlow, decryption?: Decryption): FlowWatch {
    const id = this.#nextId();
    const entry: Entry = { id, query, route: this.#route?.(decision), decryption, conns: new Set([client]), flow };
    if (decision.action === "allow") {
      this.#entries.set(id, entry);
      // signed in under settings a reload replaced while the flow was being opened (after
      // that reload's recheck): checked now, a plain comparison when nothing changed
      if (flow.recheck) void this.#recheckOne(entry, flow.recheck);
    }
    return this.#handle(entry);
  }

  /**
   * Tracks a flow no policy decides (a reverse-proxy connection): listed and closed on
   * request like the others, never rechecked.
   */
  track(client: Conn, flow: WatchedFlow): FlowWatch {
    const id = this.#nextId();
    const entry: Entry = { id, query: undefined, route: undefined, decryption: undefined, conns: new Set([client]), flow };
    this.#entries.set(id, entry);
    return this.#handle(entry);
  }

  #nextId(): string {
    return `${this.#process}-${++this.#next}`;
  }

  #handle(entry: Entry): FlowWatch {
    return {
      also: (conn) => void entry.conns.add(conn),
      release: (conn) => void entry.conns.delete(conn),
      uninspectable: () => void (entry.decryption = "uninspectable"),
      end: () => void (this.#entries.get(entry.id) === entry && this.#entries.delete(entry.id)),
    };
  }

  /** The open flows that can describe themselves, oldest first. */
  list(): OpenFlow[] {
    const out: OpenFlow[] = [];
    for (const entry of this.#entries.values()) {
      const record = entry.flow.snapshot?.();
      if (record) out.push({ id: entry.id, ...record });
    }
    return out;
  }

  /**
   * Closes the open flow `id` as a revocation for `reason` (its line ends `"revoked"`).
   * False when no open flow has that id.
   */
  close(id: string, reason: string): boolean {
    const entry = this.#entries.get(id);
    if (!entry) return false;
    this.#revoke(entry, reason);
    return true;
  }

  /**
   * Re-decides every watched flow under `policy` at `now` (the query's own time is replaced:
   * the question is whether the flow may go on now). Flows now denied, decided for the other
   * decryption or sent another way are revoked and no longer watched. Returns how many were
   * revoked.
   */
  recheck(policy: Policy, now: number = Date.now()): number {
    let revoked = 0;
    for (const entry of [...this.#entries.values()]) {
      if (!entry.query) continue;
      let d: Decision;
      try {
        d = policy.decide({ ...entry.query, now });
      } catch {
        continue; // a policy that cannot decide now closes nothing
      }
      const why = revocation(d, entry.decryption) ?? this.#rerouted(d, entry.route);
      if (why === undefined) continue;
      revoked++;
      this.#revoke(entry, why);
    }
    return revoked;
  }

  /**
   * Revokes every open flow of a user `why` names a reason for (after a reload removed the
   * user or changed their password): flows the policy decided (their query's user) and
   * reverse-proxy connections (the user their `basicAuth` let through). Returns how many.
   */
  revokeUsers(why: (user: string) => string | undefined): number {
    let revoked = 0;
    for (const entry of [...this.#entries.values()]) {
      const user = entry.query ? entry.query.user : (entry.flow.snapshot?.().user ?? undefined);
      const reason = user === undefined ? undefined : why(user);
      if (reason === undefined) continue;
      revoked++;
      this.#revoke(entry, reason);
    }
    return revoked;
  }

  /**
   * Asks every open flow that can tell (`WatchedFlow.recheck`) whether it may go on, one
   * after the other, and revokes those that say why not. The policy's flows and the reverse
   * proxy's connections alike: a tunnel or upgraded connection a client certificate opened
   * is closed when a reload's CRL revokes the certificate, or once it has expired. One pass
   * runs at a time; calls during a pass share the next one. Resolves to how many that pass
   * revoked.
   */
  recheckHolders(): Promise<number> {
    // one pass at a time (a pass's checks would overwrite the next one's); reloads that come
    // during a pass share the one pass queued after it
    if (this.#queuedPass) return this.#queuedPass;
    if (!this.#runningPass) return this.#startPass();
    const queued = this.#runningPass.then(() => {
      this.#queuedPass = undefined;
      return this.#startPass();
    });
    this.#queuedPass = queued;
    return queued;
  }

  #startPass(): Promise<number> {
    const pass = this.#pass().catch(() => 0).finally(() => {
      if (this.#runningPass === pass) this.#runningPass = undefined;
    });
    this.#runningPass = pass;
    return pass;
  }

  async #pass(): Promise<number> {
    let revoked = 0;
    for (const entry of [...this.#entries.values()]) {
      const recheck = entry.flow.recheck;
      if (recheck && await this.#recheckOne(entry, recheck)) revoked++;
    }
    return revoked;
  }

  /** Asks `entry`'s flow with `recheck` and revokes it if it says why not; true if it did. */
  async #recheckOne(entry: Entry, recheck: () => Promise<string | undefined>): Promise<boolean> {
    if (this.#entries.get(entry.id) !== entry) return false;
    let why: string | undefined;
    try {
      why = await recheck();
    } catch {
      return false; // a check that fails closes nothing
    }
    // it may have ended, or been revoked otherwise, while it was checked
    if (why === undefined || this.#entries.get(entry.id) !== entry) return false;
    this.#revoke(entry, why);
    return true;
  }

  #revoke(entry: Entry, reason: string): void {
    this.#entries.delete(entry.id);
    try {
      entry.flow.revoke(reason);
    } catch {
      // its connections are closed all the same
    }
    for (const conn of entry.conns) {
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  }

  /** Why a flow that went `route` may not go on under `d`, which sends it another way; or undefined. */
  #rerouted(d: Decision, route: string | undefined): string | undefined {
    if (route === undefined || !this.#route) return undefined;
    const now = this.#route(d);
    return now === route ? undefined : `the policy sends it ${now} now: ${d.reason}`;
  }
}

/** Why a flow running with `decryption` (if that matters) may not go on under decision `d`, or undefined. */
function revocation(d: Decision, decryption: WatchedDecryption | undefined): string | undefined {
  if (d.action === "deny") return `the policy denies it now: ${d.reason}`;
  if (decryption === "uninspectable") {
    if (d.decryption === "exception" || d.uninspectable === "tunnel") return undefined;
    return `the policy refuses clients it cannot inspect now: ${d.reason}`;
  }
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
  flow.watch = ctx.liveFlows.watch(query, decision, client, flow, decryption);
}

/**
 * Tracks `flow` (no policy decides it: a reverse-proxy connection) in `ctx.liveFlows`, if the
 * gateway keeps one, so that it is listed and can be closed on request; closing it closes
 * `client` and what the flow adds with `watch.also`.
 */
export function trackFlow(ctx: FlowContext, flow: FlowState, client: Conn): void {
  if (!ctx.liveFlows) return;
  flow.watch?.end();
  flow.watch = ctx.liveFlows.track(client, flow);
}

/** Milliseconds from `now` to just after the next whole minute (schedules change on minutes). */
export function untilNextMinute(now: number): number {
  return 60_000 - (now % 60_000) + 5;
}
