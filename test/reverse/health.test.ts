import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseBackendUrl } from "../../src/reverse/backend.ts";
import { HealthChecker, type Probe, type Timers } from "../../src/reverse/health.ts";
import { BackendPool } from "../../src/reverse/pool.ts";

const SETTINGS = { intervalMs: 1000, timeoutMs: 50, healthyThreshold: 2, unhealthyThreshold: 3 };

function setup(results: Map<number, boolean | "throw" | "hang">) {
  const pool = new BackendPool("p", [parseBackendUrl("http://10.0.0.1"), parseBackendUrl("http://10.0.0.2")], { ejectAfterFailures: 1, ejectMs: 60_000 });
  const calls: number[] = [];
  const probe: Probe = (b, signal) => {
    calls.push(b.index);
    const r = results.get(b.index) ?? true;
    if (r === "throw") return Promise.reject(new Error("connect ECONNREFUSED"));
    if (r === "hang") return new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
    return Promise.resolve(r);
  };
  const changes: string[] = [];
  const checker = new HealthChecker(pool, probe, SETTINGS, { onChange: (b, healthy, detail) => changes.push(`${b.index} ${healthy ? "up" : "down"}: ${detail}`) });
  return { pool, checker, calls, changes };
}

describe("reverse health checks", () => {
  it("takes a backend down after unhealthyThreshold consecutive failures, and back after healthyThreshold successes", async () => {
    const results = new Map<number, boolean | "throw" | "hang">([[1, "throw"]]);
    const { pool, checker, changes } = setup(results);
    const b1 = pool.backends[1]!;
    await checker.runOnce();
    await checker.runOnce();
    assert.equal(pool.state(b1).healthy, true);
    await checker.runOnce();
    assert.equal(pool.state(b1).healthy, false);
    assert.equal(pool.available(b1), false);
    assert.deepEqual(changes, ["1 down: 3 consecutive checks failed: connect ECONNREFUSED"]);
    assert.equal(pool.state(pool.backends[0]!).healthy, true);
    results.set(1, true);
    await checker.runOnce();
    assert.equal(pool.state(b1).healthy, false);
    await checker.runOnce();
    assert.equal(pool.state(b1).healthy, true);
    assert.equal(changes[1], "1 up: 2 consecutive checks passed");
  });

  it("a success in between restarts the failure count", async () => {
    const results = new Map<number, boolean | "throw" | "hang">([[0, false]]);
    const { pool, checker } = setup(results);
    await checker.runOnce();
    await checker.runOnce();
    results.set(0, true);
    await checker.runOnce();
    results.set(0, false);
    await checker.runOnce();
    await checker.runOnce();
    assert.equal(pool.state(pool.backends[0]!).healthy, true);
    await checker.runOnce();
    assert.equal(pool.state(pool.backends[0]!).healthy, false);
  });

  it("a probe that hangs counts as a failure after timeoutMs", async () => {
    const { pool, checker, changes } = setup(new Map([[0, "hang"]]));
    const t0 = Date.now();
    for (let i = 0; i < 3; i++) await checker.runOnce();
    assert.ok(Date.now() - t0 < 2000);
    assert.equal(pool.state(pool.backends[0]!).healthy, false);
    assert.match(changes[0] ?? "", /timed out after 50 ms/);
  });

  it("coming back up clears a passive ejection", async () => {
    const results = new Map<number, boolean | "throw" | "hang">([[0, false]]);
    const { pool, checker } = setup(results);
    const b = pool.backends[0]!;
    for (let i = 0; i < 3; i++) await checker.runOnce();
    pool.connectFailed(b, "refused");
    results.set(0, true);
    await checker.runOnce();
    await checker.runOnce();
    assert.equal(pool.available(b), true);
  });

  it("start() probes at once and then every intervalMs after a round ends; stop() ends it", async () => {
    const pending: { fn: () => void; ms: number }[] = [];
    const timers: Timers = {
      setTimeout: (fn, ms) => {
        const t = { fn, ms };
        pending.push(t);
        return t;
      },
      clearTimeout: (h) => {
        const i = pending.indexOf(h as { fn: () => void; ms: number });
        if (i >= 0) pending.splice(i, 1);
      },
    };
    const pool = new BackendPool("p", [parseBackendUrl("http://10.0.0.1")], { ejectAfterFailures: 1, ejectMs: 1 });
    let probes = 0;
    const checker = new HealthChecker(pool, () => Promise.resolve(++probes > 0), SETTINGS, { timers });
    checker.start();
    assert.deepEqual(pending.map((t) => t.ms), [0]);
    pending.shift()!.fn();
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(probes, 1);
    assert.deepEqual(pending.map((t) => t.ms), [1000]);
    pending.shift()!.fn();
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(probes, 2);
    checker.stop();
    assert.equal(pending.length, 0);
  });
});
