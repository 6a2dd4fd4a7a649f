import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { compileHostRegex } from "../../src/policy/host-regex.ts";

describe("compileHostRegex", () => {
  it("anchors the whole name", () => {
    const re = compileHostRegex("example\\.com");
    assert.equal(re.test("example.com"), true);
    assert.equal(re.test("example.com.evil.net"), false);
    assert.equal(re.test("www.example.com"), false);
    assert.equal(re.test("notexample.com"), false);
    const alt = compileHostRegex("a\\.example|b\\.example");
    assert.equal(alt.test("a.example"), true);
    assert.equal(alt.test("a.example.evil"), false, "alternation stays inside the anchors");
    assert.equal(alt.test("evil.b.example"), false);
    assert.equal(compileHostRegex("Example\\.COM").test("example.com"), true, "case-insensitive");
  });
  it("rejects invalid or anchor-escaping sources", () => {
    assert.throws(() => compileHostRegex("x)|(.*"), TypeError);
    assert.throws(() => compileHostRegex("[a-"), /invalid regular expression/);
  });
});

describe("compileHostRegex: non-ASCII", () => {
  it("is refused, pointing at the punycode form the names are matched in", () => {
    assert.throws(() => compileHostRegex("(.+\\.)?bücher\\.de"), /expected an ASCII regular expression .*xn--bcher-kva\\\.de/);
    assert.ok(compileHostRegex("(.+\\.)?xn--bcher-kva\\.de").test("www.xn--bcher-kva.de"));
  });
});
