import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { UpstreamError } from "../../src/flows/upstream.ts";
import { parentChain, throughParents } from "../../src/parent/failover.ts";
import type { ParentProxy } from "../../src/parent/tunnel.ts";

/** Parents a → b → c (c falls back to a: a loop the walk must stop at). */
function table(): Map<string, ParentProxy> {
  const p = (name: string, fallback?: string): ParentProxy => ({
    name,
    host: { kind: "dns", name: `${name}.test` },
    port: 3128,
    protocol: "http",
    authority: `${name}.test:3128`,
    ...(fallback ? { fallback } : {}),
    ejectMs: 1000,
    health: { downUntil: 0, lastError: null },
  });
  return new Map([["a", p("a", "b")], ["b", p("b", "c")], ["c", p("c", "a")], ["solo", p("solo")]]);
}

describe("parent failover", () => {
  it("parentChain follows fallbacks in order, each parent once", () => {
    const t = table();
    assert.deepEqual(parentChain(t, t.get("a")!).map((p) => p.name), ["a", "b", "c"]);
    assert.deepEqual(parentChain(t, t.get("c")!).map((p) => p.name), ["c", "a", "b"]);
    assert.deepEqual(parentChain(t, t.get("solo")!).map((p) => p.name), ["solo"]);
  });

  it("passes an unreachable parent over for its ejectMs, tries all again when all are out, and brings one back when it answers", async () => {
    const t = table();
    const ctx = { parents: () => t };
    let now = 10_000;
    const down = new Set(["a"]);
    const tried: string[] = [];
    const attempt = (p: ParentProxy) => {
      tried.push(p.name);
      return down.has(p.name) ? Promise.reject(new UpstreamError("connect", `${p.name}: ECONNREFUSED`)) : Promise.resolve(p.name);
    };
    assert.equal((await throughParents(ctx, t.get("a")!, attempt, () => now)).parent.name, "b");
    assert.equal((await throughParents(ctx, t.get("a")!, attempt, () => now)).value, "b");
    assert.deepEqual(tried, ["a", "b", "b"]);
    assert.equal(t.get("a")!.health.lastError, "a: ECONNREFUSED");
    now += 1000; // a's time out is over: first again
    down.clear();
    tried.length = 0;
    assert.equal((await throughParents(ctx, t.get("a")!, attempt, () => now)).parent.name, "a");
    assert.equal(t.get("a")!.health.downUntil, 0);
    // every parent out: all tried, in order
    for (const p of t.values()) p.health.downUntil = now + 5000;
    down.add("a");
    tried.length = 0;
    assert.equal((await throughParents(ctx, t.get("a")!, attempt, () => now)).parent.name, "b");
    assert.deepEqual(tried, ["a", "b"]);
  });

  it("rethrows an answer at once (no fallback); all unreachable: one error naming each, a timeout when all timed out", async () => {
    const t = table();
    const ctx = { parents: () => t };
    const refused = new UpstreamError("parent", "a refused CONNECT x: 403 Forbidden", { status: 403 });
    await assert.rejects(throughParents(ctx, t.get("a")!, () => Promise.reject(refused)), (e) => e === refused);
    assert.equal(t.get("a")!.health.downUntil, 0);
    await assert.rejects(
      throughParents(ctx, t.get("a")!, (p) => Promise.reject(new UpstreamError("timeout", `${p.name}: connect timed out`))),
      (e: unknown) => e instanceof UpstreamError && e.kind === "timeout" && e.status === 504 && /a: connect timed out; b: .*; c: connect timed out/.test(e.message),
    );
    await assert.rejects(
      throughParents(ctx, t.get("solo")!, () => Promise.reject(new UpstreamError("dns", "solo: DNS: no such name"))),
      (e: unknown) => e instanceof UpstreamError && e.message === "solo: DNS: no such name",
    );
  });
});
