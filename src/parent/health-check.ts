/**
 * Active checks of parent proxies (`parents.<name>.healthCheck`): every `intervalMs` the
 * gateway opens a TCP connection to the parent (its name resolved as flows resolve it) and
 * closes it. A failed check passes the parent over for its fallback at once, before any flow
 * has to wait for it, until a check passes; a passed check brings a parent back at once,
 * also one the flows passed over (see `failover.ts`), instead of after its `ejectMs`.
 *
 * The checks follow the parent table in force: {@link ParentChecker.sync} after a reload
 * starts the checks of new parents, stops those of parents gone, and restarts those whose
 * address or settings changed. The probe and the timers are injected, so tests drive checks
 * with {@link ParentChecker.runOnce}.
 * @module
 */
import { GLOBAL_TIMERS, type Timers } from "../core/timers.ts";
import type { FlowContext } from "../flows/context.ts";
import { dialParent, type ParentProxy } from "./tunnel.ts";

/** One check: resolves when `parent` took a connection; rejects (with why) when it did not. */
export type ParentProbe = (parent: ParentProxy, signal: AbortSignal) => Promise<void>;

/**
 * The check a flow's first step makes: a TCP connection to the parent (its name resolved by
 * the gateway's resolver, never to one of this gateway's own listeners), closed at once.
 */
export function connectProbe(ctx: Pick<FlowContext, "resolver" | "addressGuard" | "runtime" | "limits">): ParentProbe {
  return async (parent, signal) => {
    const { conn } = await dialParent(ctx, parent, signal, signal);
    conn.close();
  };
}

/** Optional behaviour of {@link ParentChecker}. */
export interface ParentCheckerOptions {
  /** Called when a check changes a parent's state: `inService` is the new state, `detail` why. */
  readonly onChange?: (parent: ParentProxy, inService: boolean, detail: string) => void;
  readonly timers?: Timers;
  /** Clock (default `Date.now`). */
  readonly now?: () => number;
}

interface Running {
  /** The parent's address and check settings the timer was started for. */
  readonly key: string;
  timer: unknown;
  abort: AbortController | undefined;
}

function keyOf(p: ParentProxy): string {
  return JSON.stringify([p.authority, p.healthCheck]);
}

/** Runs the active checks of the parents in `table()` that have them (see the module doc). */
export class ParentChecker {
  readonly #table: () => ReadonlyMap<string, ParentProxy>;
  readonly #probe: ParentProbe;
  readonly #timers: Timers;
  readonly #now: () => number;
  readonly #onChange: ParentCheckerOptions["onChange"];
  readonly #running = new Map<string, Running>();
  #stopped = false;

  constructor(table: () => ReadonlyMap<string, ParentProxy>, probe: ParentProbe, options: ParentCheckerOptions = {}) {
    this.#table = table;
    this.#probe = probe;
    this.#timers = options.timers ?? GLOBAL_TIMERS;
    this.#now = options.now ?? Date.now;
    this.#onChange = options.onChange;
  }

  /** Parents whose checks run now, by name. */
  get checking(): string[] {
    return [...this.#running.keys()];
  }

  /** Brings the running checks in line with the table in force; the first check of a new one runs at once. */
  sync(): void {
    if (this.#stopped) return;
    const table = this.#table();
    for (const [name, r] of this.#running) {
      const p = table.get(name);
      if (p?.healthCheck && keyOf(p) === r.key) continue;
      this.#cancel(r);
      this.#running.delete(name);
    }
    for (const p of table.values()) {
      if (!p.healthCheck || this.#running.has(p.name)) continue;
      const r: Running = { key: keyOf(p), timer: undefined, abort: undefined };
      this.#running.set(p.name, r);
      this.#schedule(p.name, r, 0);
    }
  }

  /** Stops every check (the gateway is stopping); later `sync` calls do nothing. */
  stop(): void {
    this.#stopped = true;
    for (const r of this.#running.values()) this.#cancel(r);
    this.#running.clear();
  }

  /** Checks parent `name` now and applies the verdict; resolves with it (false: no such checked parent, or it failed). */
  async runOnce(name: string, signal?: AbortSignal): Promise<boolean> {
    const p = this.#table().get(name);
    if (!p?.healthCheck) return false;
    const budget = AbortSignal.timeout(p.healthCheck.timeoutMs);
    let error: string | undefined;
    try {
      await this.#probe(p, signal ? AbortSignal.any([signal, budget]) : budget);
    } catch (e) {
      error = budget.aborted ? `no connection within ${p.healthCheck.timeoutMs} ms` : e instanceof Error ? e.message : String(e);
    }
    if (signal?.aborted) return false; // stopped meanwhile: no verdict
    // the verdict goes to the parent in force now (a reload may have replaced the object)
    const current = this.#table().get(name);
    if (!current || keyOf(current) !== keyOf(p)) return false;
    const now = this.#now();
    const wasInService = current.health.downUntil <= now;
    if (error === undefined) {
      current.health.downUntil = 0;
      if (!wasInService) this.#onChange?.(current, true, "health check passed");
      return true;
    }
    // passed over until the next check can say otherwise
    current.health.downUntil = Math.max(current.health.downUntil, now + p.healthCheck.intervalMs + p.healthCheck.timeoutMs);
    current.health.lastError = `health check: ${error}`;
    if (wasInService) this.#onChange?.(current, false, `health check failed: ${error}`);
    return false;
  }

  #schedule(name: string, r: Running, delayMs: number): void {
    r.timer = this.#timers.setTimeout(() => {
      r.timer = undefined;
      const abort = new AbortController();
      r.abort = abort;
      void this.runOnce(name, abort.signal).finally(() => {
        r.abort = undefined;
        const p = this.#table().get(name);
        if (this.#running.get(name) === r && p?.healthCheck) this.#schedule(name, r, p.healthCheck.intervalMs);
      });
    }, delayMs);
  }

  #cancel(r: Running): void {
    if (r.timer !== undefined) this.#timers.clearTimeout(r.timer);
    r.timer = undefined;
    r.abort?.abort();
  }
}
