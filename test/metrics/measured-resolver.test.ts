import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DnsError } from "../../src/dns/error.ts";
import type { Resolver } from "../../src/dns/types.ts";
import { createGatewayMetrics } from "../../src/metrics/gateway-metrics.ts";
import { measuredResolver } from "../../src/metrics/measured-resolver.ts";
import { Registry } from "../../src/metrics/registry.ts";

describe("measuredResolver", () => {
  it("counts lookups by source and result and times every one, failures too", async () => {
    const m = createGatewayMetrics(new Registry());
    const inner: Resolver = {
      resolve: (name) => {
        if (name === "gone.example") return Promise.reject(new DnsError("notfound", name));
        if (name === "broken.example") return Promise.reject(new Error("socket closed"));
        return Promise.resolve({ addresses: ["192.0.2.1"], source: "static" });
      },
    };
    const r = measuredResolver(inner, m);
    assert.deepEqual((await r.resolve("a.example")).addresses, ["192.0.2.1"]);
    await assert.rejects(r.resolve("gone.example"), DnsError);
    await assert.rejects(r.resolve("broken.example"), /socket closed/);
    assert.equal(m.dnsLookups.value("static", "ok"), 1);
    assert.equal(m.dnsLookups.value("none", "notfound"), 1);
    assert.equal(m.dnsLookups.value("none", "error"), 1);
    assert.equal(m.dnsLookupSeconds.snapshot()?.count, 3);
  });
});
