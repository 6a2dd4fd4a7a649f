import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { clientRateKey, RateLimiter } from "../../src/policy/rate-limiter.ts";

/** A limiter on a clock the test moves. */
function limiter(perSecond: number, burst: number, maxKeys?: number) {
  let t = 1_000;
  const l = new RateLimiter({ perSecond, burst }, { now: () => t, ...(maxKeys === undefined ? {} : { maxKeys }) });
  return { l, advance: (ms: number) => (t += ms) };
}

const okCount = (l: RateLimiter, key: string, n: number) => Array.from({ length: n }, () => l.take(key)).filter((v) => v.ok).length;

describe("RateLimiter (token buckets)", () => {
  it("lets a burst through at once, then refuses with the time until the next token", () => {
    const { l } = limiter(10, 20);
    assert.equal(okCount(l, "a", 20), 20);
    assert.deepEqual(l.take("a"), { ok: false, retryAfterMs: 100 });
  });

  it("refills at the rate, never past the burst", () => {
    const { l, advance } = limiter(10, 5);
    assert.equal(okCount(l, "a", 5), 5);
    advance(250); // 2.5 tokens
    assert.equal(okCount(l, "a", 5), 2);
    assert.deepEqual(l.take("a"), { ok: false, retryAfterMs: 50 });
    advance(60_000);
    assert.equal(okCount(l, "a", 10), 5);
  });

  it("supports rates below one per second", () => {
    const { l, advance } = limiter(0.5, 1);
    assert.equal(l.take("a").ok, true);
    assert.deepEqual(l.take("a"), { ok: false, retryAfterMs: 2000 });
    advance(1999);
    assert.equal(l.take("a").ok, false);
    advance(1);
    assert.equal(l.take("a").ok, true);
  });

  it("keeps a bucket per key", () => {
    const { l } = limiter(1, 2);
    assert.equal(okCount(l, "a", 3), 2);
    assert.equal(okCount(l, "b", 3), 2);
    assert.equal(l.size, 2);
  });

  it("holds at most maxKeys buckets, dropping the least recently used (which starts full again)", () => {
    const { l } = limiter(1, 1, 2);
    l.take("a");
    l.take("b");
    l.take("a"); // refused, but "a" is now the most recent
    l.take("c"); // drops "b"
    assert.equal(l.size, 2);
    assert.equal(l.take("a").ok, false, "a kept its empty bucket");
    assert.equal(l.take("b").ok, true, "b was dropped and starts full");
  });

  it("a clock that goes back adds no tokens", () => {
    const { l, advance } = limiter(1, 1);
    l.take("a");
    advance(-5000);
    assert.equal(l.take("a").ok, false);
  });

  it("refund gives a token back, never past the burst", () => {
    const { l } = limiter(0.001, 2);
    l.take("a");
    l.take("a");
    l.refund("a");
    assert.equal(l.take("a").ok, true);
    assert.equal(l.take("a").ok, false);
    l.refund("b"); // no bucket: nothing to give back
    assert.equal(okCount(l, "b", 3), 2);
  });

  it("clientRateKey: IPv4 as is, IPv6 by its /64, IPv4-mapped as IPv4", () => {
    assert.equal(clientRateKey("192.0.2.7"), "192.0.2.7");
    assert.equal(clientRateKey("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
    assert.equal(clientRateKey("2001:DB8:1:2::1"), "2001:db8:1:2::/64");
    assert.equal(clientRateKey("::ffff:192.0.2.7"), "192.0.2.7");
    assert.equal(clientRateKey("not an address"), "not an address");
  });
  it("clientRateKey: other IPv6 forms, and text it does not parse, keep their keys", () => {
    assert.equal(clientRateKey("::FFFF:c000:207"), "192.0.2.7");
    assert.equal(clientRateKey("::192.0.2.7"), "::/64", "IPv4-compatible is IPv6 here");
    assert.equal(clientRateKey("64:ff9b::c000:207"), "64:ff9b::/64");
    assert.equal(clientRateKey("::1"), "::/64");
    assert.equal(clientRateKey("2001:db8:0:0:1::"), "2001:db8::/64");
    assert.equal(clientRateKey("2001:db8:1:ffff:ffff::"), "2001:db8:1:ffff::/64", "the host half is cleared, not read as mapped");
    // brackets and zone ids are not stripped: such text is its own key, as ever
    assert.equal(clientRateKey("[2001:db8::1]"), "[2001:db8::1]");
    assert.equal(clientRateKey("fe80::1%eth0"), "fe80::1%eth0");
    assert.equal(clientRateKey("010.0.0.1"), "010.0.0.1");
  });
  it("clientRateKey: a key does not depend on the address before it", () => {
    const texts = ["2001:db8:1:2::1", "192.0.2.7", "::ffff:10.0.0.1", "2001:db8:9::1", "fe80::1%eth0", "2001:db8:1:2::ffff"];
    const once = texts.map(clientRateKey);
    assert.deepEqual([...texts].reverse().map(clientRateKey).reverse(), once);
    assert.deepEqual(once, ["2001:db8:1:2::/64", "192.0.2.7", "10.0.0.1", "2001:db8:9::/64", "fe80::1%eth0", "2001:db8:1:2::/64"]);
  });

  it("refuses a rate or burst out of range", () => {
    assert.throws(() => new RateLimiter({ perSecond: 0, burst: 1 }), RangeError);
    assert.throws(() => new RateLimiter({ perSecond: Infinity, burst: 1 }), RangeError);
    assert.throws(() => new RateLimiter({ perSecond: 1, burst: 0 }), RangeError);
    assert.throws(() => new RateLimiter({ perSecond: 1, burst: 1.5 }), RangeError);
  });

  it("never lets more through in any window than burst + rate × window (property)", () => {
    fc.assert(fc.property(
      fc.double({ min: 0.01, max: 1000, noNaN: true }),
      fc.integer({ min: 1, max: 50 }),
      fc.array(fc.tuple(fc.integer({ min: 0, max: 500 }), fc.constantFrom("a", "b")), { minLength: 1, maxLength: 300 }),
      (perSecond, burst, steps) => {
        const { l, advance } = limiter(perSecond, burst);
        const accepted: Record<string, number[]> = { a: [], b: [] };
        let now = 0;
        for (const [dt, key] of steps) {
          advance(dt);
          now += dt;
          const v = l.take(key);
          if (v.ok) accepted[key]!.push(now);
          else assert.ok(v.retryAfterMs >= 1 && v.retryAfterMs <= Math.ceil(1000 / perSecond));
        }
        for (const times of Object.values(accepted)) {
          for (let i = 0; i < times.length; i++) {
            for (let j = i; j < times.length; j++) {
              const allowed = burst + (perSecond * (times[j]! - times[i]!)) / 1000;
              assert.ok(j - i + 1 <= allowed + 1e-9, `${j - i + 1} accepted in ${times[j]! - times[i]!} ms (burst ${burst}, ${perSecond}/s)`);
            }
          }
        }
      },
    ), { numRuns: 300 });
  });
});
