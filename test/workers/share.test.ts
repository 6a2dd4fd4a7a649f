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

  it("is the identity for one process and refuses a bad count", () => {
    assert.equal(shareOfLimits(limits, 1), limits);
    assert.throws(() => shareOfLimits(limits, 0), RangeError);
    assert.throws(() => shareOfLimits(limits, 1.5), RangeError);
  });
});
