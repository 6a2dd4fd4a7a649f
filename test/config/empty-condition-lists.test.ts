/**
 * A rule condition written as an empty list (`"clients": []`, `"users": []`, …) names no one
 * and nothing: the config is refused at that field, as `"groups": []` always was. Before, the
 * compiled policy read it as no condition, and an allow rule "for nobody yet" (a templated
 * list that came out empty) allowed everyone, flows without a user included.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfigError } from "../../src/config/errors.ts";
import { parseConfig } from "../../src/config/parse.ts";
import { compileUrlRules } from "../../src/policy/url-rules.ts";

const HASH = `pbkdf2-sha256$100000$${btoa("0123456789abcdef")}$${btoa("0123456789abcdef0123456789abcdef")}`;
const base = {
  listeners: [{ name: "lan", mode: "explicit", listen: "127.0.0.1:0" }],
  proxyAuth: { users: [{ name: "alice", passwordHash: HASH }] },
};

function refused(config: Record<string, unknown>, at: string): void {
  assert.throws(() => parseConfig({ ...base, ...config }), (e: unknown) => {
    assert.ok(e instanceof ConfigError, String(e));
    assert.match(e.message, new RegExp(`${at.replace(/[[\].]/g, "\\$&")}: expected at least one entry`));
    return true;
  });
}

describe("empty condition lists are refused", () => {
  for (const field of ["clients", "users", "listeners", "modes", "ports", "hosts", "hostRegex", "hostLists"]) {
    it(`rules[].${field}: []`, () => refused({ policy: { defaultAction: "deny", rules: [{ id: "r", action: "allow", [field]: [] }] } }, `policy.rules[0].${field}`));
  }
  for (const field of ["users", "methods", "paths", "hosts", "hostLists", "responseTypes"]) {
    it(`urlRules[].${field}: []`, () => refused({ policy: { urlRules: [{ id: "r", action: "allow", [field]: [] }] } }, `policy.urlRules[0].${field}`));
  }
  it("the compiler refuses them too (a policy built without the schema)", () => {
    assert.throws(() => compileUrlRules([{ id: "r", action: "allow", users: [] }]), /urlRules\[0\]\.users: expected at least one entry/);
  });
  it("a list with entries, or none at all, is fine", () => {
    const config = parseConfig({ ...base, policy: { rules: [{ id: "r", action: "allow", users: ["alice"], clients: ["10.0.0.0/8"] }, { id: "s", action: "deny" }] } });
    assert.deepEqual(config.policy.rules.map((r) => r.id), ["r", "s"]);
  });
});
