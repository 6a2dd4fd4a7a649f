import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { urlRuleReason } from "../../src/policy/url-rule-reason.ts";

describe("urlRuleReason", () => {
  it("joins what matched as a sentence, then the tail", () => {
    assert.equal(urlRuleReason("all", []), 'url rule "all" matched any request');
    assert.equal(urlRuleReason("one", ['path "/a"']), 'url rule "one" matched path "/a"');
    assert.equal(urlRuleReason("two", ['path "/a"', "method GET"]), 'url rule "two" matched path "/a" and method GET');
    assert.equal(urlRuleReason("three", ['host "h"', 'path "/a"', 'response type "video/mp4"'], " during mon"), 'url rule "three" matched host "h", path "/a" and response type "video/mp4" during mon');
  });
});
