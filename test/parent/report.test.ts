import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parentReport } from "../../src/parent/report.ts";
import { testParent } from "../helpers/parent-proxy.ts";

const NOW = Date.parse("2026-11-23T05:00:00.000Z");

const parent = testParent;

describe("parentReport", () => {
  it("says which parent is in service, and for one passed over until when and why", () => {
    const table = new Map([
      ["corp", parent("corp", { fallback: "backup", authorization: "Basic eDp5", health: { downUntil: NOW + 30_000, lastError: "ECONNREFUSED" } })],
      ["backup", parent("backup")],
      ["back", parent("back", { health: { downUntil: NOW - 1, lastError: "timed out" } })],
      ["edge", parent("edge", { protocol: "socks5", authority: "edge.test:1080", credentials: { username: "gw", password: "s" } })],
    ]);
    assert.deepEqual(parentReport(table, NOW), [
      { name: "corp", address: "corp.test:3128", fallback: "backup", credentials: true, inService: false, downUntil: "2026-11-23T05:00:30.000Z", lastError: "ECONNREFUSED" },
      { name: "backup", address: "backup.test:3128", fallback: null, credentials: false, inService: true, downUntil: null, lastError: null },
      { name: "back", address: "back.test:3128", fallback: null, credentials: false, inService: true, downUntil: null, lastError: "timed out" },
      { name: "edge", address: "edge.test:1080", fallback: null, credentials: true, inService: true, downUntil: null, lastError: null },
    ]);
  });
});
