import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_BUCKETS, Histogram } from "../../src/metrics/histogram.ts";
import { Registry } from "../../src/metrics/registry.ts";
import { parsePrometheusText } from "./_prom-text.ts";

describe("Histogram", () => {
  it("counts into buckets with le inclusive, cumulative on output", () => {
    const h = new Histogram({ name: "h", help: "h", buckets: [1, 2, 5] });
    for (const v of [0, 1, 1.5, 2, 4.9, 5, 5.1, 100, -3]) h.observe(v);
    const snap = h.snapshot()!;
    assert.deepEqual(snap.buckets, [3, 5, 7, 9]);
    assert.equal(snap.count, 9);
    assert.equal(snap.sum, 0 + 1 + 1.5 + 2 + 4.9 + 5 + 5.1 + 100 - 3);
  });

  it("writes _bucket with le (and +Inf), _sum and _count per child", () => {
    const h = new Histogram({ name: "d_seconds", help: "d", buckets: [0.001, 0.01], labelNames: ["src"] });
    h.observe(0.0005, { src: "cache" });
    h.observe(0.02, { src: "system" });
    h.observe(0.005, { src: "system" });
    const out: string[] = [];
    h.render(out);
    assert.deepEqual(out, [
      "# HELP d_seconds d",
      "# TYPE d_seconds histogram",
      'd_seconds_bucket{src="cache",le="0.001"} 1',
      'd_seconds_bucket{src="cache",le="0.01"} 1',
      'd_seconds_bucket{src="cache",le="+Inf"} 1',
      'd_seconds_sum{src="cache"} 0.0005',
      'd_seconds_count{src="cache"} 1',
      'd_seconds_bucket{src="system",le="0.001"} 0',
      'd_seconds_bucket{src="system",le="0.01"} 1',
      'd_seconds_bucket{src="system",le="+Inf"} 2',
      `d_seconds_sum{src="system"} ${0.02 + 0.005}`,
      'd_seconds_count{src="system"} 2',
    ]);
  });

  it("uses the default buckets and drops an explicit +Inf", () => {
    assert.deepEqual(new Histogram({ name: "h", help: "h" }).buckets, DEFAULT_BUCKETS);
    assert.deepEqual(new Histogram({ name: "h", help: "h", buckets: [1, Infinity] }).buckets, [1]);
  });

  it("refuses bad buckets", () => {
    for (const buckets of [[], [2, 1], [1, 1], [NaN], [-Infinity, 1], [Infinity]]) {
      assert.throws(() => new Histogram({ name: "h", help: "h", buckets }), RangeError, JSON.stringify(buckets));
    }
  });

  it("refuses NaN observations", () => {
    const h = new Histogram({ name: "h", help: "h", buckets: [1] });
    assert.throws(() => h.observe(NaN), RangeError);
    assert.equal(h.snapshot()!.count, 0);
  });

  it("times a section in seconds", async () => {
    const h = new Histogram({ name: "h", help: "h", buckets: [0.001, 10] });
    const done = h.startTimer();
    await new Promise((r) => setTimeout(r, 15));
    const seconds = done();
    assert.ok(seconds >= 0.01 && seconds < 10, String(seconds));
    assert.deepEqual(h.snapshot()!.buckets, [0, 1, 1]);
    assert.equal(h.snapshot()!.sum, seconds);
  });

  it("many observations stay a valid exposition", () => {
    const r = new Registry();
    const h = r.histogram({ name: "x_seconds", help: "x", buckets: [0.00005, 0.001, 0.05], labelNames: ["k"] });
    for (let i = 0; i < 1000; i++) h.labels(i % 3 === 0 ? "a" : "b").observe((i % 97) / 1000);
    const f = parsePrometheusText(r.expose()).get("x_seconds")!;
    assert.equal(f.type, "histogram");
    assert.equal(f.samples.filter((s) => s.name === "x_seconds_count").reduce((a, s) => a + s.value, 0), 1000);
  });
});
