import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { HeaderList } from "../../src/protocol/http-headers.ts";

describe("HeaderList", () => {
  const h = new HeaderList([["Host", "example.com"], ["Accept", "a"], ["X-Y", "1"], ["accept", "b"]]);
  it("keeps order and case", () => {
    assert.deepEqual([...h], [["Host", "example.com"], ["Accept", "a"], ["X-Y", "1"], ["accept", "b"]]);
    assert.equal(h.size, 4);
  });
  it("looks up case-insensitively", () => {
    assert.equal(h.get("HOST"), "example.com");
    assert.deepEqual(h.getAll("ACCEPT"), ["a", "b"]);
    assert.equal(h.get("accept"), "a, b");
    assert.equal(h.get("missing"), undefined);
    assert.deepEqual(h.getAll("missing"), []);
    assert.ok(h.has("x-y"));
    assert.ok(!h.has("x-z"));
  });
  it("append, set and delete return new lists", () => {
    const appended = h.append("X-New", "v");
    assert.equal(h.size, 4);
    assert.equal(appended.size, 5);
    assert.deepEqual(appended.entries[4], ["X-New", "v"]);

    const set = h.set("ACCEPT", "c");
    assert.deepEqual([...set], [["Host", "example.com"], ["ACCEPT", "c"], ["X-Y", "1"]]);
    assert.deepEqual([...h.set("Z", "z")].at(-1), ["Z", "z"]);

    assert.deepEqual([...h.delete("accept", "HOST")], [["X-Y", "1"]]);
    assert.deepEqual([...h.filter(([n]) => n === "X-Y")], [["X-Y", "1"]]);
  });
  it("never changes: derived lists are new, and a list does not share the array it was made from", () => {
    const source: [string, string][] = [["A", "1"]];
    const list = new HeaderList(source);
    source[0]![1] = "changed";
    source.push(["B", "2"]);
    assert.deepEqual([...list], [["A", "1"]], "the constructor copies");
    const before = [...h].map(([n, v]) => `${n}: ${v}`);
    h.append("Z", "1");
    h.set("Host", "other");
    h.delete("host");
    h.filter(() => false);
    assert.deepEqual([...h].map(([n, v]) => `${n}: ${v}`), before);
    assert.equal(h.get("host"), "example.com", "lookups after derivations still see the original");
  });
});
