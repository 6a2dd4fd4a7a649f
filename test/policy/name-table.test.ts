import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { hashStep, hashString, NameTable } from "../../src/policy/name-table.ts";

describe("NameTable", () => {
  it("stores ascending rule lists per key and survives growth", () => {
    const t = new NameTable(12345);
    for (let i = 0; i < 5000; i++) t.add(`k${i}.example`, i);
    t.add("k7.example", 6000);
    t.add("k7.example", 6000); // repeat of the last rule is ignored
    t.add("k7.example", 7000);
    assert.equal(t.size, 5000);
    for (let i = 0; i < 5000; i += 97) {
      const k = t.indexOf(`k${i}.example`, hashString(`k${i}.example`, 12345));
      assert.ok(k >= 0);
      assert.equal(t.firstRule(k), i);
      assert.equal(t.key(k), `k${i}.example`);
    }
    assert.equal(t.indexOf("nope", hashString("nope", 12345)), -1);
    const k7 = t.indexOf("k7.example", hashString("k7.example", 12345));
    const seen: number[] = [];
    assert.equal(t.firstPassing(k7, 10000, (r) => (seen.push(r), r > 7)), 6000);
    assert.deepEqual(seen, [7, 6000]);
    assert.equal(t.firstPassing(k7, 6000, (r) => r > 7), -1);
    assert.equal(t.firstPassing(k7, 10000, (r) => r === 7000), 7000);
  });
  it("finds suffixes by a right-to-left hash without slicing", () => {
    const seed = 99;
    const t = new NameTable(seed);
    t.add("example.com", 1);
    t.add("com", 2);
    const name = "a.b.example.com";
    const found: string[] = [];
    let h = seed;
    for (let i = name.length - 1; i >= -1; i--) {
      const c = i >= 0 ? name.charCodeAt(i) : 46;
      if (c === 46) {
        assert.equal(h, hashString(name.slice(i + 1), seed));
        const k = t.indexOfSuffix(name, i + 1, h);
        if (k >= 0) found.push(t.key(k));
      }
      h = hashStep(h, c);
    }
    assert.deepEqual(found, ["com", "example.com"]);
  });
});
