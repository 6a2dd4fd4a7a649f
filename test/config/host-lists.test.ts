import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { checkPolicy } from "../../src/admin/policy-check.ts";
import { parseConfig } from "../../src/config/parse.ts";
import { configProblems as problems } from "../helpers/config-problems.ts";

describe("config: policy.hostLists", () => {
  it("keeps the lists, format \"patterns\" unless given, and the rules that name them", () => {
    const config = parseConfig({
      policy: {
        hostLists: { ads: { file: "lists/ads.txt" }, malware: { file: "/etc/feeds/malware.hosts", format: "hosts" } },
        rules: [{ id: "block", hosts: ["x.example"], hostLists: ["malware", "ads"], action: "deny" }],
      },
    });
    assert.deepEqual(config.policy.hostLists, {
      ads: { file: "lists/ads.txt", format: "patterns" },
      malware: { file: "/etc/feeds/malware.hosts", format: "hosts" },
    });
    assert.deepEqual(config.policy.rules[0]?.hostLists, ["malware", "ads"]);
    assert.equal(parseConfig({ policy: { rules: [] } }).policy.hostLists, undefined);
  });
  it("names an empty file, an unknown format, a bad name and an unknown key", () => {
    assert.deepEqual(problems({ policy: { hostLists: { ads: { file: "" } } } }), ["policy.hostLists.ads.file: expected a file path, got an empty string"]);
    assert.deepEqual(problems({ policy: { hostLists: { ads: { file: "a.txt", format: "adblock" } } } }), [
      'policy.hostLists.ads.format: expected "patterns", "domains" or "hosts", got "adblock"',
    ]);
    assert.equal(problems({ policy: { hostLists: { "a b": { file: "a.txt" } } } }).length, 1);
    assert.deepEqual(problems({ policy: { hostLists: { ads: { file: "a.txt", fromat: "hosts" } } } }), ['policy.hostLists.ads.fromat: unknown key (did you mean "format"?)']);
  });
  it("reports a rule naming a list the policy does not have, at the item", () => {
    assert.deepEqual(problems({ policy: { hostLists: { ads: { file: "a.txt" } }, rules: [{ action: "allow" }, { hostLists: ["ads", "adz"], action: "deny" }] } }), [
      'policy.rules[1].hostLists[1]: no host list named "adz" (the policy has "ads")',
    ]);
    assert.deepEqual(problems({ policy: { rules: [{ hostLists: ["ads"], action: "deny" }] } }), [
      'policy.rules[0].hostLists[0]: no host list named "ads" (the policy has no hostLists)',
    ]);
  });
  it("url rules name lists too, checked the same way", () => {
    const config = parseConfig({ policy: { hostLists: { sharing: { file: "s.txt" } }, urlRules: [{ id: "u", hostLists: ["sharing"], methods: ["POST"], action: "deny" }] } });
    assert.deepEqual(config.policy.urlRules[0]?.hostLists, ["sharing"]);
    assert.deepEqual(problems({ policy: { urlRules: [{ id: "u", hostLists: ["sharing"], action: "deny" }] } }), [
      'policy.urlRules[0].hostLists[0]: no host list named "sharing" (the policy has no hostLists)',
    ]);
  });
  it("a bare policy (PUT /policy, policy check) carries its lists", () => {
    const r = checkPolicy({ hostLists: { ads: { file: "a.txt" } }, rules: [{ hostLists: ["ads"], action: "deny" }] });
    assert.ok(r.ok);
    assert.deepEqual(r.policy.hostLists, { ads: { file: "a.txt", format: "patterns" } });
    const bad = checkPolicy({ rules: [{ hostLists: ["ads"], action: "deny" }] });
    assert.ok(!bad.ok);
    assert.deepEqual(bad.issues, [{ path: "rules[0].hostLists[0]", message: 'no host list named "ads" (the policy has no hostLists)' }]);
  });
});
