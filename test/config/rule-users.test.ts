import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/parse.ts";
import { configProblems as problems } from "../helpers/config-problems.ts";

// a syntactically valid hash (`tollgate auth hash` output shape); never checked against a password here
const HASH = `pbkdf2-sha256$100000$${btoa("0123456789abcdef")}$${btoa("0123456789abcdef0123456789abcdef")}`;
const auth = { proxyAuth: { users: [{ name: "alice", passwordHash: HASH }, { name: "bob", passwordHash: HASH }] } };

describe("config: rules scoped to users", () => {
  it("keeps users that proxyAuth knows", () => {
    const config = parseConfig({ ...auth, policy: { rules: [{ hosts: ["x.example"], users: ["alice", "bob"], action: "allow" }] } });
    assert.deepEqual(config.policy.rules[0]?.users, ["alice", "bob"]);
  });

  it("proxyAuth.signInLimit: 10 failed sign-ins at once, then 10 a minute, unless set; bad values named", () => {
    assert.deepEqual(parseConfig(auth).proxyAuth?.signInLimit, { burst: 10, perMinute: 10 });
    assert.deepEqual(parseConfig({ proxyAuth: { ...auth.proxyAuth, signInLimit: { perMinute: 3 } } }).proxyAuth?.signInLimit, { burst: 10, perMinute: 3 });
    assert.deepEqual(problems({ proxyAuth: { ...auth.proxyAuth, signInLimit: { burst: 0 } } }), ["proxyAuth.signInLimit.burst: expected an integer 1-100000, got 0"]);
  });

  it("reports a user proxyAuth does not know, at the item (a typo would never match)", () => {
    assert.deepEqual(problems({ ...auth, policy: { rules: [{ action: "allow" }, { users: ["alice", "alcie"], action: "allow" }] } }), [
      'policy.rules[1].users[1]: no proxyAuth user named "alcie"',
    ]);
  });

  it("checks the users of url rules the same way", () => {
    const config = parseConfig({ ...auth, policy: { urlRules: [{ id: "a", paths: ["/admin"], users: ["alice"], action: "allow" }] } });
    assert.deepEqual(config.policy.urlRules[0]?.users, ["alice"]);
    assert.deepEqual(problems({ ...auth, policy: { urlRules: [{ id: "a", paths: ["/admin"], users: ["mallory"], action: "allow" }] } }), [
      'policy.urlRules[0].users[0]: no proxyAuth user named "mallory"',
    ]);
  });

  it("reports users without proxyAuth: no flow would have one", () => {
    assert.deepEqual(problems({ policy: { rules: [{ users: ["alice"], action: "allow" }] } }), [
      'policy.rules[0].users[0]: names user "alice", but there is no proxyAuth: no flow has a user',
    ]);
  });

  it("reports a users value that is not a list of names", () => {
    assert.deepEqual(problems({ ...auth, policy: { rules: [{ users: "alice", action: "allow" }] } }), [
      'policy.rules[0].users: expected an array of user names, got "alice"',
    ]);
  });
});
