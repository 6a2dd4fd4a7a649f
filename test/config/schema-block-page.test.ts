import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/parse.ts";
import { compilePolicy } from "../../src/policy/compile.ts";
import { compileUrlRules } from "../../src/policy/url-rules.ts";
import { normalizeHost } from "../../src/core/host.ts";
import { configProblems as problems } from "../helpers/config-problems.ts";

const CA = { cert: "ca.pem", key: "ca.key" };

describe("config: blockPage", () => {
  it("defaults to the built-in page, no redirect, denied TLS refused", () => {
    assert.deepEqual(parseConfig({}).blockPage, { interceptDenied: false });
  });

  it("keeps a template path, a redirect and interceptDenied (with a CA)", () => {
    assert.deepEqual(parseConfig({ ca: CA, blockPage: { template: "blocked.html", interceptDenied: true } }).blockPage, { template: "blocked.html", interceptDenied: true });
    const redirect = "https://portal.corp.example/blocked?url={{url}}&rule={{ rule }}";
    assert.deepEqual(parseConfig({ blockPage: { redirect } }).blockPage, { redirect, interceptDenied: false });
  });

  it("reports a bad redirect, both template and redirect, an unknown key", () => {
    assert.deepEqual(problems({ blockPage: { redirect: "/blocked?u={{url}}" } }), ['blockPage.redirect: expected an absolute http(s) URL, got "/blocked?u={{url}}"']);
    assert.deepEqual(problems({ blockPage: { redirect: "ftp://portal/{{url}}" } }), ['blockPage.redirect: expected an http or https URL, got "ftp://portal/{{url}}"']);
    assert.match(problems({ blockPage: { redirect: "https://portal/?u={{URL}}" } })[0] ?? "", /^blockPage\.redirect: unknown placeholder \{\{URL\}\} at line 1; known: \{\{host\}\}/);
    assert.deepEqual(problems({ blockPage: { redirect: "https://portal/ blocked" } }), ['blockPage.redirect: expected a URL of printable ASCII without spaces, got "https://portal/ blocked"']);
    assert.deepEqual(problems({ blockPage: { template: "a.html", redirect: "https://portal/" } }), [
      'blockPage: expected "template" or "redirect", not both (a redirect shows no page of ours)',
    ]);
    assert.deepEqual(problems({ blockPage: { templte: "a.html" } }), ['blockPage.templte: unknown key (did you mean "template"?)']);
    assert.deepEqual(problems({ blockPage: { interceptDenied: "yes" } }), ['blockPage.interceptDenied: expected true or false, got "yes"']);
  });

  it("needs a CA to intercept denied TLS", () => {
    assert.deepEqual(problems({ blockPage: { interceptDenied: true } }), [
      'blockPage.interceptDenied: a CA is required to show the block page over TLS; run "tollgate ca init"',
    ]);
  });
});

describe("config: rule messages", () => {
  it("reach the policy's decisions, for rules and url rules", () => {
    const config = parseConfig({
      ca: CA,
      policy: {
        rules: [{ id: "games", hosts: ["games.example"], action: "deny", message: "No games at work.\nAsk IT." }],
        urlRules: [{ id: "uploads", paths: ["/upload"], action: "deny", message: "Uploads are blocked." }],
      },
    });
    const d = compilePolicy(config.policy).decide({ host: normalizeHost("games.example"), port: 443, clientIp: "10.0.0.1" });
    assert.equal(d.message, "No games at work.\nAsk IT.");
    const u = compileUrlRules(config.policy.urlRules).decide({ host: normalizeHost("a.example"), path: "/upload/x", method: "POST" });
    assert.equal(u.message, "Uploads are blocked.");
    const none = compilePolicy(config.policy).decide({ host: normalizeHost("other.example"), port: 443, clientIp: "10.0.0.1" });
    assert.equal("message" in none, false);
  });

  it("reports empty, too long and control characters", () => {
    assert.deepEqual(problems({ policy: { rules: [{ action: "deny", message: "" }] } }), ["policy.rules[0].message: expected a message of 1 to 1000 characters, got 0"]);
    assert.deepEqual(problems({ policy: { rules: [{ action: "deny", message: "x".repeat(1001) }] } }), ["policy.rules[0].message: expected a message of 1 to 1000 characters, got 1001"]);
    assert.deepEqual(problems({ policy: { urlRules: [{ id: "u", action: "deny", message: "a\u0007b" }] } }), [
      "policy.urlRules[0].message: expected a message without control characters (line breaks are fine)",
    ]);
  });

  it("reports a lone surrogate (an emoji cut in half), which no block-portal URL could carry; whole emoji are fine", () => {
    // JSON "\ud83d" in the config file: the text a redirect's {{message}} would fail to encode
    assert.deepEqual(problems({ policy: { rules: [{ action: "deny", message: "Blocked \ud83d - ask the help desk" }] } }), [
      "policy.rules[0].message: expected a message of whole characters, got half of one (a lone surrogate) at character 9",
    ]);
    assert.deepEqual(problems({ policy: { urlRules: [{ id: "u", action: "deny", message: "\ude00 x" }] } }), [
      "policy.urlRules[0].message: expected a message of whole characters, got half of one (a lone surrogate) at character 1",
    ]);
    assert.equal(parseConfig({ policy: { rules: [{ action: "deny", message: "Blocked \ud83d\ude00" }] } }).policy.rules[0]?.message, "Blocked \u{1f600}");
    assert.throws(() => compileUrlRules([{ id: "a", action: "deny", message: "x\ud800" }]), /urlRules\[0\]\.message: expected a message of whole characters/);
  });

  it("are checked by the policy compilers too (a policy may come from elsewhere)", () => {
    assert.throws(() => compilePolicy({ defaultAction: "deny", rules: [{ id: "a", action: "deny", message: 5 as unknown as string }] }), /rules\[0\]\.message: expected a message \(a string\), got 5/);
    assert.throws(() => compileUrlRules([{ id: "a", action: "deny", message: "\u0000" }]), /urlRules\[0\]\.message: expected a message without control characters/);
  });
});
