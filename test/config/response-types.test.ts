import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/parse.ts";
import { configProblems as problems } from "../helpers/config-problems.ts";

describe("config: policy.urlRules[].responseTypes", () => {
  it("keeps the media types as written", () => {
    const config = parseConfig({ policy: { urlRules: [{ id: "no-video", hosts: [".tv.example"], responseTypes: ["video/*", "Application/X-MSDownload"], action: "deny" }] } });
    assert.deepEqual(config.policy.urlRules[0]?.responseTypes, ["video/*", "Application/X-MSDownload"]);
    assert.equal(parseConfig({ policy: { urlRules: [{ id: "a", action: "deny" }] } }).policy.urlRules[0]?.responseTypes, undefined);
  });

  it("names a bad media type at the item, and header edits on such a rule", () => {
    assert.deepEqual(problems({ policy: { urlRules: [{ id: "u", responseTypes: ["video/*", "mp4"], action: "deny" }] } }), [
      'policy.urlRules[0].responseTypes[1]: expected a media type like "video/*" or "application/pdf", got "mp4"',
    ]);
    assert.deepEqual(problems({ policy: { urlRules: [{ id: "u", responseTypes: "video/*", action: "deny" }] } }).length, 1);
    assert.deepEqual(problems({ policy: { urlRules: [{ id: "u", responseTypes: ["video/*"], action: "allow", responseHeaders: { remove: ["Alt-Svc"] } }] } }), [
      'policy.urlRules[0]: a rule with "responseTypes" takes no "requestHeaders" or "responseHeaders" (it is decided after the request went out)',
    ]);
  });
});

describe("config: policy.urlRules[].maxRequestBytes and maxResponseBytes", () => {
  it("keeps them on an allow rule", () => {
    const config = parseConfig({ policy: { urlRules: [{ id: "u", action: "allow", maxRequestBytes: 1048576, maxResponseBytes: 0 }] } });
    assert.equal(config.policy.urlRules[0]?.maxRequestBytes, 1048576);
    assert.equal(config.policy.urlRules[0]?.maxResponseBytes, 0);
  });

  it("refuses them on a deny or with responseTypes, and a count that is not a whole number of bytes", () => {
    const only = 'policy.urlRules[0]: expected "maxRequestBytes" and "maxResponseBytes" only on an "allow" rule without "responseTypes"';
    assert.deepEqual(problems({ policy: { urlRules: [{ id: "u", action: "deny", maxRequestBytes: 10 }] } }), [only]);
    assert.deepEqual(problems({ policy: { urlRules: [{ id: "u", action: "allow", responseTypes: ["video/*"], maxResponseBytes: 10 }] } }), [only]);
    assert.equal(problems({ policy: { urlRules: [{ id: "u", action: "allow", maxRequestBytes: "10MB" }] } }).length, 1);
    assert.equal(problems({ policy: { urlRules: [{ id: "u", action: "allow", maxRequestBytes: -1 }] } }).length, 1);
  });
});
