import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Gauge } from "../../src/metrics/gauge.ts";

describe("Gauge", () => {
  it("sets, increments and decrements, by child or by object", () => {
    const g = new Gauge({ name: "active", help: "a", labelNames: ["listener"] });
    const main = g.labels("main");
    main.inc();
    main.inc(3);
    main.dec();
    g.inc({ listener: "admin" });
    g.dec({ listener: "admin" }, 2);
    assert.equal(g.value("main"), 3);
    assert.equal(g.value("admin"), -1);
    g.set({ listener: "main" }, 10);
    assert.equal(main.value, 10);
  });

  it("a label-less gauge", () => {
    const g = new Gauge({ name: "g", help: "g" });
    g.set(2);
    g.inc();
    g.dec(0.5);
    assert.equal(g.value(), 2.5);
  });

  it("refuses a non-number value", () => {
    const g = new Gauge({ name: "g", help: "g" });
    assert.throws(() => (g as unknown as { set(v: unknown): void }).set("3"), TypeError);
  });

  it("calls collect with itself before exposition", () => {
    let n = 0;
    const g = new Gauge({ name: "g", help: "g", labelNames: ["k"], collect: (self) => self.set({ k: "x" }, ++n) });
    g.collect();
    g.collect();
    assert.equal(g.value("x"), 2);
    const out: string[] = [];
    g.render(out);
    assert.deepEqual(out, ["# HELP g g", "# TYPE g gauge", 'g{k="x"} 2']);
  });
});
