import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { closeSync, existsSync, openSync } from "node:fs";
import { processStats } from "../../src/runtime/process-stats.ts";

const linux = existsSync("/proc/self/fd");

describe("processStats (the adapters' process readings)", () => {
  it("reads resident memory and the JavaScript heap, in use and held", () => {
    const m = processStats.memory();
    assert.ok(m.rssBytes > 4 * 2 ** 20, `rss ${m.rssBytes}`);
    assert.ok(m.heapUsedBytes > 0 && m.heapUsedBytes < m.rssBytes, JSON.stringify(m));
    assert.ok(m.heapSizeBytes > 0 && m.heapSizeBytes < m.rssBytes, JSON.stringify(m));
  });

  it("CPU time grows while the process works", () => {
    const before = processStats.cpuSeconds();
    const until = performance.now() + 60;
    let x = 0;
    while (performance.now() < until) x += Math.sqrt(x + 1);
    const after = processStats.cpuSeconds();
    assert.ok(x > 0);
    assert.ok(after - before >= 0.03, `${before} → ${after}`);
  });

  it("counts open descriptors, and sees one more while a file is open", { skip: !linux && "no /proc/self/fd" }, () => {
    const before = processStats.openFds();
    assert.ok(before !== undefined && before > 2, String(before));
    const fd = openSync("/proc/self/limits", "r");
    try {
      assert.equal(processStats.openFds(), before + 1);
    } finally {
      closeSync(fd);
    }
    assert.equal(processStats.openFds(), before);
    const max = processStats.maxFds();
    assert.ok(max === undefined || max > before, String(max));
  });
});
