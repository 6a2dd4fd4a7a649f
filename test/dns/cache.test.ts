import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { CachingResolver } from "../../src/dns/cache.ts";
import { DnsError } from "../../src/dns/error.ts";
import type { Resolution, Resolver } from "../../src/dns/types.ts";

/** A scripted inner resolver that counts calls; answers come from `answer`. */
function fakeInner(answer: (name: string, call: number) => Promise<Resolution>) {
  const calls: string[] = [];
  const resolver: Resolver = {
    resolve(name) {
      calls.push(name);
      return answer(name, calls.length);
    },
  };
  return { resolver, calls };
}

const ok = (address: string): Promise<Resolution> => Promise.resolve({ addresses: [address], source: "system" });

function clock(start = 1_000_000) {
  const state = { now: start };
  return { state, now: () => state.now };
}

describe("CachingResolver", () => {
  it("answers from the cache until the TTL expires", async () => {
    const { resolver, calls } = fakeInner((_name, call) => ok(`192.0.2.${call}`));
    const time = clock();
    const cache = new CachingResolver(resolver, { maxEntries: 10, ttlMs: 30_000, negativeTtlMs: 5_000, now: time.now });
    assert.deepEqual(await cache.resolve("a.test"), { addresses: ["192.0.2.1"], source: "system" });
    time.state.now += 29_999;
    assert.deepEqual(await cache.resolve("A.Test."), { addresses: ["192.0.2.1"], source: "cache" });
    assert.deepEqual(calls, ["a.test"]);
    time.state.now += 1;
    assert.deepEqual(await cache.resolve("a.test"), { addresses: ["192.0.2.2"], source: "system" });
    assert.equal(calls.length, 2);
  });

  it("caches failures for the negative TTL", async () => {
    const { resolver, calls } = fakeInner((name, call) =>
      call === 1 ? Promise.reject(new DnsError("notfound", name)) : ok("192.0.2.9"),
    );
    const time = clock();
    const cache = new CachingResolver(resolver, { maxEntries: 10, ttlMs: 30_000, negativeTtlMs: 5_000, now: time.now });
    for (let i = 0; i < 3; i++) {
      await assert.rejects(cache.resolve("gone.test"), (error: unknown) => {
        assert.ok(error instanceof DnsError);
        assert.equal(error.code, "notfound");
        assert.equal(error.message, 'Host "gone.test" not found');
        return true;
      });
    }
    assert.equal(calls.length, 1);
    time.state.now += 5_000;
    assert.deepEqual(await cache.resolve("gone.test"), { addresses: ["192.0.2.9"], source: "system" });
    assert.equal(calls.length, 2);
  });

  it("does not cache errors that are not DnsErrors", async () => {
    const { resolver, calls } = fakeInner(() => Promise.reject(new TypeError("bug")));
    const cache = new CachingResolver(resolver, { maxEntries: 10, ttlMs: 30_000, negativeTtlMs: 5_000 });
    await assert.rejects(cache.resolve("x.test"), TypeError);
    await assert.rejects(cache.resolve("x.test"), TypeError);
    assert.equal(calls.length, 2);
    assert.equal(cache.size, 0);
  });

  it("coalesces concurrent lookups of one name", async () => {
    let release: (value: Resolution) => void = () => {};
    const { resolver, calls } = fakeInner(() => new Promise<Resolution>((resolve) => (release = resolve)));
    const cache = new CachingResolver(resolver, { maxEntries: 10, ttlMs: 30_000, negativeTtlMs: 5_000 });
    const pending = Array.from({ length: 10 }, (_, i) => cache.resolve(i % 2 === 0 ? "same.test" : "SAME.test."));
    assert.equal(calls.length, 1);
    release({ addresses: ["192.0.2.7"], source: "system" });
    const results = await Promise.all(pending);
    assert.equal(calls.length, 1);
    for (const result of results) assert.deepEqual(result.addresses, ["192.0.2.7"]);
    assert.equal((await cache.resolve("same.test")).source, "cache");
    assert.equal(calls.length, 1);
  });

  it("coalesces concurrent failures too", async () => {
    let fail: (error: unknown) => void = () => {};
    const { resolver, calls } = fakeInner(() => new Promise<Resolution>((_resolve, reject) => (fail = reject)));
    const cache = new CachingResolver(resolver, { maxEntries: 10, ttlMs: 30_000, negativeTtlMs: 0 });
    const pending = Array.from({ length: 10 }, () => cache.resolve("slow.test"));
    fail(new DnsError("timeout", "slow.test"));
    const settled = await Promise.allSettled(pending);
    assert.ok(settled.every((s) => s.status === "rejected" && s.reason instanceof DnsError && s.reason.code === "timeout"));
    assert.equal(calls.length, 1);
    assert.equal(cache.size, 0, "negativeTtlMs 0 caches no failure");
  });

  it("lets one caller abort without disturbing the others", async () => {
    let release: (value: Resolution) => void = () => {};
    const { resolver, calls } = fakeInner(() => new Promise<Resolution>((resolve) => (release = resolve)));
    const cache = new CachingResolver(resolver, { maxEntries: 10, ttlMs: 30_000, negativeTtlMs: 5_000 });
    const controller = new AbortController();
    const aborted = cache.resolve("a.test", controller.signal);
    const patient = cache.resolve("a.test");
    controller.abort(new Error("client went away"));
    await assert.rejects(aborted, /client went away/);
    release({ addresses: ["192.0.2.1"], source: "system" });
    assert.deepEqual((await patient).addresses, ["192.0.2.1"]);
    assert.equal(calls.length, 1);
    await assert.rejects(cache.resolve("a.test", AbortSignal.abort(new Error("already"))), /already/);
  });

  it("keeps at most maxEntries names, evicting the least recently used", async () => {
    const { resolver, calls } = fakeInner((name) => ok(`192.0.2.${calls.length}`).then((r) => ({ ...r, name })));
    const cache = new CachingResolver(resolver, { maxEntries: 3, ttlMs: 30_000, negativeTtlMs: 5_000 });
    for (const name of ["a.test", "b.test", "c.test"]) await cache.resolve(name);
    assert.equal((await cache.resolve("a.test")).source, "cache"); // a is now most recent
    await cache.resolve("d.test"); // evicts b
    assert.equal(cache.size, 3);
    assert.equal((await cache.resolve("a.test")).source, "cache");
    assert.equal((await cache.resolve("c.test")).source, "cache");
    assert.equal((await cache.resolve("d.test")).source, "cache");
    assert.equal((await cache.resolve("b.test")).source, "system");
    assert.equal(cache.size, 3);
    for (let i = 0; i < 100; i++) await cache.resolve(`n${i}.test`);
    assert.equal(cache.size, 3);
  });

  it("caches nothing with maxEntries 0 or ttl 0", async () => {
    for (const options of [{ maxEntries: 0, ttlMs: 30_000 }, { maxEntries: 10, ttlMs: 0 }]) {
      const { resolver, calls } = fakeInner(() => ok("192.0.2.1"));
      const cache = new CachingResolver(resolver, { ...options, negativeTtlMs: 5_000 });
      await cache.resolve("a.test");
      await cache.resolve("a.test");
      assert.equal(calls.length, 2);
      assert.equal(cache.size, 0);
    }
  });

  it("clear drops cached answers", async () => {
    const { resolver, calls } = fakeInner(() => ok("192.0.2.1"));
    const cache = new CachingResolver(resolver, { maxEntries: 10, ttlMs: 30_000, negativeTtlMs: 5_000 });
    await cache.resolve("a.test");
    cache.clear();
    assert.equal((await cache.resolve("a.test")).source, "system");
    assert.equal(calls.length, 2);
  });

  it("rejects nonsense options", () => {
    const { resolver } = fakeInner(() => ok("192.0.2.1"));
    assert.throws(() => new CachingResolver(resolver, { maxEntries: -1, ttlMs: 1, negativeTtlMs: 1 }), RangeError);
    assert.throws(() => new CachingResolver(resolver, { maxEntries: 1, ttlMs: Number.NaN, negativeTtlMs: 1 }), RangeError);
  });
});
