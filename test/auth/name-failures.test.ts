import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { NameFailures } from "../../src/auth/name-failures.ts";

const MIN = 60_000;

/** `n` failed checks in `name`. */
function fail(f: NameFailures, name: string, n: number): void {
  for (let i = 0; i < n; i++) {
    assert.equal(f.begin(name).ok, true, `failure ${i + 1} of ${name} allowed`);
    f.end(name, true);
  }
}

describe("NameFailures", () => {
  it("counts like a directory's lockout: after `failures`, none until resetMinutes pass without one; then from 0", () => {
    let t = 0;
    const f = new NameFailures({ failures: 4, resetMinutes: 15 }, () => t);
    fail(f, "alice", 3);
    t += 10 * MIN;
    fail(f, "alice", 1); // within 15 minutes of the last: still counted with the others
    const refused = f.begin("alice");
    assert.deepEqual(refused, { ok: false, retryAfterMs: 15 * MIN });
    t += 15 * MIN - 1;
    assert.equal(f.begin("alice").ok, false);
    t += 1;
    fail(f, "alice", 4); // a fresh count: a directory with threshold 5 and a 15-minute reset never sees a fifth
    assert.equal(f.begin("alice").ok, false);
    assert.equal(f.begin("bob").ok, true, "each name its own");
  });

  it("a success ends nothing but itself: failures before it still count", () => {
    const f = new NameFailures({ failures: 2, resetMinutes: 15 }, () => 0);
    fail(f, "alice", 1);
    assert.equal(f.begin("alice").ok, true);
    f.end("alice", false);
    fail(f, "alice", 1);
    assert.equal(f.begin("alice").ok, false);
  });

  it("checks under way count until they end, so concurrent guesses cannot overshoot", () => {
    const f = new NameFailures({ failures: 2, resetMinutes: 15 }, () => 0);
    assert.equal(f.begin("alice").ok, true);
    assert.equal(f.begin("alice").ok, true);
    assert.deepEqual(f.begin("alice"), { ok: false, retryAfterMs: 1000 }, "spent by checks under way: ask again soon");
    f.end("alice", false); // one was right
    assert.equal(f.begin("alice").ok, true);
  });

  it("keeps no entry for a name without failures (checks not made, successes)", () => {
    const f = new NameFailures({ failures: 2, resetMinutes: 15 }, () => 0);
    for (let i = 0; i < 100; i++) {
      assert.equal(f.begin(`junk${i}`).ok, true);
      f.end(`junk${i}`, false);
    }
    assert.equal(f.size, 0);
  });

  it("a full table of spent names refuses a new name's check rather than drop one; entries with checks under way stay", () => {
    const t = 0;
    const f = new NameFailures({ failures: 2, resetMinutes: 15 }, () => t, 3);
    fail(f, "alice", 2);
    fail(f, "junk1", 2);
    assert.equal(f.begin("busy").ok, true); // under way, no failure yet
    assert.deepEqual(f.begin("junk2"), { ok: false, retryAfterMs: 1000 });
    assert.equal(f.begin("alice").ok, false, "alice is still spent");
    f.end("busy", true);
    assert.equal(f.size, 3);
  });

  it("beginAnyway (a familiar address) goes past the limit but counts, keeping the window open as the directory's", () => {
    let t = 0;
    const f = new NameFailures({ failures: 2, resetMinutes: 15 }, () => t);
    fail(f, "alice", 2);
    t += 10 * MIN;
    f.beginAnyway("alice");
    f.end("alice", true);
    t += 5 * MIN; // 15 minutes after the first failures, 5 after the last
    assert.deepEqual(f.begin("alice"), { ok: false, retryAfterMs: 10 * MIN });
    t += 10 * MIN;
    assert.equal(f.begin("alice").ok, true);
  });

  it("beginAnyway in a new name with a table full of spent names goes past the size rather than free a spent name", () => {
    const f = new NameFailures({ failures: 2, resetMinutes: 15 }, () => 0, 2);
    fail(f, "victim", 2); // spent, the oldest entry
    fail(f, "junk", 2); // spent: the table is full of spent names
    assert.deepEqual(f.begin("mallory"), { ok: false, retryAfterMs: 1000 });
    // mallory's own address, familiar: the check goes ahead and its failure counts
    f.beginAnyway("mallory");
    f.end("mallory", true);
    assert.equal(f.size, 3);
    assert.equal(f.begin("victim").ok, false, "victim is still spent");
    assert.equal(f.begin("junk").ok, false);
  });

  it("bounded: a full table drops an expired entry, else the fewest failures among the oldest, never a spent name for one-failure junk", () => {
    let t = 0;
    const f = new NameFailures({ failures: 3, resetMinutes: 15 }, () => t, 100);
    fail(f, "alice", 3); // the oldest entry, spent
    for (let i = 0; i < 500; i++) fail(f, `junk${i}`, 1);
    assert.equal(f.size, 100);
    assert.equal(f.begin("alice").ok, false, "alice is still spent");
    t += 15 * MIN;
    assert.equal(f.begin("alice").ok, true, "15 minutes without a failure: a fresh count");
    f.end("alice", false);
    for (let i = 0; i < 99; i++) fail(f, `later${i}`, 1);
    assert.equal(f.size, 100, "expired entries made room");
  });
});
