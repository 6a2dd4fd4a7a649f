import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DnsError } from "../../src/dns/error.ts";
import { createResolver } from "../../src/dns/resolver.ts";
import type { DnsSettings } from "../../src/dns/types.ts";

const settings: DnsSettings = {
  hosts: { "origin.test": ["127.0.0.1"] },
  cacheSize: 100,
  ttlSeconds: 30,
  negativeTtlSeconds: 5,
  timeoutMs: 1000,
  servers: [],
  transport: "udp",
};

function countingLookup(answer: (name: string) => Promise<string[]>) {
  const asked: string[] = [];
  const lookup = (name: string) => {
    asked.push(name);
    return answer(name);
  };
  return { lookup, asked };
}

describe("createResolver", () => {
  it("answers the static map first, without a lookup", async () => {
    const { lookup, asked } = countingLookup(() => Promise.resolve(["192.0.2.1"]));
    const resolver = createResolver(settings, lookup);
    assert.deepEqual(await resolver.resolve("Origin.Test."), { addresses: ["127.0.0.1"], source: "static" });
    assert.deepEqual(asked, []);
  });

  it("looks other names up once, then answers from the cache until the TTL ends", async () => {
    const time = { now: 0 };
    const { lookup, asked } = countingLookup(() => Promise.resolve(["192.0.2.1"]));
    const resolver = createResolver(settings, lookup, { now: () => time.now });
    assert.deepEqual(await resolver.resolve("example.com"), { addresses: ["192.0.2.1"], source: "system" });
    assert.deepEqual(await resolver.resolve("EXAMPLE.com"), { addresses: ["192.0.2.1"], source: "cache" });
    time.now += 30_000;
    assert.equal((await resolver.resolve("example.com")).source, "system");
    assert.deepEqual(asked, ["example.com.", "example.com."]);
  });

  it("caches not-found answers for the negative TTL", async () => {
    const time = { now: 0 };
    const enotfound = Object.assign(new Error("ENOTFOUND"), { code: "ENOTFOUND" });
    const { lookup, asked } = countingLookup(() => Promise.reject(enotfound));
    const resolver = createResolver(settings, lookup, { now: () => time.now });
    await assert.rejects(resolver.resolve("gone.test"), { name: "DnsError", code: "notfound" });
    await assert.rejects(resolver.resolve("gone.test"), { code: "notfound" });
    assert.equal(asked.length, 1);
    time.now += 5_000;
    await assert.rejects(resolver.resolve("gone.test"), { code: "notfound" });
    assert.equal(asked.length, 2);
  });

  it("coalesces 10 concurrent lookups into 1", async () => {
    let release: (addresses: string[]) => void = () => {};
    const { lookup, asked } = countingLookup(() => new Promise<string[]>((resolve) => (release = resolve)));
    const resolver = createResolver(settings, lookup);
    const pending = Array.from({ length: 10 }, () => resolver.resolve("busy.test"));
    await Promise.resolve();
    release(["192.0.2.3"]);
    const results = await Promise.all(pending);
    assert.equal(asked.length, 1);
    assert.ok(results.every((r) => r.addresses[0] === "192.0.2.3"));
  });

  it("times out a slow lookup", async () => {
    const { lookup } = countingLookup(() => new Promise<string[]>(() => {}));
    const resolver = createResolver({ ...settings, timeoutMs: 20 }, lookup);
    await assert.rejects(resolver.resolve("slow.test"), (error: unknown) => {
      assert.ok(error instanceof DnsError);
      assert.equal(error.code, "timeout");
      return true;
    });
  });

  it("returns IP literals as they are", async () => {
    const { lookup, asked } = countingLookup(() => Promise.resolve(["192.0.2.1"]));
    const resolver = createResolver(settings, lookup);
    assert.deepEqual(await resolver.resolve("192.0.2.44"), { addresses: ["192.0.2.44"], source: "literal" });
    assert.deepEqual(await resolver.resolve("[::1]"), { addresses: ["::1"], source: "literal" });
    assert.deepEqual(await resolver.resolve("127.1"), { addresses: ["127.0.0.1"], source: "literal" });
    await assert.rejects(resolver.resolve("1.2.3.999"), { code: "notfound" });
    assert.deepEqual(asked, []);
  });

  it("rejects invalid names without a lookup", async () => {
    const { lookup, asked } = countingLookup(() => Promise.resolve(["192.0.2.1"]));
    const resolver = createResolver(settings, lookup);
    await assert.rejects(resolver.resolve("exa mple.com"), { code: "notfound", message: 'Invalid host name "exa mple.com"' });
    await assert.rejects(resolver.resolve(""), { code: "notfound" });
    assert.deepEqual(asked, []);
  });

  it("honours an aborted signal", async () => {
    const { lookup } = countingLookup(() => Promise.resolve(["192.0.2.1"]));
    const resolver = createResolver(settings, lookup);
    await assert.rejects(resolver.resolve("origin.test", AbortSignal.abort(new Error("gone"))), /gone/);
  });
});
