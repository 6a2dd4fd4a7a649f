import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Timers } from "../../src/core/timers.ts";
import { ParentChecker } from "../../src/parent/health-check.ts";
import { testParent } from "../helpers/parent-proxy.ts";
import type { ParentProxy } from "../../src/parent/tunnel.ts";

const NOW = 1_000_000;

function parent(name: string, extra: Partial<ParentProxy> = {}): ParentProxy {
  return testParent(name, { healthCheck: { intervalMs: 10_000, timeoutMs: 500 }, ...extra });
}

/** Timers that only fire when told to. */
class ManualTimers implements Timers {
  readonly pending = new Map<number, { fn: () => void; ms: number }>();
  #next = 1;
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.pending.set(id, { fn, ms });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  /** Fires every pending timer once; resolves after their checks settled. */
  async fireAll(): Promise<void> {
    const due = [...this.pending.entries()];
    this.pending.clear();
    for (const [, t] of due) t.fn();
    await new Promise((r) => setTimeout(r, 10));
  }
  get delays(): number[] {
    return [...this.pending.values()].map((t) => t.ms);
  }
}

describe("parent active health checks", () => {
  it("checks only parents with healthCheck, the first at once, then every intervalMs", async () => {
    const table = new Map([["a", parent("a")], ["b", parent("b", { healthCheck: undefined })]]);
    const timers = new ManualTimers();
    const probed: string[] = [];
    const checker = new ParentChecker(() => table, (p) => (probed.push(p.name), Promise.resolve()), { timers, now: () => NOW });
    checker.sync();
    assert.deepEqual(checker.checking, ["a"]);
    assert.deepEqual(timers.delays, [0]);
    await timers.fireAll();
    assert.deepEqual(probed, ["a"]);
    assert.deepEqual(timers.delays, [10_000]);
    checker.stop();
    assert.deepEqual(timers.delays, [], "stop cancels the next check");
  });

  it("a failed check passes the parent over until a check passes; a passed one brings back a parent the flows passed over", async () => {
    const table = new Map([["a", parent("a")]]);
    const a = table.get("a")!;
    let up = false;
    const changes: string[] = [];
    const checker = new ParentChecker(() => table, () => up ? Promise.resolve() : Promise.reject(new Error("connect failed: ECONNREFUSED")), { now: () => NOW, timers: new ManualTimers(), onChange: (p, inService, detail) => changes.push(`${p.name} ${inService} ${detail}`) });
    assert.equal(await checker.runOnce("a"), false);
    assert.equal(a.health.downUntil, NOW + 10_000 + 500, "until the next check can say otherwise");
    assert.equal(a.health.lastError, "health check: connect failed: ECONNREFUSED");
    assert.equal(await checker.runOnce("a"), false);
    assert.deepEqual(changes, ["a false health check failed: connect failed: ECONNREFUSED"], "a change is told once");
    up = true;
    assert.equal(await checker.runOnce("a"), true);
    assert.equal(a.health.downUntil, 0);
    a.health.downUntil = NOW + 30_000; // a flow could not reach it (passive)
    assert.equal(await checker.runOnce("a"), true);
    assert.equal(a.health.downUntil, 0, "back at once, not after ejectMs");
    assert.deepEqual(changes.slice(1), ["a true health check passed", "a true health check passed"]);
  });

  it("a probe that does not finish within timeoutMs fails as such", async () => {
    const table = new Map([["slow", parent("slow", { healthCheck: { intervalMs: 10_000, timeoutMs: 100 } })]]);
    const checker = new ParentChecker(() => table, (_p, signal) => new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason))), { timers: new ManualTimers() });
    assert.equal(await checker.runOnce("slow"), false);
    assert.equal(table.get("slow")!.health.lastError, "health check: no connection within 100 ms");
  });

  it("follows reloads: new parents start, removed ones stop, a moved one restarts, an unchanged one keeps its timer", async () => {
    let table = new Map([["keep", parent("keep")], ["gone", parent("gone")], ["moved", parent("moved")]]);
    const timers = new ManualTimers();
    const checker = new ParentChecker(() => table, async () => {}, { timers, now: () => NOW });
    checker.sync();
    await timers.fireAll(); // every first check done: three timers at 10 s
    const keepTimer = [...timers.pending.keys()][0];
    table = new Map([
      ["keep", parent("keep")],
      ["moved", parent("moved", { authority: "moved.test:8080", port: 8080 })],
      ["new", parent("new")],
    ]);
    checker.sync();
    assert.deepEqual(checker.checking.sort(), ["keep", "moved", "new"]);
    assert.ok(timers.pending.has(keepTimer!), "unchanged: its timer stays");
    assert.deepEqual(timers.delays.sort((x, y) => x - y), [0, 0, 10_000], "moved and new are checked at once");
    checker.stop();
    checker.sync();
    assert.deepEqual(checker.checking, [], "nothing starts after stop");
  });

  it("a verdict for a parent a reload replaced meanwhile is dropped", async () => {
    let table = new Map([["a", parent("a")]]);
    let release: () => void = () => {};
    const checker = new ParentChecker(() => table, () => new Promise<void>((_, reject) => (release = () => reject(new Error("refused")))), { timers: new ManualTimers(), now: () => NOW });
    const verdict = checker.runOnce("a");
    table = new Map([["a", parent("a", { authority: "elsewhere.test:3128" })]]);
    release();
    assert.equal(await verdict, false);
    assert.equal(table.get("a")!.health.downUntil, 0, "the new address was not judged by the old one's check");
  });
});
