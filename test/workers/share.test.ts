import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/parse.ts";
import { shareOfLimits } from "../../src/workers/share.ts";

describe("shareOfLimits", () => {
  const limits = parseConfig({ limits: { maxConnections: 1000, maxConnectionsPerClient: 5, maxTunnels: 10_001 } }).limits;

  it("divides the concurrency totals between processes, rounding up", () => {
    const share = shareOfLimits(limits, 4);
    assert.equal(share.maxConnections, 250);
    assert.equal(share.maxConnectionsPerClient, 2);
    assert.equal(share.maxTunnels, 2501);
    // together at most the total rounded up to a multiple of the count
    assert.ok(share.maxTunnels * 4 < limits.maxTunnels + 4);
  });

  it("leaves per-connection limits alone and never goes below 1", () => {
    const share = shareOfLimits(limits, 64);
    assert.equal(share.maxConnectionsPerClient, 1);
    assert.equal(share.maxHeadBytes, limits.maxHeadBytes);
    assert.equal(share.idleTimeoutMs, limits.idleTimeoutMs);
  });

  it("divides the per-client connection rate and burst too; a rate of 0 (no limit) stays 0", () => {
    const limited = parseConfig({ limits: { connectionRatePerClient: 100, connectionBurstPerClient: 200 } }).limits;
    const share = shareOfLimits(limited, 4);
    assert.equal(share.connectionRatePerClient, 25);
    assert.equal(share.connectionBurstPerClient, 50);
    assert.equal(shareOfLimits(parseConfig({}).limits, 4).connectionRatePerClient, 0, "the default: no limit");
  });

  it("is the identity for one process and refuses a bad count", () => {
    assert.equal(shareOfLimits(limits, 1), limits);
    assert.throws(() => shareOfLimits(limits, 0), RangeError);
    assert.throws(() => shareOfLimits(limits, 1.5), RangeError);
  });
});
