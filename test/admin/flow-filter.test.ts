import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { FeedRecord } from "../../src/admin/flow-feed.ts";
import { FLOW_FILTER_PARAMS, type FlowFilterParam, parseFlowFilter } from "../../src/admin/flow-filter.ts";
import { flowRecord, requestRecord } from "../metrics/_record.ts";

const filter = (query: Partial<Record<FlowFilterParam, string>>) => parseFlowFilter((name) => query[name]);

const RECORDS: readonly FeedRecord[] = [
  flowRecord({ host: "a.example.com", client: "10.0.0.5:4000", user: "alice", decision: "allow", rule: "web", status: 200, parent: "corp" }),
  flowRecord({ host: "example.com", client: "10.0.1.9:4001", user: "bob", decision: "deny", rule: "block", status: 403, listener: "edge", durationMs: 800 }),
  flowRecord({ host: null, port: null, client: "[2001:db8::7]:4002", decision: null, rule: null, status: 400, kind: "invalid" }),
  flowRecord({ host: "192.0.2.10", client: "192.168.1.1:4003", status: null, mode: "transparent" }),
  requestRecord({ host: "b.example.com", client: "10.0.0.6:4004", user: "alice", decision: "deny", rule: "no-admin", status: 403 }),
  requestRecord({ host: "b.example.com", client: "10.0.0.6:4004", user: "alice", status: 502, requestId: "5c1f0b6e-2a4d-4e8b-9d3e-8f1f2b7c4a90", backend: "http://10.0.0.1:80", durationMs: 1500 }),
];

/** Indexes of the records the query keeps. */
function kept(query: Partial<Record<FlowFilterParam, string>>): number[] {
  const f = filter(query);
  assert.ok(f, "a filter for a non-empty query");
  return RECORDS.flatMap((r, i) => (f(r) ? [i] : []));
}

describe("parseFlowFilter", () => {
  it("is undefined when no parameter is given", () => {
    assert.equal(filter({}), undefined);
  });

  it("matches each field as documented", () => {
    assert.deepEqual(kept({ type: "request" }), [4, 5]);
    assert.deepEqual(kept({ type: "flow" }), [0, 1, 2, 3]);
    assert.deepEqual(kept({ decision: "deny" }), [1, 4]);
    assert.deepEqual(kept({ decision: "none" }), [2]);
    assert.deepEqual(kept({ user: "alice" }), [0, 4, 5]);
    assert.deepEqual(kept({ listener: "edge" }), [1]);
    assert.deepEqual(kept({ mode: "transparent" }), [3]);
    assert.deepEqual(kept({ rule: "no-admin" }), [4]);
    assert.deepEqual(kept({ parent: "corp" }), [0]);
    assert.deepEqual(kept({ parent: "direct" }), [1, 2, 3], "flow lines only");
    assert.deepEqual(kept({ requestId: "5c1f0b6e-2a4d-4e8b-9d3e-8f1f2b7c4a90" }), [5]);
    assert.deepEqual(kept({ backend: "http://10.0.0.1:80" }), [5]);
    assert.deepEqual(kept({ backend: "http://10.0.0.1" }), [], "exactly as logged");
  });

  it("minDurationMs keeps records at least that long", () => {
    assert.deepEqual(kept({ minDurationMs: "800" }), [1, 5]);
    assert.deepEqual(kept({ minDurationMs: "801" }), [5]);
    assert.deepEqual(kept({ minDurationMs: "0" }), [0, 1, 2, 3, 4, 5]);
  });

  it("host takes the policy's patterns: exact, *.suffix, .domain, IP, CIDR", () => {
    assert.deepEqual(kept({ host: "example.com" }), [1]);
    assert.deepEqual(kept({ host: "EXAMPLE.com." }), [1], "normalised like a rule's pattern");
    assert.deepEqual(kept({ host: "*.example.com" }), [0, 4, 5]);
    assert.deepEqual(kept({ host: ".example.com" }), [0, 1, 4, 5]);
    assert.deepEqual(kept({ host: "192.0.2.10" }), [3]);
    assert.deepEqual(kept({ host: "192.0.2.0/24" }), [3]);
    assert.deepEqual(kept({ host: "*" }), [0, 1, 3, 4, 5], "a record without a host never matches");
  });

  it("client takes an address or a CIDR, IPv4 and IPv6", () => {
    assert.deepEqual(kept({ client: "10.0.0.0/24" }), [0, 4, 5]);
    assert.deepEqual(kept({ client: "10.0.1.9" }), [1]);
    assert.deepEqual(kept({ client: "2001:db8::/32" }), [2]);
  });

  it("status takes a code or a class", () => {
    assert.deepEqual(kept({ status: "403" }), [1, 4]);
    assert.deepEqual(kept({ status: "4xx" }), [1, 2, 4]);
    assert.deepEqual(kept({ status: "5xx" }), [5]);
    assert.deepEqual(kept({ status: "2xx" }), [0]);
  });

  it("every parameter given must match", () => {
    assert.deepEqual(kept({ user: "alice", decision: "deny" }), [4]);
    assert.deepEqual(kept({ user: "alice", type: "flow", host: "*.example.com" }), [0]);
    assert.deepEqual(kept({ user: "bob", client: "10.0.0.0/24" }), []);
  });

  it("refuses bad values with an error naming the parameter", () => {
    const bad: [FlowFilterParam, string, RegExp][] = [
      ["type", "flows", /"type" must be "flow" or "request"/],
      ["decision", "Deny", /"decision" must be "allow", "deny" or "none"/],
      ["host", "*foo", /"host" must be a host pattern/],
      ["host", "exa mple.com", /"host" must be a host pattern/],
      ["client", "example.com", /"client" must be an IP address or CIDR/],
      ["client", "10.0.0.0/33", /"client" must be an IP address or CIDR/],
      ["minDurationMs", "1.5", /"minDurationMs" must be a whole number of milliseconds/],
      ["minDurationMs", "-1", /"minDurationMs" must be a whole number of milliseconds/],
      ["status", "600", /"status" must be a status/],
      ["status", "4XX", /"status" must be a status/],
      ["status", "40", /"status" must be a status/],
      ["user", "", /"user" must be 1-256 characters/],
      ["rule", "r".repeat(257), /"rule" must be 1-256 characters/],
    ];
    for (const [name, value, message] of bad) assert.throws(() => filter({ [name]: value }), message, `${name}=${value}`);
  });

  it("names every parameter it reads", () => {
    const asked: string[] = [];
    parseFlowFilter((name) => void asked.push(name));
    assert.deepEqual(asked, [...FLOW_FILTER_PARAMS]);
  });
});
