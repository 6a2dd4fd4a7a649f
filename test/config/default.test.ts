import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { defaultConfig } from "../../src/config/default.ts";
import { parseConfig } from "../../src/config/parse.ts";

describe("defaultConfig", () => {
  it("passes parseConfig", () => {
    const config = parseConfig(defaultConfig);
    assert.deepEqual(config.listeners, [{ name: "explicit", mode: "explicit", hostname: "127.0.0.1", port: 3128 }]);
    assert.equal(config.log.flows, "stdout");
  });

  it("allows only the web ports, without decryption, and denies the rest", () => {
    const { policy } = parseConfig(defaultConfig);
    assert.equal(policy.defaultAction, "deny");
    const allowed = policy.rules.filter((rule) => rule.action === "allow");
    assert.deepEqual(allowed.map((rule) => [rule.id, rule.ports, rule.decryption, rule.hosts]), [["web", [80, 443], "exception", undefined]]);
  });

  it("is frozen", () => {
    assert.ok(Object.isFrozen(defaultConfig));
    assert.ok(Object.isFrozen(defaultConfig.policy.rules[0]?.ports));
  });
});
