import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { normalizeHost } from "../../src/core/host.ts";
import { compilePolicy } from "../../src/policy/compile.ts";
import { compileHostRegex, MAX_REGEX_SOURCE, regexError } from "../../src/policy/host-regex.ts";
import { TOO_COSTLY } from "../helpers/costly-regex.ts";

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

describe("compileHostRegex: backtracking cost", () => {
  it("refuses a regex that could backtrack for exponential time on a client's name, naming the safe form", () => {
    // review 43: "a".repeat(26) + ".example.co" took 0.4 s (Bun) and 3.6 s (Deno) with this source
    assert.throws(
      () => compilePolicy({ defaultAction: "allow", rules: [{ id: "corp", hostRegex: ["([a-z0-9-]+\\.?)*example\\.com"], action: "deny" }] }),
      /^TypeError: rules\[0\]\.hostRegex\[0\]: regular expression "\(\[a-z0-9-\]\+\\\\\.\?\)\*example\\\\\.com" can take exponential time: .* e\.g\. "\(\?:\[a-z0-9-\]\+\\\\\.\)\*example\\\\\.com" for example\.com and its subdomains$/,
    );
    for (const source of ["(\\w+\\.?)+example\\.com", "(.*\\.)*example\\.com", "(a|aa)+", ".*a.*a.*b"]) {
      assert.throws(() => compileHostRegex(source), /^TypeError: regular expression ".*" can take (exponential|polynomial) time/, source);
      assert.match(regexError(source) ?? "", /can take/);
    }
  });
  it("refuses a regex too complex to check, in a config's words", () => {
    assert.ok(TOO_COSTLY.length <= MAX_REGEX_SOURCE);
    assert.throws(
      () => compilePolicy({ defaultAction: "allow", rules: [{ id: "corp", hostRegex: ["example\\.com", TOO_COSTLY], action: "deny" }] }),
      {
        name: "TypeError",
        message: `rules[0].hostRegex[1]: regular expression ${JSON.stringify(TOO_COSTLY)} is too complex to check for backtracking cost (more than 5000000 steps); split it into several simpler regexes, or use host patterns`,
      },
    );
  });
  it("accepts the safe form, which matches the same names", () => {
    const policy = compilePolicy({ defaultAction: "allow", rules: [{ id: "corp", hostRegex: ["(?:[a-z0-9-]+\\.)*example\\.com"], action: "deny" }] });
    const decide = (name: string) => policy.decide({ host: normalizeHost(name), port: 443, clientIp: "10.0.0.1" }).ruleId;
    for (const name of ["example.com", "www.example.com", "a.b-c.example.com", "WWW.Example.COM."]) assert.equal(decide(name), "corp", name);
    for (const name of ["evilexample.com", "example.com.evil.net", "example.co", `${"a".repeat(26)}.example.co`, `${"a.".repeat(100)}example.co`]) {
      assert.equal(decide(name), "default", name);
    }
  });
});
