import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { describeValue, formatPath, suggestKey } from "../../src/config/issue-format.ts";

describe("formatPath", () => {
  it("joins keys with dots and indexes with brackets", () => {
    const path = ["policy", "rules", 2, "hosts", 0].map((key) => ({ key }));
    assert.equal(formatPath(path), "policy.rules[2].hosts[0]");
    assert.equal(formatPath([{ key: "dns" }, { key: "hosts" }, { key: "origin.test" }, { key: 1 }]), 'dns.hosts["origin.test"][1]');
    assert.equal(formatPath([{ key: "$schema" }]), "$schema");
    assert.equal(formatPath(undefined), "");
    assert.equal(formatPath([{ key: 0 }]), "[0]");
  });
});

describe("describeValue", () => {
  it("describes values for messages", () => {
    assert.equal(describeValue(3128), "3128");
    assert.equal(describeValue("a\"b"), '"a\\"b"');
    assert.equal(describeValue(true), "true");
    assert.equal(describeValue(null), "null");
    assert.equal(describeValue(undefined), "nothing");
    assert.equal(describeValue([]), "an empty array");
    assert.equal(describeValue([1]), "an array");
    assert.equal(describeValue({}), "an object");
    assert.equal(describeValue("x".repeat(200)).length, 78);
  });
});

describe("suggestKey", () => {
  it("suggests close keys only", () => {
    const keys = ["defaultAction", "defaultLog", "rules"];
    assert.equal(suggestKey("rule", keys), "rules");
    assert.equal(suggestKey("defaultaction", keys), "defaultAction");
    assert.equal(suggestKey("defaultLgo", keys), "defaultLog");
    assert.equal(suggestKey("listeners", keys), undefined);
  });
});
