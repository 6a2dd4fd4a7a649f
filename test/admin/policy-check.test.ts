import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { checkPolicy, isBarePolicy } from "../../src/admin/policy-check.ts";

describe("checkPolicy", () => {
  it("returns the policy with the config file's defaults", () => {
    const r = checkPolicy({ rules: [{ hosts: ["*.example.com"], action: "allow" }] });
    assert.ok(r.ok);
    assert.equal(r.policy.defaultAction, "deny");
    assert.deepEqual(r.policy.rules[0], { id: "rule-1", hosts: ["*.example.com"], action: "allow", log: true, decryption: "exception", upstreamTls: "verify" });
  });

  it("reports every issue with its path inside the policy", () => {
    const r = checkPolicy({ defaultAction: "maybe", rules: [{ id: "a", action: "allow" }, { id: "a", hosts: [1], action: "deny" }], colour: 1 });
    assert.equal(r.ok, false);
    assert.ok(!r.ok);
    const byPath = Object.fromEntries(r.issues.map((i) => [i.path, i.message]));
    assert.deepEqual(Object.keys(byPath).sort(), ["colour", "defaultAction", "rules[1].hosts[0]", "rules[1].id"]);
    assert.match(byPath["defaultAction"] ?? "", /expected "allow" or "deny", got "maybe"/);
    assert.match(byPath["rules[1].id"] ?? "", /duplicate rule id "a"/);
  });

  it("refuses non-objects at the empty path", () => {
    for (const input of [null, [], "x", 3]) {
      const r = checkPolicy(input);
      assert.ok(!r.ok);
      assert.equal(r.issues.length, 1);
      assert.equal(r.issues[0]?.path, "");
    }
  });

  it("checks listener names and the CA only against a given context", () => {
    const policy = { rules: [{ id: "t", listeners: ["tproxy"], action: "allow", decryption: "decrypt" }] };
    assert.ok(checkPolicy(policy).ok, "alone: any listener name and a CA are assumed");
    const r = checkPolicy(policy, { listeners: ["explicit"], hasCa: false });
    assert.ok(!r.ok);
    assert.deepEqual(r.issues.map((i) => i.path).sort(), ["", "rules[0].listeners[0]"]);
    assert.match(r.issues.find((i) => i.path === "")?.message ?? "", /a CA is required because rule "t" decrypts/);
    assert.ok(checkPolicy(policy, { listeners: ["tproxy"], hasCa: true }).ok);
  });

  it("checks user names only against a given context", () => {
    const policy = { rules: [{ id: "a", users: ["alice"], action: "allow" }], urlRules: [{ id: "u", paths: ["/x"], users: ["bob"], action: "deny" }] };
    assert.ok(checkPolicy(policy).ok, "alone: any user name is assumed to be a proxyAuth user");
    const r = checkPolicy(policy, { users: ["alice"] });
    assert.ok(!r.ok);
    assert.deepEqual(r.issues.map((i) => `${i.path}: ${i.message}`), ['urlRules[0].users[0]: no proxyAuth user named "bob"']);
    assert.ok(checkPolicy(policy, { users: ["alice", "bob"] }).ok);
    const bad = checkPolicy({ rules: [{ users: ["a:b"], action: "allow" }] });
    assert.ok(!bad.ok, "a name proxyAuth cannot have is still an error");
    assert.match(bad.issues[0]?.message ?? "", /"a:b" cannot be a proxyAuth user name/);
  });

  it("alone, takes the groups rules name to exist; a malformed one is still an error", () => {
    assert.ok(checkPolicy({ rules: [{ id: "a", groups: ["Engineers"], action: "allow" }], urlRules: [{ id: "u", groups: ["sales"], action: "deny" }] }).ok);
    assert.ok(checkPolicy({ rules: [{ id: "a", users: ["alice"], groups: ["ops"], action: "allow" }] }).ok);
    const bad = checkPolicy({ rules: [{ groups: ["a\u0000"], action: "allow" }] });
    assert.ok(!bad.ok);
    assert.match(bad.issues[0]?.message ?? "", /expected a group name \(1-256 characters, no control characters\)/);
  });

  it("reports a listener name that could name no listener", () => {
    const r = checkPolicy({ rules: [{ listeners: ["bad name"], action: "allow" }] });
    assert.ok(!r.ok);
    assert.deepEqual(r.issues.map((i) => i.path), ["rules[0].listeners[0]"]);
  });
});

describe("isBarePolicy", () => {
  it("tells a policy section from a whole config", () => {
    assert.equal(isBarePolicy({ rules: [] }), true);
    assert.equal(isBarePolicy({ defaultAction: "deny" }), true);
    assert.equal(isBarePolicy({ policy: { rules: [] } }), false);
    assert.equal(isBarePolicy({}), false);
    assert.equal(isBarePolicy([]), false);
  });
});
