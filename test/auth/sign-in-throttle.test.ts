import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SignInThrottle, type SignInThrottled } from "../../src/auth/sign-in-throttle.ts";

const refused = (a: ReturnType<SignInThrottle["attempt"]>): SignInThrottled => {
  assert.equal(a.ok, false, "expected a refusal");
  return a as SignInThrottled;
};

describe("SignInThrottle", () => {
  it("limits failures in one name from many addresses, in any case; other names are not held", () => {
    let t = 0;
    const throttle = new SignInThrottle({ burst: 100, perMinute: 100, perUser: { burst: 3, perHour: 12 } }, () => t);
    for (const [i, name] of ["alice", "Alice", "ALICE"].entries()) assert.equal(throttle.attempt(name, `192.0.2.${i + 1}`).ok, true);
    const r = refused(throttle.attempt("alice", "198.51.100.9"));
    assert.equal(r.by, "user");
    assert.equal(r.retryAfterMs, 300_000, "12 an hour: one every 5 minutes");
    assert.match(r.reason, /^too many failed sign-ins for user "alice" \(limit 3, then 12 an hour, from all addresses\); not checked, retry after 300 s$/);
    assert.equal(throttle.attempt("bob", "198.51.100.9").ok, true, "another name has its own allowance");
    t += 300_000;
    assert.equal(throttle.attempt("alice", "198.51.100.9").ok, true, "one failure's worth back after 5 minutes");
    assert.equal(throttle.attempt("alice", "198.51.100.10").ok, false);
  });

  it("a refusal for the name costs the address nothing; the address limit comes first", () => {
    const throttle = new SignInThrottle({ burst: 2, perMinute: 6, perUser: { burst: 1, perHour: 1 } }, () => 0);
    assert.equal(throttle.attempt("alice", "192.0.2.7").ok, true);
    for (let i = 0; i < 5; i++) assert.equal(refused(throttle.attempt("alice", "192.0.2.7")).by, "user");
    assert.equal(throttle.attempt("bob", "192.0.2.7").ok, true, "the address still has its second try");
    const r = refused(throttle.attempt("carol", "192.0.2.7"));
    assert.equal(r.by, "address");
    assert.match(r.reason, /^too many failed sign-ins from 192\.0\.2\.7 \(limit 2, then 6 a minute\); not checked, retry after 10 s$/);
  });

  it("an address the name signed in from stays free of the name's limit (no lock-out by failing in someone's name), held by its own", () => {
    let t = 0;
    const throttle = new SignInThrottle({ burst: 3, perMinute: 1, perUser: { burst: 1, perHour: 1 } }, () => t);
    const first = throttle.attempt("alice", "192.0.2.7");
    assert.ok(first.ok);
    first.succeeded();
    // an attacker spends alice's allowance from elsewhere
    assert.equal(throttle.attempt("alice", "203.0.113.1").ok, true);
    assert.equal(refused(throttle.attempt("alice", "203.0.113.2")).by, "user");
    // alice, from where she signed in before (any address of its IPv6 /64 likewise), may still try: a typo, then the right one
    assert.equal(throttle.attempt("ALICE", "192.0.2.7").ok, true);
    const again = throttle.attempt("alice", "192.0.2.7");
    assert.ok(again.ok);
    again.succeeded();
    // … but that address's own allowance still holds: 3 at once, the success given back
    assert.equal(throttle.attempt("alice", "192.0.2.7").ok, true);
    assert.equal(throttle.attempt("alice", "192.0.2.7").ok, true);
    assert.equal(refused(throttle.attempt("alice", "192.0.2.7")).by, "address");
    // familiar to alice only
    t += 60_000 * 3; // the address's allowance back
    assert.equal(throttle.attempt("bob", "203.0.113.3").ok, true);
    assert.equal(refused(throttle.attempt("bob", "192.0.2.7")).by, "user");
  });

  it("an address stays familiar for 30 days after the last sign-in", () => {
    let t = 0;
    const throttle = new SignInThrottle({ burst: 1000, perMinute: 1000, perUser: { burst: 1, perHour: 1 } }, () => t);
    const ok = throttle.attempt("alice", "2001:db8:1:2::1");
    assert.ok(ok.ok);
    ok.succeeded();
    assert.equal(throttle.attempt("alice", "2001:db8:1:2::ffff").ok, true, "same /64: familiar");
    assert.equal(throttle.attempt("alice", "2001:db8:1:3::1").ok, false, "another /64: held");
    t += 30 * 24 * 3600_000 - 1;
    assert.equal(throttle.attempt("alice", "2001:db8:1:2::1").ok, true);
    t += 2;
    assert.equal(refused(throttle.attempt("alice", "2001:db8:1:2::1")).by, "user", "forgotten after 30 days");
  });

  it("successes and checks not made give back what they took; failures keep it", () => {
    const throttle = new SignInThrottle({ burst: 1, perMinute: 1, perUser: { burst: 1, perHour: 1 } }, () => 0);
    for (let i = 0; i < 3; i++) {
      const a = throttle.attempt("alice", "192.0.2.7");
      assert.ok(a.ok);
      a.uncounted();
    }
    assert.equal(throttle.attempt("alice", "192.0.2.7").ok, true, "a failure");
    assert.equal(throttle.attempt("bob", "192.0.2.7").ok, false, "the address is spent");
    assert.equal(throttle.attempt("alice", "192.0.2.8").ok, false, "so is the name");
  });

  it("a name longer than any user's has no bucket of its own (the memory stays bounded); the address still holds it", () => {
    const throttle = new SignInThrottle({ burst: 3, perMinute: 1, perUser: { burst: 1, perHour: 1 } }, () => 0);
    const long = "x".repeat(65);
    assert.equal(throttle.attempt(long, "192.0.2.7").ok, true);
    assert.equal(throttle.attempt(long, "192.0.2.8").ok, true);
    assert.equal(throttle.attempt("x".repeat(64), "192.0.2.9").ok, true);
    assert.equal(throttle.attempt("x".repeat(64), "192.0.2.10").ok, false);
  });
});
