import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DnsError } from "../../src/dns/error.ts";
import { TimeoutResolver } from "../../src/dns/timeout.ts";
import type { Resolution, Resolver } from "../../src/dns/types.ts";

const never: Resolver = { resolve: () => new Promise<Resolution>(() => {}) };

describe("TimeoutResolver", () => {
  it("rejects with a timeout DnsError when the inner resolver is too slow", async () => {
    let innerSignal: AbortSignal | undefined;
    const inner: Resolver = {
      resolve(_name, signal) {
        innerSignal = signal;
        return new Promise<Resolution>(() => {});
      },
    };
    const started = Date.now();
    await assert.rejects(new TimeoutResolver(inner, 30).resolve("Slow.Test"), (error: unknown) => {
      assert.ok(error instanceof DnsError);
      assert.equal(error.code, "timeout");
      assert.equal(error.hostname, "slow.test");
      assert.equal(error.message, 'Lookup of "slow.test" timed out after 30 ms');
      return true;
    });
    assert.ok(Date.now() - started >= 25);
    assert.equal(innerSignal?.aborted, true, "the inner resolver is told to stop");
  });

  it("passes a fast answer through", async () => {
    const inner: Resolver = { resolve: () => Promise.resolve({ addresses: ["192.0.2.1"], source: "system" }) };
    assert.deepEqual(await new TimeoutResolver(inner, 1000).resolve("a.test"), { addresses: ["192.0.2.1"], source: "system" });
  });

  it("passes a failure through", async () => {
    const inner: Resolver = { resolve: (name) => Promise.reject(new DnsError("notfound", name)) };
    await assert.rejects(new TimeoutResolver(inner, 1000).resolve("a.test"), { code: "notfound" });
  });

  it("follows the caller's abort", async () => {
    const controller = new AbortController();
    const pending = new TimeoutResolver(never, 10_000).resolve("a.test", controller.signal);
    controller.abort(new Error("stop"));
    await assert.rejects(pending, /stop/);
  });

  it("rejects a timeout that is not positive", () => {
    assert.throws(() => new TimeoutResolver(never, 0), RangeError);
  });
});
