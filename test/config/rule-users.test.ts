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

  it("proxyAuth.signInLimit: per address 10 failed sign-ins at once, then 10 a minute, unless set; per user only when set; bad values named", () => {
    assert.deepEqual(parseConfig(auth).proxyAuth?.signInLimit, { burst: 10, perMinute: 10 });
    assert.deepEqual(parseConfig({ proxyAuth: { ...auth.proxyAuth, signInLimit: { perMinute: 3 } } }).proxyAuth?.signInLimit, { burst: 10, perMinute: 3 });
    assert.deepEqual(
      parseConfig({ proxyAuth: { ...auth.proxyAuth, signInLimit: { perUser: { failures: 4, resetMinutes: 15 } } } }).proxyAuth?.signInLimit,
      { burst: 10, perMinute: 10, perUser: { failures: 4, resetMinutes: 15 } },
    );
    assert.deepEqual(problems({ proxyAuth: { ...auth.proxyAuth, signInLimit: { burst: 0 } } }), ["proxyAuth.signInLimit.burst: expected an integer 1-100000, got 0"]);
    assert.deepEqual(problems({ proxyAuth: { ...auth.proxyAuth, signInLimit: { perUser: { failures: 4, resetMinutes: 0.5 } } } }), [
      "proxyAuth.signInLimit.perUser.resetMinutes: expected an integer 1-1440, got 0.5",
    ]);
    assert.deepEqual(problems({ proxyAuth: { ...auth.proxyAuth, signInLimit: { perUser: { failures: 4 } } } }), [
      "proxyAuth.signInLimit.perUser.resetMinutes: required key is missing",
    ]);
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

describe("config: proxyAuth.ldap", () => {
  const ldap = { url: "ldaps://dc1.corp.example", bindName: "{user}@corp.example" };

  it("takes a directory with or without local users; rules may name directory users", () => {
    const c = parseConfig({ proxyAuth: { ldap }, policy: { rules: [{ hosts: ["x.example"], users: ["dirk"], action: "allow" }] } });
    assert.deepEqual(c.proxyAuth?.ldap, { ...ldap, timeoutMs: 5000 });
    assert.deepEqual(c.proxyAuth?.users, []);
    assert.deepEqual(c.policy.rules[0]?.users, ["dirk"]);
    const both = parseConfig({ proxyAuth: { ...auth.proxyAuth, ldap: { ...ldap, url: "ldap://10.0.0.5:3389", caFile: "dc.pem", timeoutMs: 2000 } } });
    assert.deepEqual(both.proxyAuth?.ldap, { url: "ldap://10.0.0.5:3389", bindName: ldap.bindName, caFile: "dc.pem", timeoutMs: 2000 });
  });

  it("refuses a user listed twice (the last entry would silently win)", () => {
    const entry = auth.proxyAuth.users[0]!;
    const p = problems({ proxyAuth: { users: [entry, { ...entry, groups: ["ops"] }] } });
    assert.deepEqual(p, [`proxyAuth.users[1].name: duplicate user name ${JSON.stringify(entry.name)}, first at index 0`]);
  });

  it("names what is wrong: no user and no directory, a URL that is not LDAP, a bind name without {user}", () => {
    assert.deepEqual(problems({ proxyAuth: { users: [] } }), ['proxyAuth.users: expected at least one user, or "ldap"']);
    const p = problems({ proxyAuth: { ldap: { url: "https://dc1", bindName: "cn=admin", timeoutMs: 10 } }, policy: { rules: [{ users: ["a:b"], action: "allow" }] } });
    assert.ok(p.some((x) => /^proxyAuth\.ldap\.url: expected "ldaps:\/\/host\[:port\]" or "ldap:\/\/host\[:port\]", got "https:\/\/dc1"/.test(x)), p.join("\n"));
    assert.ok(p.some((x) => /^proxyAuth\.ldap\.bindName: expected "\{user\}" in the bind name/.test(x)), p.join("\n"));
    assert.ok(p.some((x) => /^proxyAuth\.ldap\.timeoutMs: expected an integer 100-60000/.test(x)), p.join("\n"));
    assert.ok(p.some((x) => /^policy\.rules\[0\]\.users\[0\]: "a:b" cannot be a proxyAuth user name/.test(x)), p.join("\n"));
    assert.ok(problems({ proxyAuth: { ldap: { ...ldap, url: "ldaps://bad host" } } }).some((x) => /^proxyAuth\.ldap\.url: /.test(x)));
  });

  it("directory users are named in lower case; a name that folds onto a local user is not one", () => {
    assert.deepEqual(problems({ proxyAuth: { ...auth.proxyAuth, ldap }, policy: { rules: [{ users: ["Dirk", "ALICE", "alice", "dirk", "d irk"], action: "allow" }] } }), [
      'policy.rules[0].users[0]: "Dirk" is not a local user, and directory users are named in lower case: write "dirk"',
      'policy.rules[0].users[1]: no proxyAuth user named "ALICE"',
      'policy.rules[0].users[4]: "d irk" is not a local user, nor a name the directory is asked about (letters, digits and ._@- only)',
    ]);
  });
});
