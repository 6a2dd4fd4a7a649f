import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Counter } from "../../src/metrics/counter.ts";
import { Histogram } from "../../src/metrics/histogram.ts";
import { PROMETHEUS_CONTENT_TYPE, Registry } from "../../src/metrics/registry.ts";
import { parsePrometheusText } from "./_prom-text.ts";

function smallRegistry(): Registry {
  const r = new Registry();
  const c = r.counter({ name: "req_total", help: "Requests \\ with\nnewline.", labelNames: ["path", "code"] });
  c.labels('a"b\\c\nd', "200").inc(2);
  c.inc({ path: "/", code: "500" });
  r.gauge({ name: "temp", help: "Temp." }).set(-1.5);
  const h = r.histogram({ name: "lat_seconds", help: "Latency.", buckets: [0.5, 1], labelNames: ["m"] });
  for (const v of [0.25, 0.5, 1, 3]) h.observe(v, { m: "get" });
  return r;
}

describe("Registry.expose", () => {
  it("writes the exact text format for a small registry", () => {
    assert.equal(
      smallRegistry().expose(),
      [
        "# HELP lat_seconds Latency.",
        "# TYPE lat_seconds histogram",
        'lat_seconds_bucket{m="get",le="0.5"} 2',
        'lat_seconds_bucket{m="get",le="1"} 3',
        'lat_seconds_bucket{m="get",le="+Inf"} 4',
        'lat_seconds_sum{m="get"} 4.75',
        'lat_seconds_count{m="get"} 4',
        "# HELP req_total Requests \\\\ with\\nnewline.",
        "# TYPE req_total counter",
        'req_total{path="/",code="500"} 1',
        'req_total{path="a\\"b\\\\c\\nd",code="200"} 2',
        "# HELP temp Temp.",
        "# TYPE temp gauge",
        "temp -1.5",
        "",
      ].join("\n"),
    );
  });

  it("is empty for an empty registry and offers the 0.0.4 content type", () => {
    assert.equal(new Registry().expose(), "");
    assert.match(PROMETHEUS_CONTENT_TYPE, /^text\/plain; version=0\.0\.4/);
  });

  it("orders families by name whatever the registration order, and is stable", () => {
    const r = new Registry();
    r.gauge({ name: "zeta", help: "z" });
    r.gauge({ name: "alpha", help: "a" });
    r.gauge({ name: "mid", help: "m" });
    const first = r.expose();
    const names = first.split("\n").filter((l) => l.startsWith("# TYPE")).map((l) => l.split(" ")[2]);
    assert.deepEqual(names, ["alpha", "mid", "zeta"]);
    assert.equal(r.expose(), first);
  });

  it("orders children by label values, not by creation", () => {
    const r = new Registry();
    const c = r.counter({ name: "c_total", help: "c", labelNames: ["a", "b"] });
    c.labels("y", "2").inc();
    c.labels("x", "9").inc();
    c.labels("y", "1").inc();
    const samples = r.expose().split("\n").filter((l) => l.startsWith("c_total"));
    assert.deepEqual(samples, ['c_total{a="x",b="9"} 1', 'c_total{a="y",b="1"} 1', 'c_total{a="y",b="2"} 1']);
  });

  it("exposes label-less metrics from the start and labeled ones only once used", () => {
    const r = new Registry();
    r.counter({ name: "plain_total", help: "p" });
    r.histogram({ name: "h", help: "h", buckets: [1] });
    r.counter({ name: "lab_total", help: "l", labelNames: ["x"] });
    assert.equal(
      r.expose(),
      [
        "# HELP h h",
        "# TYPE h histogram",
        'h_bucket{le="1"} 0',
        'h_bucket{le="+Inf"} 0',
        "h_sum 0",
        "h_count 0",
        "# HELP lab_total l",
        "# TYPE lab_total counter",
        "# HELP plain_total p",
        "# TYPE plain_total counter",
        "plain_total 0",
        "",
      ].join("\n"),
    );
  });

  it("runs collect callbacks at every scrape", () => {
    const r = new Registry();
    let size = 3;
    let calls = 0;
    r.gauge({
      name: "cache_size",
      help: "Entries.",
      collect: (g) => {
        calls++;
        g.set(size);
      },
    });
    assert.match(r.expose(), /^cache_size 3$/m);
    size = 7;
    assert.match(r.expose(), /^cache_size 7$/m);
    assert.equal(calls, 2);
  });

  it("propagates an error from a collect callback", () => {
    const r = new Registry();
    r.gauge({
      name: "bad",
      help: "b",
      collect: () => {
        throw new Error("boom");
      },
    });
    assert.throws(() => r.expose(), /boom/);
  });

  it("writes +Inf, -Inf and NaN gauge values", () => {
    const r = new Registry();
    const g = r.gauge({ name: "g", help: "g", labelNames: ["k"] });
    g.set({ k: "a" }, Infinity);
    g.set({ k: "b" }, -Infinity);
    g.set({ k: "c" }, NaN);
    const lines = r.expose().split("\n").filter((l) => l.startsWith("g{"));
    assert.deepEqual(lines, ['g{k="a"} +Inf', 'g{k="b"} -Inf', 'g{k="c"} NaN']);
    parsePrometheusText(r.expose());
  });
});

describe("Registry.register", () => {
  it("refuses a name registered twice", () => {
    const r = new Registry();
    r.counter({ name: "x_total", help: "x" });
    assert.throws(() => r.gauge({ name: "x_total", help: "x" }), (e: unknown) => e instanceof TypeError && /"x_total" is already registered/.test(e.message));
  });

  it("refuses a sample name that clashes with a histogram's", () => {
    const r = new Registry();
    r.histogram({ name: "lat", help: "l" });
    assert.throws(() => r.counter({ name: "lat_count", help: "c" }), TypeError);
    const r2 = new Registry();
    r2.gauge({ name: "lat_sum", help: "s" });
    assert.throws(() => r2.register(new Histogram({ name: "lat", help: "l" })), TypeError);
  });

  it("unregisters by name and frees the names", () => {
    const r = new Registry();
    r.histogram({ name: "lat", help: "l" });
    assert.equal(r.unregister("lat"), true);
    assert.equal(r.unregister("lat"), false);
    assert.equal(r.get("lat"), undefined);
    r.counter({ name: "lat_count", help: "now free" });
    assert.equal(r.expose(), "# HELP lat_count now free\n# TYPE lat_count counter\nlat_count 0\n");
  });

  it("registers a metric built separately", () => {
    const r = new Registry();
    const c = r.register(new Counter({ name: "ext_total", help: "e" }));
    c.inc(4);
    assert.equal(r.get("ext_total"), c);
    assert.match(r.expose(), /^ext_total 4$/m);
  });
});

describe("name validation", () => {
  for (const name of ["", "1abc", "a-b", "a b", "é", "a.b", "a\n"]) {
    it(`refuses metric name ${JSON.stringify(name)}`, () => {
      assert.throws(() => new Counter({ name, help: "h" }), (e: unknown) => e instanceof TypeError && e.message.startsWith("Invalid metric name"));
    });
  }

  it("accepts colons and underscores in metric names", () => {
    for (const name of ["a:b", "_x", ":y", "tollgate_x_total", "A9"]) new Counter({ name, help: "h" });
  });

  for (const label of ["", "1a", "a-b", "a:b", "__reserved", "é"]) {
    it(`refuses label name ${JSON.stringify(label)}`, () => {
      assert.throws(() => new Counter({ name: "c", help: "h", labelNames: [label] }), (e: unknown) => e instanceof TypeError && e.message.startsWith("Invalid label name"));
    });
  }

  it("refuses a repeated label name and le on a histogram", () => {
    assert.throws(() => new Counter({ name: "c", help: "h", labelNames: ["a", "a"] }), /Duplicate label name "a"/);
    assert.throws(() => new Histogram({ name: "h", help: "h", labelNames: ["le"] }), /reserved/);
    new Counter({ name: "c", help: "h", labelNames: ["le"] }); // only reserved for histograms
  });

  it("needs help text", () => {
    assert.throws(() => new Counter({ name: "c", help: "" }), TypeError);
  });
});

describe("exposition validity", () => {
  it("a populated registry parses strictly, line by line", () => {
    const text = smallRegistry().expose();
    const families = parsePrometheusText(text);
    assert.equal(families.get("req_total")?.help, "Requests \\ with\nnewline.");
    const odd = families.get("req_total")!.samples.find((s) => s.labels.code === "200");
    assert.equal(odd?.labels.path, 'a"b\\c\nd');
    assert.equal(families.get("lat_seconds")?.samples.length, 5);
  });

  it("the test parser rejects invalid lines (so the check can fail)", () => {
    const bad = [
      "x 1\n", // no TYPE
      '# TYPE x counter\nx{a="b"c="d"} 1\n',
      '# TYPE x counter\nx{a="b\\t"} 1\n',
      '# TYPE x counter\nx{a="b} 1\n',
      "# TYPE x counter\nx one\n",
      "# TYPE x counter\nx 1",
      "# TYPE x counter\n# TYPE y counter\nx 1\n",
      '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
      '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n',
    ];
    for (const text of bad) assert.throws(() => parsePrometheusText(text), SyntaxError, text);
  });

  it("label values and help text round-trip through escaping for any string", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), fc.string({ unit: "binary", maxLength: 40 }), (value, help) => {
        const r = new Registry();
        r.counter({ name: "c_total", help: help === "" ? "h" : help, labelNames: ["v"] }).labels(value).inc();
        const families = parsePrometheusText(r.expose());
        const f = families.get("c_total")!;
        assert.equal(f.help, help === "" ? "h" : help);
        assert.equal(f.samples[0]?.labels.v, value);
      }),
      { numRuns: 200 },
    );
  });
});
