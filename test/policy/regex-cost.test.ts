import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { regexCostProblem } from "../../src/policy/regex-cost.ts";
import { TOO_COSTLY } from "../helpers/costly-regex.ts";

const accepted = (source: string) => assert.equal(regexCostProblem(source), undefined, source);
const refused = (source: string, why: RegExp) => assert.match(regexCostProblem(source) ?? "(accepted)", why, source);

describe("regexCostProblem: repetitions that split a name in many ways", () => {
  it("refuses a repetition nested in a repetition when the inner one can end anywhere", () => {
    // the review's "example.com and any subdomain" attempts (exponential on both engines)
    for (const source of ["([a-z0-9-]+\\.?)*example\\.com", "(\\w+\\.?)+example\\.com", "(.*\\.)*example\\.com"]) {
      refused(source, /^can take exponential time: ".+", nested in the repeated ".+", can end at more than one place/);
      assert.match(regexCostProblem(source) ?? "", /e\.g\. "\(\?:\[a-z0-9-\]\+\\\\\.\)\*example\\\\\.com" for example\.com and its subdomains$/);
    }
    assert.equal(
      regexCostProblem("([a-z0-9-]+\\.?)*example\\.com"),
      'can take exponential time: "[a-z0-9-]+", nested in the repeated "([a-z0-9-]+\\\\.?)*", can end at more than one place, so a name splits across the repetitions in exponentially many ways; end each repetition at a character its inner part cannot match, e.g. "(?:[a-z0-9-]+\\\\.)*example\\\\.com" for example.com and its subdomains',
    );
    for (const source of ["(a+)+", "(a*)*b", "(a?)*b", "(?:a+){2}b", "((ab)*)+c", "([a-z]+)*\\.x", "(?:a+\\.a*)*", "(?:[a-z0-9-]{1,63}\\.?){1,10}", "(?:a*|b)+c", "(?:A+a)+b"]) {
      refused(source, /^can take exponential time: /);
    }
  });
  it("refuses alternatives in a repetition that can match the same text", () => {
    refused("(a|aa)+b", /^can take exponential time: the alternatives "a" and "aa" inside the repeated "\(a\|aa\)\+" can match the same text/);
    refused("(?:[a-z]|[a-z0-9])+\\.x", /alternatives "\[a-z\]" and "\[a-z0-9\]"/);
    refused("(?:www\\.|w+\\.)*x", /alternatives/);
  });
  it("accepts repetitions whose iterations end at a character the inner part cannot match", () => {
    for (
      const source of [
        "(?:[a-z0-9-]+\\.)*example\\.com", "([a-z0-9-]+\\.)*example\\.com", "(?:[a-z0-9-]{1,63}\\.)+example\\.com",
        "(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\\.)+example\\.com", "(?:(?:[a-z]+-)*[a-z]+\\.)*example\\.com", "(?:\\.[a-z0-9-]+)*",
        "(?:[^.]+\\.)*example\\.com", "(?:ab|ac)+x", "(?:a|b)+", "(?:\\w|-)+\\.example", "(?:[a-f0-9]{2}-){5}[a-f0-9]{2}\\.mac\\.example",
        "(?:[a-z]{3})+\\.x", "(?:(?:www|api)\\.)+x",
      ]
    ) accepted(source);
  });
});

describe("regexCostProblem: parts that retry each other", () => {
  it("refuses three or more unbounded parts in a row that take the same characters", () => {
    refused(".*a.*a.*b", /^can take polynomial time on a name it does not match: ".\*", ".\*", ".\*" can each match the same characters in turn \(about 1\.6e\+7 ways to try\); make them exclusive, e\.g\. "\[\^\.\]\*"/);
    refused(".*.*.*x", /polynomial/);
    refused("[a-z]*[a-z]*[a-z]*[a-z]*\\.x", /polynomial/);
    refused(`(?:${".?".repeat(30)})x`, /^can take polynomial time on a name it does not match: "\.\?", "\.\?", "\.\?", "\.\?", … can each match the same characters in turn \(about 1\.1e\+9 ways to try\)/);
  });
  it("accepts two, or parts that a following character pins", () => {
    for (const source of [".*\\.net", "x\\..*", ".*", ".*foo.*bar.*", ".*\\..*\\.net", "[a-z]+[0-9]*[a-z]+\\.example\\.com", "(.+\\.)?xn--bcher-kva\\.de", "(.*\\.)?example\\.com"]) {
      accepted(source);
    }
  });
});

describe("regexCostProblem: sources too costly to check", () => {
  it("refuses a source whose check would take more than its budget of steps, saying so", () => {
    assert.equal(
      regexCostProblem(TOO_COSTLY),
      "is too complex to check for backtracking cost (more than 5000000 steps); split it into several simpler regexes, or use host patterns",
    );
  });
});

describe("regexCostProblem: syntax", () => {
  it("accepts every host regex the README, the examples and the tests use", () => {
    for (
      const source of [
        "example\\.com", "[a-z]\\.example\\.com", "^api[0-9]+\\.example\\.net$", "api[0-9]+\\.example\\.net", "(www|api)\\.example\\.com",
        "a\\.example|b\\.example", "re\\.example", "Example\\.COM", "(.+\\.)?xn--bcher-kva\\.de", "[\\w-]+\\.example\\.com",
        "cdn[0-9]*\\.example\\.(?:com|net)", "(?!www\\.).*\\.example\\.com", "(?<n>a)\\k<n>", "(?i:A)b", "[^]x", "[]?x", "\\x41\\u0042\\cJ",
      ]
    ) accepted(source);
  });
  it("folds case as the i flag does, and checks lookarounds and backreferences", () => {
    refused("(?:[A-Z]+[a-z]?)+x", /exponential/); // [A-Z] and [a-z] are the same letters under the i flag
    accepted("(?:[A-Z]+\\.)+x");
    refused("(?=(a+)+b)a", /"a\+", nested in the repeated "\(a\+\)\+"/);
    refused("(a)(?:\\1)+b", /"\\\\1", nested in the repeated/);
    refused("(?<!(?:x*)*)y", /exponential/);
  });
});
