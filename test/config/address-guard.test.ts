import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfigError } from "../../src/config/errors.ts";
import { parseConfig } from "../../src/config/parse.ts";

function issues(input: unknown): string[] {
  try {
    parseConfig(input);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => `${i.path}: ${i.message}`);
    throw e;
  }
  return [];
}

describe("config: addressGuard and rule allowAddresses", () => {
  it("defaults to denying every internal class (empty allow lists)", () => {
    const c = parseConfig({});
    assert.deepEqual(c.addressGuard, { allow: [], deny: [], allowClasses: [] });
  });
  it("keeps allow/deny CIDRs, classes and per-rule allowances", () => {
    const c = parseConfig({
      addressGuard: { allow: ["127.0.0.0/8"], deny: ["10.9.0.0/16"], allowClasses: ["private"] },
      policy: { rules: [{ id: "lab", hosts: ["lab.test"], action: "allow", allowAddresses: ["192.168.7.0/24"] }] },
    });
    assert.deepEqual(c.addressGuard, { allow: ["127.0.0.0/8"], deny: ["10.9.0.0/16"], allowClasses: ["private"] });
    assert.deepEqual(c.policy.rules[0]?.allowAddresses, ["192.168.7.0/24"]);
  });
  it("names the field of a bad CIDR or class", () => {
    assert.ok(issues({ addressGuard: { allow: ["10.0.0.0/33"] } }).some((i) => i.startsWith("addressGuard.allow[0]:")));
    assert.ok(issues({ addressGuard: { allowClasses: ["public"] } }).some((i) => i.startsWith("addressGuard.allowClasses[0]:")));
    assert.ok(
      issues({ policy: { rules: [{ action: "allow", allowAddresses: ["nope"] }] } }).some((i) => i.startsWith("policy.rules[0].allowAddresses[0]:")),
    );
  });
});
