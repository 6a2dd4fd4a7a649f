import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { GateFullError } from "../../src/core/task-gate.ts";
import { createLeafCache } from "../../src/pki/leaf_cache.ts";
import { fakeIssuer } from "./support/fake-issuer.ts";

/** Lets the cache's promise chains run (no timers). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

/** A cache with one mint slot and `maxWaiting` places behind it, over a fake issuer that holds its mints. */
function busyCache(maxWaiting: number) {
  const fake = fakeIssuer({ t: Date.UTC(2030, 0, 1) });
  fake.hold(true);
  const cache = createLeafCache(fake.source, { now: () => Date.UTC(2030, 0, 1), maxInflight: 1, maxWaiting });
  return { fake, cache, issued: () => fake.calls.map(([n]) => n) };
}

describe("createLeafCache: the queue of mints waiting for a slot", () => {
  it("refuses a mint at once when maxWaiting mints wait, naming both bounds; a get joining a queued mint takes no place", async () => {
    const { fake, cache, issued } = busyCache(1);
    const a = cache.get("a.test"); // runs
    const b = cache.get("b.test"); // waits: the one place
    const b2 = cache.get("B.test"); // joins b
    await assert.rejects(cache.get("c.test"), (e) => {
      assert.ok(e instanceof GateFullError);
      assert.equal(e.message, "1 leaf mints running and 1 waiting, as many as may wait");
      return true;
    });
    await settle();
    assert.deepEqual(issued(), ["a.test"]);
    assert.equal(cache.stats().mintsRefused, 1);
    assert.equal(cache.stats().inflight, 2, "the refused mint is not under way");
    fake.held[0]!.release();
    await settle();
    fake.held[1]!.release();
    assert.equal((await a).names[0], "a.test");
    assert.equal(await b, await b2);
    fake.hold(false);
    assert.equal((await cache.get("c.test")).names[0], "c.test", "a refusal is not remembered");
    assert.deepEqual({ mintCount: cache.stats().mintCount, mintFailures: cache.stats().mintFailures }, { mintCount: 3, mintFailures: 0 });
  });

  it("defaults to 4 × maxInflight places", async () => {
    const fake = fakeIssuer({ t: 0 });
    fake.hold(true);
    const cache = createLeafCache(fake.source, { now: () => 0, maxInflight: 2 });
    const gets = Array.from({ length: 2 + 8 }, (_, i) => cache.get(`h${i}.test`));
    await assert.rejects(cache.get("over.test"), GateFullError);
    fake.hold(false);
    for (const h of fake.held) h.release();
    assert.equal((await Promise.all(gets)).length, 10);
  });

  it("a queued mint whose every caller gave up leaves the queue at once: its place is free and it is never minted", async () => {
    const { fake, cache, issued } = busyCache(1);
    const a = cache.get("a.test");
    const quit1 = new AbortController();
    const quit2 = new AbortController();
    const b1 = cache.get("b.test", [], quit1.signal);
    const b2 = cache.get("b.test", [], quit2.signal);
    quit1.abort(new Error("client 1 went away"));
    await assert.rejects(b1, /client 1 went away/);
    await assert.rejects(cache.get("c.test"), GateFullError, "b2 still waits for the shared mint: it keeps its place");
    quit2.abort(new Error("client 2 went away"));
    const b3 = cache.get("b.test"); // at once: not the abandoned mint but one of its own, in the freed place
    await assert.rejects(b2, /client 2 went away/);
    await assert.rejects(cache.get("c.test"), GateFullError, "b3 holds the one place now");
    await settle();
    fake.held[0]!.release();
    await settle();
    fake.held[1]!.release();
    assert.deepEqual([(await a).names[0], (await b3).names[0]], ["a.test", "b.test"]);
    assert.deepEqual(issued(), ["a.test", "b.test"], "b minted once, for b3");
    assert.deepEqual({ inflight: cache.stats().inflight, mintFailures: cache.stats().mintFailures }, { inflight: 0, mintFailures: 0 });
  });

  it("a caller without a signal keeps a shared mint when the others give up", async () => {
    const { fake, cache, issued } = busyCache(1);
    const a = cache.get("a.test");
    const quit = new AbortController();
    const b1 = cache.get("b.test", [], quit.signal);
    const b2 = cache.get("b.test");
    quit.abort(new Error("gone"));
    await assert.rejects(b1, /gone/);
    fake.held[0]!.release();
    await settle();
    fake.held[1]!.release();
    assert.equal((await b2).names[0], "b.test");
    await a;
    assert.deepEqual(issued(), ["a.test", "b.test"]);
  });

  it("giving up on a mint that runs already: the caller is answered at once, the mint completes and is cached", async () => {
    const { fake, cache } = busyCache(0);
    const quit = new AbortController();
    const a = cache.get("a.test", [], quit.signal);
    await settle();
    quit.abort(new Error("gone"));
    await assert.rejects(a, /gone/);
    const again = cache.get("a.test"); // still shares the running mint
    fake.held[0]!.release();
    const leaf = await again;
    assert.equal(leaf.names[0], "a.test");
    assert.equal(await cache.get("a.test"), leaf);
    assert.deepEqual({ mintCount: cache.stats().mintCount, hits: cache.stats().hits }, { mintCount: 1, hits: 1 });
  });

  it("an aborted signal is refused without a mint; maxWaiting 0 refuses whenever every slot is busy", async () => {
    const { cache, issued } = busyCache(0);
    const quit = new AbortController();
    quit.abort(new Error("already gone"));
    await assert.rejects(cache.get("a.test", [], quit.signal), /already gone/);
    assert.deepEqual(issued(), []);
    void cache.get("a.test");
    await assert.rejects(cache.get("b.test"), GateFullError);
  });

  it("rejects a maxWaiting that is not a non-negative integer", () => {
    const fake = fakeIssuer({ t: 0 });
    assert.throws(() => createLeafCache(fake.source, { maxWaiting: -1 }), RangeError);
    assert.throws(() => createLeafCache(fake.source, { maxWaiting: 1.5 }), RangeError);
  });
});
