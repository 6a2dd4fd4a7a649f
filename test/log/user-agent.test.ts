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

  it("shows a UTF-8 name as its text, not double-encoded; bytes that are not UTF-8 as they came", () => {
    // the field as the HTTP parser gives it: one character per byte (latin1)
    const latin1 = (text: string) => String.fromCharCode(...new TextEncoder().encode(text));
    assert.equal(userAgentOf(new HeaderList([["User-Agent", latin1("Navegación/1.0 (日本)")]])), "Navegación/1.0 (日本)");
    assert.equal(userAgentOf(new HeaderList([["User-Agent", "Caf\u00e9/1.0"]])), "Caf\u00e9/1.0", "a lone latin1 byte is not UTF-8");
    assert.equal(userAgentOf(new HeaderList([["User-Agent", "plain/1.0"]])), "plain/1.0");
  });

  it("a long name is cut at a character: no half of a pair outside the BMP", () => {
    const latin1 = (text: string) => String.fromCharCode(...new TextEncoder().encode(text));
    const kept = userAgentOf(new HeaderList([["User-Agent", latin1("a" + "\u{1F600}".repeat(300))]]))!;
    assert.ok(kept.length <= USER_AGENT_MAX && kept.endsWith("…"), String(kept.length));
    assert.equal(kept, "a" + "\u{1F600}".repeat(127) + "…");
    const odd = userAgentOf(new HeaderList([["User-Agent", latin1("\u{1F600}".repeat(300))]]))!;
    assert.equal(odd, "\u{1F600}".repeat(127) + "…", "254 units kept, not 255 (half a pair)");
  });
});
