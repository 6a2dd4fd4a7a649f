import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { USER_AGENT_MAX, userAgentOf } from "../../src/log/user-agent.ts";
import { HeaderList } from "../../src/protocol/http-headers.ts";

describe("userAgentOf", () => {
  it("is the first User-Agent field, or null without one", () => {
    assert.equal(userAgentOf(new HeaderList([["User-Agent", "curl/7.88.1"], ["user-agent", "second"]])), "curl/7.88.1");
    assert.equal(userAgentOf(new HeaderList([["Host", "a.test"]])), null);
  });

  it("keeps a log line bounded: at most 256 characters, a cut one ends in …", () => {
    const long = "x".repeat(10_000);
    const kept = userAgentOf(new HeaderList([["User-Agent", long]]));
    assert.equal(kept?.length, USER_AGENT_MAX);
    assert.ok(kept?.endsWith("…"));
    const exact = "y".repeat(USER_AGENT_MAX);
    assert.equal(userAgentOf(new HeaderList([["User-Agent", exact]])), exact);
  });
});
