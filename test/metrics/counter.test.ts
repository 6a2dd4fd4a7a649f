import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Counter } from "../../src/metrics/counter.ts";

describe("Counter", () => {
  it("counts by label values, through labels() or an object", () => {
    const c = new Counter({ name: "conn_total", help: "c", labelNames: ["mode", "kind", "decision"] });
    const allowed = c.labels("explicit", "connect", "allow");
    allowed.inc();
    allowed.inc(2.5);
    c.inc({ mode: "explicit", kind: "connect", decision: "allow" });
    c.inc({ mode: "explicit", kind: "http", decision: "deny" }, 4);
    assert.equal(c.value("explicit", "connect", "allow"), 4.5);
    assert.equal(c.value("explicit", "http", "deny"), 4);
    assert.equal(c.value("explicit", "http", "allow"), 0);
    assert.equal(c.seriesCount, 2, "value() of an unknown combination creates nothing");
  });

  it("caches one child per label-values combination", () => {
    const c = new Counter({ name: "c", help: "c", labelNames: ["a", "b"] });
    assert.equal(c.labels("x", "y"), c.labels("x", "y"));
    assert.notEqual(c.labels("x", "y"), c.labels("y", "x"));
    assert.notEqual(c.labels("x", "yz"), c.labels("xy", "z"), "values are not joined into one key");
    assert.equal(c.seriesCount, 4);
  });

  it("types the label values by the declared names", () => {
    const c = new Counter({ name: "c", help: "c", labelNames: ["a", "b"] });
    // @ts-expect-error two values are needed
    assert.throws(() => c.labels("x"), TypeError);
    // @ts-expect-error "z" is not a label name
    assert.throws(() => c.inc({ a: "x", z: "y" }), TypeError);
    c.inc({ a: "x", b: "y" });
    assert.equal(c.value("x", "y"), 1);
  });

  it("a label-less counter takes inc(n)", () => {
    const c = new Counter({ name: "c", help: "c" });
    c.inc();
    c.inc(5);
    c.inc({});
    assert.equal(c.value(), 7);
    assert.equal(c.labels(), c.labels());
  });

  it("refuses negative, NaN and infinite increments", () => {
    const c = new Counter({ name: "c", help: "c" });
    for (const n of [-1, NaN, Infinity]) assert.throws(() => c.inc(n), RangeError);
    assert.equal(c.value(), 0);
  });

  it("validates the number, names and types of label values", () => {
    const c = new Counter({ name: "c", help: "c", labelNames: ["a", "b"] });
    const loose = c as unknown as {
      labels(...v: unknown[]): unknown;
      inc(a?: unknown, n?: number): void;
    };
    assert.throws(() => loose.labels("x"), /takes 2 label values, got 1/);
    assert.throws(() => loose.labels("x", "y", "z"), /takes 2 label values, got 3/);
    assert.throws(() => loose.labels("x", 1), /Label "b" of metric "c" needs a string value, got number/);
    assert.throws(() => loose.inc(), /takes 2 label values, got 0/);
    assert.throws(() => loose.inc({ a: "x" }), TypeError);
    assert.throws(() => loose.inc({ a: "x", c: "y" }), TypeError);
    assert.throws(() => loose.inc({ a: "x", b: "y", c: "z" }), TypeError);
    assert.throws(() => loose.inc(null), TypeError);
    assert.equal(c.seriesCount, 0);
  });

  it("caps the number of label combinations without growing past it", () => {
    const c = new Counter({ name: "c", help: "c", labelNames: ["a", "b"], maxSeries: 3 });
    c.labels("1", "1").inc();
    c.labels("1", "2").inc();
    c.labels("2", "1").inc();
    assert.throws(() => c.labels("9", "9"), (e: unknown) => e instanceof RangeError && /limit of 3/.test(e.message));
    assert.equal(c.seriesCount, 3);
    c.labels("1", "1").inc(); // existing ones still work
    assert.equal(c.value("1", "1"), 2);
    c.remove("1", "2");
    c.labels("9", "9").inc(); // room again
    assert.equal(c.seriesCount, 3);
    assert.throws(() => new Counter({ name: "c", help: "c", maxSeries: 0 }), RangeError);
  });

  it("remove() and reset() drop children", () => {
    const c = new Counter({ name: "c", help: "c", labelNames: ["a"] });
    c.labels("x").inc();
    c.labels("y").inc();
    assert.equal(c.remove("x"), true);
    assert.equal(c.remove("x"), false);
    assert.equal(c.value("x"), 0);
    assert.equal(c.value("y"), 1);
    c.reset();
    assert.equal(c.seriesCount, 0);
    const plain = new Counter({ name: "p", help: "p" });
    plain.inc(3);
    plain.reset();
    assert.equal(plain.value(), 0);
    assert.equal(plain.seriesCount, 1);
  });

  it("renders its samples", () => {
    const c = new Counter({ name: "c_total", help: "Help.", labelNames: ["a"] });
    c.labels("x").inc(3);
    const out: string[] = [];
    c.render(out);
    assert.deepEqual(out, ["# HELP c_total Help.", "# TYPE c_total counter", 'c_total{a="x"} 3']);
  });
});
