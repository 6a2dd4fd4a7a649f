import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { ProcessStats } from "../../src/core/runtime.ts";
import { PROCESS_METRIC_NAMES, registerProcessMetrics } from "../../src/metrics/process-metrics.ts";
import { Registry } from "../../src/metrics/registry.ts";
import { parsePrometheusText } from "./_prom-text.ts";

/** Stats whose readings the test sets. */
function fakeStats(init: { rss: number; used: number; size?: number; cpu: number; fds?: number; max?: number }) {
  const now = { ...init };
  const stats: ProcessStats = {
    memory: () => ({ rssBytes: now.rss, heapUsedBytes: now.used, heapSizeBytes: now.size ?? now.used }),
    cpuSeconds: () => now.cpu,
    openFds: () => now.fds,
    maxFds: () => now.max,
  };
  return { stats, now };
}

function values(registry: Registry): Map<string, { type: string | undefined; value: number | undefined }> {
  const out = new Map<string, { type: string | undefined; value: number | undefined }>();
  for (const [name, f] of parsePrometheusText(registry.expose())) out.set(name, { type: f.type, value: f.samples[0]?.value });
  return out;
}

describe("registerProcessMetrics", () => {
  it("exposes the readings taken at scrape time, with Prometheus' usual names and types", () => {
    const { stats, now } = fakeStats({ rss: 50e6, used: 8e6, size: 12e6, cpu: 1.25, fds: 23, max: 20000 });
    const registry = new Registry();
    registerProcessMetrics(registry, stats);
    let v = values(registry);
    assert.deepEqual([...v.keys()].sort(), [...PROCESS_METRIC_NAMES].sort());
    assert.deepEqual(v.get("process_cpu_seconds_total"), { type: "counter", value: 1.25 });
    assert.deepEqual(v.get("process_resident_memory_bytes"), { type: "gauge", value: 50e6 });
    assert.deepEqual(v.get("tollgate_js_heap_used_bytes"), { type: "gauge", value: 8e6 });
    assert.deepEqual(v.get("tollgate_js_heap_size_bytes"), { type: "gauge", value: 12e6 });
    assert.deepEqual(v.get("process_open_fds"), { type: "gauge", value: 23 });
    assert.deepEqual(v.get("process_max_fds"), { type: "gauge", value: 20000 });

    Object.assign(now, { rss: 70e6, used: 9e6, size: 20e6, cpu: 2.5, fds: 1023 });
    v = values(registry);
    assert.equal(v.get("process_resident_memory_bytes")?.value, 70e6);
    assert.equal(v.get("tollgate_js_heap_used_bytes")?.value, 9e6);
    assert.equal(v.get("tollgate_js_heap_size_bytes")?.value, 20e6);
    assert.equal(v.get("process_cpu_seconds_total")?.value, 2.5);
    assert.equal(v.get("process_open_fds")?.value, 1023);
  });

  it("the CPU counter never goes down, even if a reading does", () => {
    const { stats, now } = fakeStats({ rss: 1, used: 1, cpu: 3 });
    const registry = new Registry();
    registerProcessMetrics(registry, stats);
    assert.equal(values(registry).get("process_cpu_seconds_total")?.value, 3);
    now.cpu = 2;
    assert.equal(values(registry).get("process_cpu_seconds_total")?.value, 3);
    now.cpu = 4;
    assert.equal(values(registry).get("process_cpu_seconds_total")?.value, 4);
  });

  it("leaves out the descriptor families where the platform gives no count", () => {
    const { stats } = fakeStats({ rss: 1, used: 1, cpu: 0 });
    const registry = new Registry();
    registerProcessMetrics(registry, stats);
    const names = [...values(registry).keys()];
    assert.ok(!names.includes("process_open_fds"), names.join(", "));
    assert.ok(!names.includes("process_max_fds"), names.join(", "));
    assert.ok(names.includes("process_resident_memory_bytes"));
  });
});
