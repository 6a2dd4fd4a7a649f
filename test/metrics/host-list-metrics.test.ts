import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { HostListBuilder } from "../../src/policy/host-list.ts";
import { type HostListFigures, registerHostListMetrics } from "../../src/metrics/host-list-metrics.ts";
import { Registry } from "../../src/metrics/registry.ts";

function list(name: string, text: string, parsedAt: number) {
  const b = new HostListBuilder(name, "domains");
  b.add(text, 0);
  return b.finish("", parsedAt);
}

describe("registerHostListMetrics", () => {
  it("exposes each list in force with its entries and when it was parsed, read at scrape time", () => {
    let lists: HostListFigures[] = [
      { list: list("malware", "a.example\nb.example\n# c\n", Date.UTC(2026, 10, 23, 8, 0, 0, 700)), file: "feeds/malware.txt" },
      { list: list("ads", "", Date.UTC(2026, 10, 22)), file: "/etc/ads.txt" },
    ];
    const registry = new Registry();
    registerHostListMetrics(registry, () => lists);
    let text = registry.expose();
    assert.match(text, /^tollgate_host_list_entries\{list="malware",file="feeds\/malware\.txt"\} 2$/m);
    assert.match(text, /^tollgate_host_list_entries\{list="ads",file="\/etc\/ads\.txt"\} 0$/m);
    assert.match(text, new RegExp(`^tollgate_host_list_parsed_timestamp_seconds\\{list="malware",file="feeds/malware\\.txt"\\} ${Date.UTC(2026, 10, 23, 8) / 1000}$`, "m"));
    // a reload dropped "ads": it is gone from the next scrape
    lists = lists.slice(0, 1);
    text = registry.expose();
    assert.doesNotMatch(text, /list="ads"/);
    assert.match(text, /^tollgate_host_list_entries\{list="malware",file="feeds\/malware\.txt"\} 2$/m);
  });
});
