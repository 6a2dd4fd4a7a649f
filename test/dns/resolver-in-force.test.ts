import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ResolverInForce } from "../../src/dns/resolver-in-force.ts";
import type { DnsSettings, Resolver } from "../../src/dns/types.ts";

const settings = (timeoutMs: number, tag: string): DnsSettings => ({ hosts: { [tag]: ["192.0.2.1"] }, cacheSize: 0, ttlSeconds: 0, negativeTtlSeconds: 0, timeoutMs, servers: [], transport: "udp" });

/** Resolvers that answer with their generation and record being closed. */
function maker() {
  const closed: number[] = [];
  let made = 0;
  const make = (): Resolver => {
    const n = ++made;
    return { resolve: () => Promise.resolve({ addresses: [`192.0.2.${n}`], source: "static" }), close: () => void closed.push(n) };
  };
  return { make, closed };
}

describe("ResolverInForce", () => {
  it("a reload's resolver answers from commit on; the old one is closed once its own lookups are over", async () => {
    const m = maker();
    const r = new ResolverInForce(m.make, settings(100, "a"));
    assert.deepEqual((await r.resolve("x.test")).addresses, ["192.0.2.1"]);
    // a shorter timeout now: the old one's lookups may still take the old one's (and a second)
    const next = r.prepare(settings(10, "b"));
    assert.deepEqual((await r.resolve("x.test")).addresses, ["192.0.2.1"], "nothing in force before commit");
    next.commit();
    assert.deepEqual((await r.resolve("x.test")).addresses, ["192.0.2.2"]);
    await new Promise((res) => setTimeout(res, 500));
    assert.deepEqual(m.closed, [], "lookups under way on the old one may still finish");
    await new Promise((res) => setTimeout(res, 700));
    assert.deepEqual(m.closed, [1]);
    r.prepare(settings(60_000, "c")).commit();
    r.close();
    assert.deepEqual(m.closed.sort(), [1, 2, 3], "close() closes the one in force and those waiting to be closed");
  });

  it("a resolver that cannot be built refuses the reload and leaves the old one", async () => {
    let fail = false;
    const m = maker();
    const r = new ResolverInForce(() => {
      if (fail) throw new Error("cannot read dns.caFile");
      return m.make();
    }, settings(1000, "a"));
    fail = true;
    assert.throws(() => r.prepare(settings(1000, "b")), /caFile/);
    assert.deepEqual((await r.resolve("x.test")).addresses, ["192.0.2.1"]);
    r.close();
  });
});
