import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { loadCa } from "../../src/pki/ca.ts";
import { generateCa } from "../../src/pki/ca_generate.ts";
import { createLeafCache, MAX_SANS_INPUT } from "../../src/pki/leaf_cache.ts";
import { createLeafIssuer, type Leaf } from "../../src/pki/leaf_issuer.ts";
import { DAY, fakeIssuer, HOUR } from "./support/fake-issuer.ts";

describe("createLeafCache", () => {
  it("counts hits and misses and normalises the host", async () => {
    const clock = { t: Date.UTC(2030, 0, 1) };
    const fake = fakeIssuer(clock);
    const cache = createLeafCache(fake.source, { now: () => clock.t });
    const a = await cache.get("example.com");
    assert.equal(await cache.get("example.com"), a);
    assert.equal(await cache.get("EXAMPLE.com."), a);
    const b = await cache.get("other.example");
    assert.notEqual(b, a);
    const stats = cache.stats();
    assert.deepEqual({ ...stats, lastMintMs: 0 }, {
      hits: 2, misses: 2, size: 2, inflight: 0, mintCount: 2, mintFailures: 0, mintsRefused: 0, lastMintMs: 0,
    });
    assert.ok(stats.lastMintMs >= 0);
    assert.deepEqual(fake.calls, [["example.com"], ["other.example"]]);
  });

  it("keys on sorted, de-duplicated extra SANs", async () => {
    const clock = { t: Date.UTC(2030, 0, 1) };
    const fake = fakeIssuer(clock);
    const cache = createLeafCache(fake.source, { now: () => clock.t, maxSans: 2 });
    const withSans = await cache.get("example.com", ["www.example.com", "api.example.com", "example.com", "API.example.com"]);
    assert.deepEqual(fake.calls[0], ["example.com", "api.example.com", "www.example.com"]);
    assert.equal(await cache.get("example.com", ["api.example.com", "www.example.com"]), withSans);
    assert.notEqual(await cache.get("example.com"), withSans);
    await cache.get("example.com", ["c.example", "b.example", "a.example"]);
    assert.deepEqual(fake.calls.at(-1), ["example.com", "a.example", "b.example"], "extra SANs beyond maxSans are dropped");
    assert.equal(cache.stats().mintCount, 3);
  });

  it("evicts the least recently used entry at maxEntries", async () => {
    const clock = { t: Date.UTC(2030, 0, 1) };
    const fake = fakeIssuer(clock);
    const cache = createLeafCache(fake.source, { now: () => clock.t, maxEntries: 3 });
    for (const h of ["a.test", "b.test", "c.test"]) await cache.get(h);
    await cache.get("a.test"); // a becomes most recent: order b, c, a
    await cache.get("d.test"); // evicts b
    assert.equal(cache.stats().size, 3);
    assert.equal(cache.stats().mintCount, 4);
    await cache.get("c.test");
    await cache.get("a.test");
    await cache.get("d.test");
    assert.equal(cache.stats().mintCount, 4, "c, a, d are still cached");
    await cache.get("b.test");
    assert.equal(cache.stats().mintCount, 5, "b was evicted");
    assert.equal(cache.stats().size, 3);
  });

  it("cannot grow beyond maxEntries under a flood of unique hosts", async () => {
    const clock = { t: Date.UTC(2030, 0, 1) };
    const cache = createLeafCache(fakeIssuer(clock).source, { now: () => clock.t, maxEntries: 50 });
    for (let i = 0; i < 200; i += 20) {
      await Promise.all(Array.from({ length: 20 }, (_, j) => cache.get(`h${i + j}.flood.test`)));
      assert.ok(cache.stats().size <= 50);
    }
    assert.equal(cache.stats().size, 50);
    assert.equal(cache.stats().mintCount, 200);
  });

  it("re-mints an entry within the renewal margin", async () => {
    const clock = { t: Date.UTC(2030, 0, 1) };
    const fake = fakeIssuer(clock);
    const cache = createLeafCache(fake.source, { now: () => clock.t, renewBeforeSeconds: 86_400 });
    const first = await cache.get("renew.test");
    clock.t += 5 * DAY;
    assert.equal(await cache.get("renew.test"), first);
    clock.t += DAY - 1000; // 6 days minus 1 s: still outside the 1-day margin
    assert.equal(await cache.get("renew.test"), first);
    clock.t += 2000; // now within a day of notAfter
    const second = await cache.get("renew.test");
    assert.notEqual(second, first);
    assert.equal(await cache.get("renew.test"), second);
    assert.equal(cache.stats().mintCount, 2);
    assert.equal(cache.stats().size, 1);
  });

  it("renews a short-lived leaf at half its lifetime instead of on every get", async () => {
    const clock = { t: Date.UTC(2030, 0, 1) };
    const fake = fakeIssuer(clock, HOUR);
    const cache = createLeafCache(fake.source, { now: () => clock.t, renewBeforeSeconds: 86_400 });
    const first = await cache.get("short.test");
    clock.t += 29 * 60_000;
    assert.equal(await cache.get("short.test"), first);
    clock.t += 2 * 60_000;
    assert.notEqual(await cache.get("short.test"), first);
  });

  it("coalesces concurrent gets for one key into one mint", async () => {
    const clock = { t: Date.UTC(2030, 0, 1) };
    const fake = fakeIssuer(clock);
    const cache = createLeafCache(fake.source, { now: () => clock.t });
    fake.hold(true);
    const gets = Array.from({ length: 10 }, () => cache.get("busy.test"));
    await Promise.resolve();
    await Promise.resolve();
    assert.equal(cache.stats().inflight, 1);
    assert.equal(fake.calls.length, 1);
    fake.held[0]?.release();
    const leaves = await Promise.all(gets);
    assert.ok(leaves.every((l) => l === leaves[0]));
    assert.equal(fake.calls.length, 1);
    assert.deepEqual({ mintCount: cache.stats().mintCount, misses: cache.stats().misses, inflight: cache.stats().inflight, size: cache.stats().size },
      { mintCount: 1, misses: 10, inflight: 0, size: 1 });
  });

  it("does not cache a failed mint", async () => {
    const clock = { t: Date.UTC(2030, 0, 1) };
    const fake = fakeIssuer(clock);
    const cache = createLeafCache(fake.source, { now: () => clock.t });
    fake.hold(true);
    const waiters = [cache.get("fail.test"), cache.get("fail.test"), cache.get("fail.test")];
    await Promise.resolve();
    await Promise.resolve();
    fake.held[0]?.fail(new Error("signing failed"));
    for (const w of waiters) await assert.rejects(w, /signing failed/);
    assert.deepEqual({ size: cache.stats().size, inflight: cache.stats().inflight, mintFailures: cache.stats().mintFailures }, {
      size: 0, inflight: 0, mintFailures: 1,
    });
    fake.hold(false);
    const leaf = await cache.get("fail.test");
    assert.equal(leaf.names[0], "fail.test");
    assert.equal(cache.stats().mintCount, 2);
    assert.equal(await cache.get("fail.test"), leaf);
  });

  it("cleans up after an issuer that throws synchronously", async () => {
    let calls = 0;
    const cache = createLeafCache({
      issue(): Promise<Leaf> {
        calls++;
        throw new Error("sync boom");
      },
    });
    await assert.rejects(cache.get("sync.test"), /sync boom/);
    await assert.rejects(cache.get("sync.test"), /sync boom/);
    assert.equal(calls, 2);
    assert.equal(cache.stats().inflight, 0);
  });

  it("bounds mints running at once: a further one waits for a slot, first come first served", async () => {
    const clock = { t: Date.UTC(2030, 0, 1) };
    const fake = fakeIssuer(clock);
    const cache = createLeafCache(fake.source, { now: () => clock.t, maxEntries: 100, maxInflight: 2 });
    fake.hold(true);
    const a = cache.get("a.test");
    const b = cache.get("b.test");
    const c = cache.get("c.test");
    const d = cache.get("d.test");
    const a2 = cache.get("a.test"); // joins the existing mint
    const settle = async () => {
      for (let i = 0; i < 5; i++) await Promise.resolve();
    };
    await settle();
    assert.deepEqual(fake.calls, [["a.test"], ["b.test"]], "two running, c and d wait");
    assert.equal(cache.stats().inflight, 4);
    fake.held[1]!.release(); // b ends: c takes its slot
    await settle();
    assert.deepEqual(fake.calls.map(([n]) => n), ["a.test", "b.test", "c.test"]);
    fake.held[0]!.fail(new Error("boom")); // a failed mint frees its slot too: d starts
    await settle();
    assert.deepEqual(fake.calls.map(([n]) => n), ["a.test", "b.test", "c.test", "d.test"]);
    await assert.rejects(a, /boom/);
    await assert.rejects(a2, /boom/);
    fake.held[2]!.release();
    fake.held[3]!.release();
    assert.deepEqual((await Promise.all([b, c, d])).map((l) => l.names[0]), ["b.test", "c.test", "d.test"]);
    assert.equal(cache.stats().inflight, 0);
    fake.hold(false);
    assert.equal((await cache.get("e.test")).names[0], "e.test", "every slot was given back");
  });

  it("the number of cached leaves does not limit concurrent mints", async () => {
    const clock = { t: Date.UTC(2030, 0, 1) };
    const fake = fakeIssuer(clock);
    const cache = createLeafCache(fake.source, { now: () => clock.t, maxEntries: 2 });
    fake.hold(true);
    const gets = ["a.test", "b.test", "c.test"].map((h) => cache.get(h));
    for (let i = 0; i < 5; i++) await Promise.resolve();
    assert.equal(fake.calls.length, 3);
    for (const h of fake.held) h.release();
    assert.deepEqual((await Promise.all(gets)).map((l) => l.names[0]), ["a.test", "b.test", "c.test"]);
    assert.equal(cache.stats().size, 2, "the cache still keeps at most maxEntries");
  });

  it("rejects invalid hosts and options without minting", async () => {
    const clock = { t: Date.UTC(2030, 0, 1) };
    const fake = fakeIssuer(clock);
    const cache = createLeafCache(fake.source, { now: () => clock.t });
    await assert.rejects(cache.get("bad host"), TypeError);
    await assert.rejects(cache.get("ok.test", ["bad san!"]), TypeError);
    await assert.rejects(cache.get("ok.test", Array.from({ length: MAX_SANS_INPUT + 1 }, (_, i) => `s${i}.test`)), RangeError);
    assert.equal(fake.calls.length, 0);
    assert.throws(() => createLeafCache(fake.source, { maxEntries: 0 }), RangeError);
    assert.throws(() => createLeafCache(fake.source, { maxInflight: 1.5 }), RangeError);
    assert.throws(() => createLeafCache(fake.source, { renewBeforeSeconds: -1 }), RangeError);
    assert.throws(() => createLeafCache(fake.source, { maxSans: -1 }), RangeError);
  });

  it("clear() during a mint (a leaf-key rotation): the mint's leaf goes to its callers only, never to a later get", async () => {
    const clock = { t: 0 };
    const fake = fakeIssuer(clock);
    const cache = createLeafCache(fake.source, { now: () => clock.t });
    fake.hold(true);
    const before = cache.get("busy.example"); // under way with the old key
    await Promise.resolve();
    await Promise.resolve();
    assert.equal(fake.held.length, 1);
    cache.clear(); // the rotation
    const after = cache.get("busy.example"); // not joined to the old mint: a mint of its own
    await Promise.resolve();
    await Promise.resolve();
    assert.equal(fake.held.length, 2);
    assert.equal(cache.stats().inflight, 1);
    fake.held[0]!.release();
    const old = await before;
    fake.held[1]!.release();
    const fresh = await after;
    assert.notEqual(fresh, old);
    assert.equal(await cache.get("busy.example"), fresh, "the cache holds the mint begun after clear()");
    assert.equal(cache.stats().inflight, 0);
  });

  it("works in front of a real issuer", async () => {
    const ca = await loadCa(await generateCa());
    const cache = createLeafCache(createLeafIssuer(ca), { maxEntries: 10 });
    const [a, b] = await Promise.all([cache.get("real.example.com", ["10.0.0.1"]), cache.get("real.example.com", ["10.0.0.1"])]);
    assert.equal(a, b);
    assert.deepEqual(a.names, ["real.example.com", "10.0.0.1"]);
    assert.equal(await cache.get("REAL.example.com", ["10.0.0.1"]), a);
    assert.equal(cache.stats().mintCount, 1);
    assert.ok(cache.stats().lastMintMs > 0);
    cache.clear();
    assert.equal(cache.stats().size, 0);
    assert.notEqual(await cache.get("real.example.com", ["10.0.0.1"]), a);
  });
});
