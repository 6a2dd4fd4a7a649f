import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { countersOnly, mergeExpositions } from "../../src/metrics/merge.ts";
import { createGatewayMetrics } from "../../src/metrics/gateway-metrics.ts";
import { observeRecord } from "../../src/metrics/observe.ts";
import { Registry } from "../../src/metrics/registry.ts";
import { parsePrometheusText } from "./_prom-text.ts";
import { flowRecord } from "./_record.ts";

/** A registry like a gateway process's, with `n` allowed CONNECT flows observed. */
function processText(n: number, generation: number): string {
  const registry = new Registry();
  const metrics = createGatewayMetrics(registry);
  for (let i = 0; i < n; i++) observeRecord(metrics, flowRecord({ bytesUp: 10, bytesDown: 100 }));
  metrics.activeTunnels.labels("all").set(n);
  metrics.configGeneration.set(generation);
  metrics.certMintSeconds.observe(0.002 * (n + 1));
  return registry.expose();
}

const value = (text: string, family: string, sample: string, labels: Record<string, string> = {}) => {
  const fam = parsePrometheusText(text).get(family);
  assert.ok(fam, `family ${family}`);
  const hit = fam.samples.find((s) => s.name === sample && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  assert.ok(hit, `sample ${sample} ${JSON.stringify(labels)}`);
  return hit.value;
};

describe("mergeExpositions", () => {
  it("sums counters, gauges and histograms of real gateway registries and stays valid", () => {
    const merged = mergeExpositions([processText(3, 5), processText(4, 2)], { primaryOnly: new Set(["tollgate_config_generation"]) });
    // the strict parser checks TYPE before samples, families together, cumulative buckets
    const families = parsePrometheusText(merged);
    assert.ok(families.size > 10);
    assert.equal(value(merged, "tollgate_connections_total", "tollgate_connections_total", { decision: "allow" }), 7);
    assert.equal(value(merged, "tollgate_bytes_total", "tollgate_bytes_total", { direction: "up" }), 70);
    assert.equal(value(merged, "tollgate_active_tunnels", "tollgate_active_tunnels", { listener: "all" }), 7);
    assert.equal(value(merged, "tollgate_cert_mint_seconds", "tollgate_cert_mint_seconds_count"), 2);
    assert.equal(value(merged, "tollgate_cert_mint_seconds", "tollgate_cert_mint_seconds_bucket", { le: "+Inf" }), 2);
    // one process's identity: the primary's (first) value, not a sum
    assert.equal(value(merged, "tollgate_config_generation", "tollgate_config_generation"), 5);
  });

  it("merges 'whether' gauges named lowest by their lowest value: 0 in any process is 0", () => {
    const up = (corp: number, branch: number) => `# TYPE p_up gauge\np_up{parent="corp"} ${corp}\np_up{parent="branch"} ${branch}\n`;
    const merged = mergeExpositions([up(1, 1), up(1, 0), up(1, 1)], { lowest: new Set(["p_up"]) });
    assert.equal(merged, '# TYPE p_up gauge\np_up{parent="corp"} 1\np_up{parent="branch"} 0\n');
    assert.equal(mergeExpositions([up(1, 1), up(1, 0)]), '# TYPE p_up gauge\np_up{parent="corp"} 2\np_up{parent="branch"} 1\n', "summed without it");
  });

  it("countersOnly keeps counters and histograms with their HELP and TYPE, and drops gauges", () => {
    const text = processText(3, 5);
    const kept = countersOnly(text);
    const families = parsePrometheusText(kept);
    assert.ok(families.has("tollgate_connections_total"));
    assert.ok(families.has("tollgate_cert_mint_seconds"));
    assert.ok(!families.has("tollgate_active_tunnels"));
    assert.ok(!families.has("tollgate_config_generation"));
    assert.ok([...families.values()].every((f) => f.type === "counter" || f.type === "histogram"));
    assert.equal(value(kept, "tollgate_connections_total", "tollgate_connections_total", { decision: "allow" }), 3);
    assert.equal(countersOnly(""), "");
  });

  it("keeps one HELP and TYPE per family and samples only some processes have", () => {
    const a = "# HELP x_total X.\n# TYPE x_total counter\nx_total{k=\"a\"} 1\n";
    const b = "# HELP x_total X.\n# TYPE x_total counter\nx_total{k=\"b\"} 2\nx_total{k=\"a\"} 3\n# HELP y Y.\n# TYPE y gauge\ny 4\n";
    assert.equal(
      mergeExpositions([a, b]),
      "# HELP x_total X.\n# TYPE x_total counter\nx_total{k=\"a\"} 4\nx_total{k=\"b\"} 2\n# HELP y Y.\n# TYPE y gauge\ny 4\n",
    );
  });

  it("reads label values with spaces and braces, and special values", () => {
    const a = "# TYPE h histogram\nh_bucket{le=\"+Inf\",path=\"/a b}\"} 2\nh_sum NaN\n";
    const merged = mergeExpositions([a, a]);
    assert.match(merged, /h_bucket\{le="\+Inf",path="\/a b\}"\} 4\n/);
    assert.match(merged, /h_sum NaN\n/);
  });

  it("throws SyntaxError on an unreadable sample line", () => {
    assert.throws(() => mergeExpositions(["x_total one\n"]), SyntaxError);
    assert.throws(() => mergeExpositions(["not a sample\n"]), SyntaxError);
  });

  it("gives nothing for nothing", () => {
    assert.equal(mergeExpositions([]), "");
    assert.equal(mergeExpositions(["", ""]), "");
  });
});
