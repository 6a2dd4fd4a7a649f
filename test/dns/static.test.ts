import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DnsError } from "../../src/dns/error.ts";
import { StaticResolver } from "../../src/dns/static.ts";

describe("StaticResolver", () => {
  const hosts = new StaticResolver({ "Origin.Test.": ["127.0.0.1", "::1"], "other.test": ["192.0.2.5"] });

  it("answers names from the map, ignoring case and a trailing dot", async () => {
    assert.deepEqual(await hosts.resolve("origin.test"), { addresses: ["127.0.0.1", "::1"], source: "static" });
    assert.deepEqual(await hosts.resolve("ORIGIN.test."), { addresses: ["127.0.0.1", "::1"], source: "static" });
    assert.deepEqual(hosts.get("other.test"), ["192.0.2.5"]);
    assert.equal(hosts.size, 2);
  });

  it("rejects other names as not found", async () => {
    assert.equal(hosts.get("missing.test"), undefined);
    await assert.rejects(hosts.resolve("missing.test"), (error: unknown) => error instanceof DnsError && error.code === "notfound");
  });

  it("hands out frozen address lists", () => {
    assert.ok(Object.isFrozen(hosts.get("origin.test")));
  });

  it("refuses a name without addresses", () => {
    assert.throws(() => new StaticResolver({ "a.test": [] }), RangeError);
  });
});
