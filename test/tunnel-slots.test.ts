import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createGatewayMetrics } from "../src/metrics/gateway-metrics.ts";
import { Registry } from "../src/metrics/registry.ts";
import { tunnelSlots } from "../src/tunnel-slots.ts";

describe("tunnelSlots (limits.maxTunnels)", () => {
  it("hands out slots up to the limit in force, counts refusals, and frees them on release", () => {
    const registry = new Registry();
    let max = 2;
    const slots = tunnelSlots(() => max, createGatewayMetrics(registry));
    const line = (re: RegExp) => registry.expose().split("\n").find((l) => re.test(l));
    assert.equal(slots.acquire(), true);
    assert.equal(slots.acquire(), true);
    assert.match(line(/^tollgate_active_tunnels\{/) ?? "", / 2$/);
    assert.equal(slots.acquire(), false);
    assert.match(line(/^tollgate_errors_total\{kind="limit"\}/) ?? "", / 1$/);
    slots.release();
    assert.equal(slots.acquire(), true);
    max = 4; // a reload raised the limit
    assert.equal(slots.acquire(), true);
    assert.equal(slots.acquire(), true);
    assert.equal(slots.acquire(), false);
    assert.match(line(/^tollgate_active_tunnels\{/) ?? "", / 4$/);
  });
});
