import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/parse.ts";
import { compileUrlRules } from "../../src/policy/url-rules.ts";
import { normalizeHost } from "../../src/core/host.ts";
import { configProblems as problems } from "../helpers/config-problems.ts";

const reverse = (route: Record<string, unknown>) => ({
  listeners: [{ name: "web", mode: "reverse", listen: "127.0.0.1:8080", tls: false }],
  reverse: { pools: { app: { backends: ["http://127.0.0.1:9000"] } }, routes: [{ hosts: ["*"], pool: "app", ...route }] },
});

describe("config: caseSensitive on url rules and reverse routes", () => {
  it("a url rule's caseSensitive: false reaches the compiled policy", () => {
    const config = parseConfig({ policy: { urlRules: [{ id: "no-admin", paths: ["/admin"], caseSensitive: false, action: "deny" }] } });
    assert.equal(config.policy.urlRules[0]?.caseSensitive, false);
    const d = compileUrlRules(config.policy.urlRules).decide({ host: normalizeHost("a.test"), path: "/ADMIN", method: "GET" });
    assert.equal(d.ruleId, "no-admin");
    assert.equal(parseConfig({ policy: { urlRules: [{ id: "a", paths: ["/a"], action: "deny" }] } }).policy.urlRules[0]?.caseSensitive, undefined);
  });

  it("refuses it on a url rule without paths, and a value that is not a boolean", () => {
    assert.deepEqual(problems({ policy: { urlRules: [{ id: "u", methods: ["POST"], caseSensitive: false, action: "deny" }] } }), [
      'policy.urlRules[0]: expected "caseSensitive" only on a rule with "paths" (it says how they match)',
    ]);
    assert.equal(problems({ policy: { urlRules: [{ id: "u", paths: ["/a"], caseSensitive: "no", action: "deny" }] } }).length, 1);
  });

  it("a route keeps caseSensitive: false (and says nothing when it is true)", () => {
    assert.equal(parseConfig(reverse({ pathPrefix: "/Admin", caseSensitive: false })).reverse?.routes[0]?.caseSensitive, false);
    assert.equal(parseConfig(reverse({ pathPrefix: "/Admin", caseSensitive: true })).reverse?.routes[0]?.caseSensitive, undefined);
    assert.equal(problems(reverse({ caseSensitive: 0 })).length, 1);
  });
});
