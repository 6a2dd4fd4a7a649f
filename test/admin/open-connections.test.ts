import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  DEFAULT_CONNECTIONS_LIMIT,
  fitOpen,
  mergeOpen,
  parseConnectionQuery,
  processOf,
  selectOpen,
} from "../../src/admin/open-connections.ts";
import { openFlow } from "./_fake-state.ts";

const query = (params: Record<string, string> = {}) => parseConnectionQuery((name) => params[name]);
const at = (minute: number) => `2026-11-23T10:${String(minute).padStart(2, "0")}:00.000Z`;

describe("parseConnectionQuery", () => {
  it("defaults: every connection, the longest open first, the default limit", () => {
    assert.deepEqual(query(), { filter: {}, sort: "age", limit: DEFAULT_CONNECTIONS_LIMIT });
  });

  it("keeps the flow filter's parameters as given, with an order and a limit", () => {
    assert.deepEqual(query({ host: "*.example.com", user: "alice", sort: "bytes", limit: "5", other: "x" }), {
      filter: { host: "*.example.com", user: "alice" },
      sort: "bytes",
      limit: 5,
    });
  });

  it("names the parameter of a bad value", () => {
    assert.throws(() => query({ sort: "size" }), /query parameter "sort" must be one of "age", "bytes", got "size"/);
    assert.throws(() => query({ limit: "0" }), /query parameter "limit" must be an integer 1-10000, got "0"/);
    assert.throws(() => query({ limit: "10001" }), /"limit"/);
    assert.throws(() => query({ limit: "1e3" }), /"limit"/);
    assert.throws(() => query({ client: "not-an-ip" }), /query parameter "client" must be an IP address or CIDR/);
    assert.throws(() => query({ host: "" }), /query parameter "host"/);
  });
});

describe("selectOpen and mergeOpen", () => {
  const flows = [
    openFlow("0-3", { host: "b.example.com", since: at(3), bytesUp: 10, bytesDown: 10 }),
    openFlow("0-1", { host: "a.example.com", since: at(1), bytesUp: 5, bytesDown: 0 }),
    openFlow("0-2", { host: "other.test", since: at(2), bytesUp: 0, bytesDown: 900 }),
  ];

  it("filters, orders by age (ties by id) or by bytes moved, and counts every match", () => {
    assert.deepEqual(selectOpen(flows, query()).connections.map((f) => f.id), ["0-1", "0-2", "0-3"]);
    assert.deepEqual(selectOpen(flows, query({ sort: "bytes" })).connections.map((f) => f.id), ["0-2", "0-3", "0-1"]);
    const some = selectOpen(flows, query({ host: "*.example.com", limit: "1" }));
    assert.deepEqual(some.connections.map((f) => f.id), ["0-1"]);
    assert.equal(some.total, 2, "matches beyond the limit still counted");
    const tie = [openFlow("0-10", { since: at(5) }), openFlow("0-9", { since: at(5) })];
    assert.deepEqual(selectOpen(tie, query()).connections.map((f) => f.id), ["0-10", "0-9"], "ties by id text");
    assert.equal(flows[0]!.id, "0-3", "the input is not reordered");
  });

  it("merges the processes' selections in order, cut at the limit, totals summed", () => {
    const worker = [openFlow("1-1", { since: at(0), bytesUp: 1, bytesDown: 0 }), openFlow("1-2", { since: at(4), bytesUp: 0, bytesDown: 5000 })];
    const q = query({ limit: "3" });
    const merged = mergeOpen([selectOpen(flows, q), selectOpen(worker, q)], q);
    assert.deepEqual(merged.connections.map((f) => f.id), ["1-1", "0-1", "0-2"]);
    assert.equal(merged.total, 5);
    const byBytes = query({ sort: "bytes", limit: "2" });
    assert.deepEqual(mergeOpen([selectOpen(flows, byBytes), selectOpen(worker, byBytes)], byBytes).connections.map((f) => f.id), ["1-2", "0-2"]);
  });
});

describe("fitOpen", () => {
  it("cuts a selection to what fits in a line's budget, keeping the total", () => {
    const flows = Array.from({ length: 10 }, (_, i) => openFlow(`1-${i}`, { reason: "x".repeat(1000) }));
    const one = JSON.stringify(flows[0]).length + 1;
    const all = { connections: flows, total: 25 };
    assert.equal(fitOpen(all, one * 10), all, "all fit: the same selection");
    const cut = fitOpen(all, one * 3 + 5);
    assert.deepEqual(cut.connections.map((f) => f.id), ["1-0", "1-1", "1-2"]);
    assert.equal(cut.total, 25);
    assert.deepEqual(fitOpen(all, 10).connections, []);
  });
});

describe("processOf", () => {
  it("reads the process of an id, and nothing else as an id", () => {
    assert.equal(processOf("0-17"), 0);
    assert.equal(processOf("12-1"), 12);
    for (const bad of ["", "17", "a-1", "1-", "-1", "1-2-3", "1-2 ", "12345-1", "1-1234567890123456"]) {
      assert.equal(processOf(bad), undefined, JSON.stringify(bad));
    }
  });
});
