import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseBackendUrl } from "../../src/reverse/backend.ts";
import { BackendPool } from "../../src/reverse/pool.ts";
import { poolReport } from "../../src/reverse/report.ts";
import { UpstreamPool } from "../../src/flows/upstream-pool.ts";
import type { IdleBackend } from "../../src/reverse/listener-state.ts";

describe("poolReport", () => {
  it("shows each backend's verdicts: available, down by the checks, or ejected until when and why", () => {
    let now = 1_700_000_000_000;
    const pool = new BackendPool("api", ["http://10.0.0.1:8080", "http://10.0.0.2:8080", "https://10.0.0.3:8443"].map(parseBackendUrl), { ejectAfterFailures: 1, ejectMs: 10_000, now: () => now });
    const [a, b, c] = pool.backends;
    pool.began(a!);
    pool.state(b!).healthy = false;
    pool.state(b!).lastError = "Health check answered 503";
    pool.connectFailed(c!, "ECONNREFUSED");
    const idle = new UpstreamPool<IdleBackend>({ maxIdle: 4, maxIdlePerKey: 2, idleTimeoutMs: 1000 });
    const runtime = { pool, tls: undefined, connectTimeoutMs: 1000, timeoutMs: 1000, idle, clientHoldMs: 0 };
    const report = poolReport("api", { runtime, checker: undefined, key: "" }, now);
    assert.deepEqual(report, {
      name: "api",
      healthChecks: false,
      idleConnections: 0,
      reusedConnections: 0,
      backends: [
        { url: "http://10.0.0.1:8080", available: true, healthy: true, ejectedUntil: null, consecutiveFailures: 0, lastError: null, inFlight: 1 },
        { url: "http://10.0.0.2:8080", available: false, healthy: false, ejectedUntil: null, consecutiveFailures: 0, lastError: "Health check answered 503", inFlight: 0 },
        { url: "https://10.0.0.3:8443", available: false, healthy: true, ejectedUntil: new Date(now + 10_000).toISOString(), consecutiveFailures: 0, lastError: "ECONNREFUSED", inFlight: 0 },
      ],
    });
    now += 10_001;
    assert.equal(poolReport("api", { runtime, checker: undefined, key: "" }, now).backends[2]?.available, true, "the ejection ended");
    idle.close();
  });
});
