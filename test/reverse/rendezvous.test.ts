import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { hash32, rendezvousOrder } from "../../src/reverse/rendezvous.ts";

const keys = Array.from({ length: 3000 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.${i % 7}`);
const first = (key: string, names: readonly string[]) => rendezvousOrder(key, names, (n) => n)[0]!;

describe("rendezvous hashing", () => {
  it("hash32 is a deterministic unsigned 32-bit value that changes with every input", () => {
    assert.equal(hash32("a"), hash32("a"));
    assert.notEqual(hash32("a"), hash32("b"));
    for (const k of keys.slice(0, 100)) {
      const h = hash32(k);
      assert.ok(Number.isInteger(h) && h >= 0 && h < 2 ** 32);
    }
  });

  it("spreads clients evenly enough over the backends", () => {
    const names = ["a", "b", "c"];
    const counts = new Map(names.map((n) => [n, 0]));
    for (const k of keys) counts.set(first(k, names), counts.get(first(k, names))! + 1);
    for (const [n, c] of counts) assert.ok(c > 3000 * 0.27 && c < 3000 * 0.40, `${n}: ${c} of 3000`);
  });

  it("a backend that goes moves only its own clients; one that comes takes about 1/n and moves no one else", () => {
    const three = ["a", "b", "c"];
    const two = ["a", "c"];
    for (const k of keys) {
      const before = first(k, three);
      if (before !== "b") assert.equal(first(k, two), before, `${k} moved though its backend stayed`);
    }
    const four = ["a", "b", "c", "d"];
    let moved = 0;
    for (const k of keys) {
      const after = first(k, four);
      if (after !== first(k, three)) {
        assert.equal(after, "d", `${k} moved to an old backend`);
        moved++;
      }
    }
    assert.ok(moved > 3000 * 0.18 && moved < 3000 * 0.32, `${moved} of 3000 moved to the new backend`);
  });

  it("the order does not depend on the items' positions", () => {
    for (const k of keys.slice(0, 200)) assert.equal(first(k, ["a", "b", "c"]), first(k, ["c", "a", "b"]));
  });
});
