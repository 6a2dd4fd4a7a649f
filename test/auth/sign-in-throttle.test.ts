import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SignInThrottle, type SignInThrottled } from "../../src/auth/sign-in-throttle.ts";

const MIN = 60_000;

const refused = (a: ReturnType<SignInThrottle["attempt"]>): SignInThrottled => {
  assert.equal(a.ok, false, "expected a refusal");
  return a as SignInThrottled;
};

/** A check that failed (a wrong password). */
function failed(throttle: SignInThrottle, name: string, client: string): void {
  const a = throttle.attempt(name, client);
  assert.ok(a.ok, `${name} from ${client} should be checked`);
  a.failed();
}

describe("SignInThrottle", () => {
  it("without perUser, only the address is limited", () => {
    const throttle = new SignInThrottle({ burst: 1000, perMinute: 10 }, () => 0);
    for (let i = 0; i < 50; i++) failed(throttle, "alice", `192.0.2.${i}`);
  });

  it("limits failures in one name from many addresses, in any case; other names are not held", () => {
    const throttle = new SignInThrottle({ burst: 100, perMinute: 100, perUser: { failures: 3, resetMinutes: 15 } }, () => 0);
    for (const [i, name] of ["alice", "Alice", "ALICE"].entries()) failed(throttle, name, `192.0.2.${i + 1}`);
    const r = refused(throttle.attempt("alice", "198.51.100.9"));
    assert.equal(r.by, "user");
    assert.equal(r.retryAfterMs, 15 * MIN);
    assert.match(r.reason, /^too many failed sign-ins for user "alice" \(limit 3, then none until 15 minutes pass without one\); not checked, retry after 900 s$/);
    assert.equal(throttle.attempt("bob", "198.51.100.9").ok, true, "another name has its own allowance");
  });

  it("a refusal for the name costs the address nothing; the address limit comes first", () => {
    const throttle = new SignInThrottle({ burst: 2, perMinute: 6, perUser: { failures: 1, resetMinutes: 15 } }, () => 0);
    failed(throttle, "alice", "192.0.2.7");
    for (let i = 0; i < 5; i++) assert.equal(refused(throttle.attempt("alice", "192.0.2.7")).by, "user");
    failed(throttle, "bob", "192.0.2.7"); // the address's second try
    const r = refused(throttle.attempt("carol", "192.0.2.7"));
    assert.equal(r.by, "address");
    assert.match(r.reason, /^too many failed sign-ins from 192\.0\.2\.7 \(limit 2, then 6 a minute\); not checked, retry after 10 s$/);
  });

  it("an address the name signed in from stays free of the name's limit (no lock-out by failing in someone's name), held by its own", () => {
    let t = 0;
    const throttle = new SignInThrottle({ burst: 3, perMinute: 1, perUser: { failures: 1, resetMinutes: 15 } }, () => t);
    const first = throttle.attempt("alice", "192.0.2.7");
    assert.ok(first.ok);
    first.succeeded();
    failed(throttle, "alice", "203.0.113.1"); // an attacker spends alice's allowance from elsewhere
    assert.equal(refused(throttle.attempt("alice", "203.0.113.2")).by, "user");
    // alice, from where she signed in before: a typo, then the right one
    failed(throttle, "ALICE", "192.0.2.7");
    const again = throttle.attempt("alice", "192.0.2.7");
    assert.ok(again.ok);
    again.succeeded();
    // … but that address's own allowance still holds: 3 at once, the success given back
    failed(throttle, "alice", "192.0.2.7");
    failed(throttle, "alice", "192.0.2.7");
    assert.equal(refused(throttle.attempt("alice", "192.0.2.7")).by, "address");
    // familiar to alice only
    t += 3 * MIN; // the address's allowance back; alice's name still spent
    failed(throttle, "bob", "203.0.113.3");
    assert.equal(refused(throttle.attempt("bob", "192.0.2.7")).by, "user");
  });

  it("a familiar address's failures still count in the name: the name stays spent as long as the directory's count runs", () => {
    let t = 0;
    const throttle = new SignInThrottle({ burst: 100, perMinute: 100, perUser: { failures: 2, resetMinutes: 15 } }, () => t);
    const ok = throttle.attempt("alice", "192.0.2.7");
    assert.ok(ok.ok);
    ok.succeeded();
    failed(throttle, "alice", "203.0.113.1");
    failed(throttle, "alice", "203.0.113.2");
    t += 10 * MIN;
    failed(throttle, "alice", "192.0.2.7"); // alice's typo: not refused, but counted
    t += 5 * MIN;
    assert.equal(refused(throttle.attempt("alice", "203.0.113.3")).retryAfterMs, 10 * MIN);
  });

  it("a failure the directory was never asked about charges the address, not the name", () => {
    const throttle = new SignInThrottle({ burst: 1, perMinute: 1, perUser: { failures: 1, resetMinutes: 15 } }, () => 0);
    const a = throttle.attempt("alice", "192.0.2.7");
    assert.ok(a.ok);
    a.failed({ unasked: true });
    assert.equal(refused(throttle.attempt("bob", "192.0.2.7")).by, "address");
    failed(throttle, "alice", "192.0.2.8"); // alice's one failure is still to be had
    assert.equal(refused(throttle.attempt("alice", "192.0.2.9")).by, "user");
  });

  it("an address stays familiar for 30 days after the last sign-in, by its IPv6 /64", () => {
    let t = 0;
    const throttle = new SignInThrottle({ burst: 1000, perMinute: 1000, perUser: { failures: 1, resetMinutes: 60 * 24 * 60 } }, () => t);
    const ok = throttle.attempt("alice", "2001:db8:1:2::1");
    assert.ok(ok.ok);
    ok.succeeded();
    failed(throttle, "alice", "2001:db8:1:3::1");
    assert.equal(throttle.attempt("alice", "2001:db8:1:2::ffff").ok, true, "same /64: familiar");
    assert.equal(refused(throttle.attempt("alice", "2001:db8:1:3::1")).by, "user", "another /64: held");
    t += 30 * 24 * 3600_000 - 1;
    assert.equal(throttle.attempt("alice", "2001:db8:1:2::1").ok, true);
    t += 2;
    assert.equal(refused(throttle.attempt("alice", "2001:db8:1:2::1")).by, "user", "forgotten after 30 days");
  });

  it("one name keeps at most 16 familiar addresses; a reload that changes users forgets them all", () => {
    const throttle = new SignInThrottle({ burst: 1000, perMinute: 1000, perUser: { failures: 1, resetMinutes: 15 } }, () => 0);
    for (let i = 0; i <= 16; i++) {
      const a = throttle.attempt("mallory", `198.51.100.${i}`);
      assert.ok(a.ok);
      a.succeeded();
    }
    failed(throttle, "mallory", "203.0.113.1");
    assert.equal(refused(throttle.attempt("mallory", "198.51.100.0")).by, "user", "the oldest of 17 was dropped");
    assert.equal(throttle.attempt("mallory", "198.51.100.16").ok, true);
    throttle.forgetFamiliar();
    assert.equal(refused(throttle.attempt("mallory", "198.51.100.16")).by, "user");
  });

  it("successes and checks not made give back what they took; failures keep it; an attempt ends once", () => {
    const throttle = new SignInThrottle({ burst: 1, perMinute: 1, perUser: { failures: 1, resetMinutes: 15 } }, () => 0);
    for (let i = 0; i < 3; i++) {
      const a = throttle.attempt("alice", "192.0.2.7");
      assert.ok(a.ok);
      a.uncounted();
      a.uncounted(); // a second end gives nothing more back
    }
    const a = throttle.attempt("alice", "192.0.2.7");
    assert.ok(a.ok);
    a.failed();
    a.succeeded();
    assert.equal(refused(throttle.attempt("bob", "192.0.2.7")).by, "address", "the address is spent");
    assert.equal(refused(throttle.attempt("alice", "192.0.2.8")).by, "user", "so is the name");
  });

  it("a name longer than any user's is not counted (the memory stays bounded); the address still holds it", () => {
    const throttle = new SignInThrottle({ burst: 3, perMinute: 1, perUser: { failures: 1, resetMinutes: 15 } }, () => 0);
    const long = "x".repeat(65);
    failed(throttle, long, "192.0.2.7");
    failed(throttle, long, "192.0.2.8");
    failed(throttle, "x".repeat(64), "192.0.2.9");
    assert.equal(refused(throttle.attempt("x".repeat(64), "192.0.2.10")).by, "user");
  });

  it("characters are counted as a user name's are (code points): 64 outside the BMP are someone's, 65 are not", () => {
    const throttle = new SignInThrottle({ burst: 10, perMinute: 10, perUser: { failures: 2, resetMinutes: 15 } }, () => 0);
    const script = "\u{1D4B6}".repeat(64); // 128 UTF-16 units, a name the config takes
    failed(throttle, script, "192.0.2.1");
    failed(throttle, script, "192.0.2.2");
    assert.equal(refused(throttle.attempt(script, "192.0.2.3")).by, "user");
    const longer = "\u{1D4B6}".repeat(65);
    for (let i = 4; i <= 7; i++) failed(throttle, longer, `192.0.2.${i}`);
    const mixed = "a" + "\u{1D4B6}".repeat(63); // 127 units, 64 characters
    failed(throttle, mixed, "192.0.2.8");
    failed(throttle, mixed, "192.0.2.9");
    assert.equal(refused(throttle.attempt(mixed, "192.0.2.10")).by, "user");
  });

  it("withLimit: the addresses' counts start afresh, the names' go on while perUser is the same, familiar addresses stay", () => {
    const perUser = { failures: 2, resetMinutes: 15 };
    const first = new SignInThrottle({ burst: 2, perMinute: 1, perUser }, () => 0);
    const home = first.attempt("alice", "192.0.2.1");
    assert.ok(home.ok);
    home.succeeded();
    failed(first, "alice", "192.0.2.7");
    failed(first, "alice", "192.0.2.7");
    assert.equal(refused(first.attempt("bob", "192.0.2.7")).by, "address");
    assert.equal(refused(first.attempt("alice", "198.51.100.1")).by, "user");

    const second = first.withLimit({ burst: 5, perMinute: 1, perUser });
    failed(second, "bob", "192.0.2.7"); // the address's new allowance
    assert.equal(refused(second.attempt("alice", "198.51.100.1")).by, "user", "the name is still spent");
    const still = second.attempt("alice", "192.0.2.1");
    assert.ok(still.ok, "familiar still");
    still.uncounted();

    const third = second.withLimit({ burst: 5, perMinute: 1, perUser: { failures: 3, resetMinutes: 15 } });
    failed(third, "alice", "198.51.100.1"); // another perUser: counted afresh
    assert.equal(third.withLimit({ burst: 5, perMinute: 1 }).attempt("alice", "198.51.100.2").ok, true, "no perUser: no name limit");
  });

  it("forgetFamiliar forgets the names selected, or all", () => {
    const throttle = new SignInThrottle({ burst: 100, perMinute: 100, perUser: { failures: 1, resetMinutes: 15 } }, () => 0);
    for (const name of ["alice", "bob"]) {
      const a = throttle.attempt(name, "192.0.2.1");
      assert.ok(a.ok);
      a.succeeded();
      failed(throttle, name, "203.0.113.9"); // spent
    }
    throttle.forgetFamiliar((name) => name === "alice");
    assert.equal(refused(throttle.attempt("alice", "192.0.2.1")).by, "user");
    const bob = throttle.attempt("bob", "192.0.2.1");
    assert.ok(bob.ok, "bob's kept");
    bob.uncounted();
    throttle.forgetFamiliar();
    assert.equal(refused(throttle.attempt("bob", "192.0.2.1")).by, "user");
  });

  it("a check begun before its name was forgotten (the old password) makes no address familiar when it succeeds", () => {
    const throttle = new SignInThrottle({ burst: 100, perMinute: 100, perUser: { failures: 1, resetMinutes: 15 } }, () => 0);
    const spend = (name: string) => {
      failed(throttle, name, "203.0.113.9");
      assert.equal(refused(throttle.attempt(name, "203.0.113.10")).by, "user");
    };
    const signIn = (name: string, client: string, since?: number) => {
      const a = throttle.attempt(name, client, since);
      assert.ok(a.ok);
      return a;
    };
    const familiar = (name: string, client: string) => {
      const a = throttle.attempt(name, client);
      if (a.ok) a.uncounted();
      return a.ok;
    };
    const old = signIn("alice", "192.0.2.1");
    throttle.forgetFamiliar((name) => name === "alice"); // a reload changed alice's password
    old.succeeded();
    signIn("bob", "192.0.2.2").succeeded(); // bob was not forgotten
    spend("alice");
    spend("bob");
    assert.equal(familiar("alice", "192.0.2.1"), false, "the old password's success made nothing familiar");
    assert.equal(familiar("bob", "192.0.2.2"), true);
    // a check begun after the forget is remembered
    const after = new SignInThrottle({ burst: 100, perMinute: 100, perUser: { failures: 1, resetMinutes: 15 } }, () => 0);
    after.forgetFamiliar((name) => name === "carol");
    const carol = after.attempt("carol", "192.0.2.3");
    assert.ok(carol.ok);
    carol.succeeded();
    failed(after, "carol", "203.0.113.9");
    const back = after.attempt("carol", "192.0.2.3");
    assert.ok(back.ok, "familiar: begun after the forget");
    back.uncounted();
    // since -1 (a worker behind the primary's reload): not for a name forgotten, for others yes
    after.forgetFamiliar((name) => name === "frank");
    const behind = after.attempt("frank", "192.0.2.4", -1);
    assert.ok(behind.ok);
    behind.succeeded();
    failed(after, "frank", "203.0.113.9");
    assert.equal(after.attempt("frank", "192.0.2.4").ok, false, "not made familiar");
    const dave = after.attempt("dave", "192.0.2.5", -1);
    assert.ok(dave.ok);
    dave.succeeded();
    failed(after, "dave", "203.0.113.9");
    const daveBack = after.attempt("dave", "192.0.2.5");
    assert.ok(daveBack.ok, "dave was never forgotten");
    daveBack.uncounted();
  });

  it("a check older than the forgets kept counts as forgotten", () => {
    const throttle = new SignInThrottle({ burst: 100, perMinute: 100, perUser: { failures: 1, resetMinutes: 15 } }, () => 0);
    const old = throttle.attempt("erin", "192.0.2.1");
    assert.ok(old.ok);
    for (let i = 0; i < 17; i++) throttle.forgetFamiliar((name) => name === `other${i}`);
    old.succeeded();
    failed(throttle, "erin", "203.0.113.9");
    assert.equal(throttle.attempt("erin", "192.0.2.1").ok, false);
  });
});

