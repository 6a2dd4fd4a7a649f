import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/parse.ts";
import { compilePolicy } from "../../src/policy/compile.ts";
import { compileUrlRules } from "../../src/policy/url-rules.ts";
import { normalizeHost } from "../../src/core/host.ts";
import { configProblems as problems } from "../helpers/config-problems.ts";

const ca = { cert: "ca.pem", key: "ca.key" };
const urlRules = (rules: unknown[]) => ({ policy: { urlRules: rules } });

describe("config: rule upstreamTls", () => {
  it("defaults to verify and reaches the decision", () => {
    const config = parseConfig({
      ca,
      policy: {
        rules: [
          { id: "lab", hosts: ["lab.test"], action: "allow", decryption: "decrypt", upstreamTls: "insecure" },
          { id: "web", action: "allow", decryption: "decrypt" },
        ],
      },
    });
    assert.deepEqual(config.policy.rules.map((r) => r.upstreamTls), ["insecure", "verify"]);
    const policy = compilePolicy(config.policy);
    const decide = (host: string) => policy.decide({ host: normalizeHost(host), port: 443, clientIp: "127.0.0.1" });
    assert.equal(decide("lab.test").upstreamTls, "insecure");
    assert.equal(decide("other.test").upstreamTls, "verify");
  });

  it("reports a bad value", () => {
    assert.deepEqual(problems({ policy: { rules: [{ action: "allow", upstreamTls: "skip" }] } }), [
      'policy.rules[0].upstreamTls: expected "verify" or "insecure", got "skip"',
    ]);
  });
});

describe("config: rule uninspectable", () => {
  it("defaults to refuse; tunnel reaches the decision of a rule that decrypts", () => {
    const config = parseConfig({
      ca,
      policy: {
        rules: [
          { id: "grpc", hosts: ["*.grpc.test"], action: "allow", decryption: "decrypt", uninspectable: "tunnel" },
          { id: "web", action: "allow", decryption: "decrypt" },
        ],
      },
    });
    assert.deepEqual(config.policy.rules.map((r) => r.uninspectable), ["tunnel", undefined]);
    const policy = compilePolicy(config.policy);
    const decide = (host: string) => policy.decide({ host: normalizeHost(host), port: 443, clientIp: "127.0.0.1" });
    assert.equal(decide("api.grpc.test").uninspectable, "tunnel");
    assert.equal(decide("other.test").uninspectable, undefined);
  });

  it("reports a bad value", () => {
    assert.deepEqual(problems({ policy: { rules: [{ action: "allow", uninspectable: "allow" }] } }), [
      'policy.rules[0].uninspectable: expected "refuse" or "tunnel", got "allow"',
    ]);
  });
});

describe("config: a CA for decrypting rules", () => {
  it("is required when a rule decrypts", () => {
    assert.deepEqual(problems({ policy: { rules: [{ id: "x", action: "allow", decryption: "decrypt" }] } }), [
      'ca: a CA is required because rule "x" decrypts; run "tollgate ca init"',
    ]);
    assert.deepEqual(problems({ policy: { rules: [{ action: "deny" }, { action: "allow", decryption: "decrypt" }] } }), [
      'ca: a CA is required because rule "rule-2" decrypts; run "tollgate ca init"',
    ]);
  });

  it("is reported alongside other problems", () => {
    const found = problems({ limits: { maxHeaders: 0 }, policy: { rules: [{ id: "x", action: "allow", decryption: "decrypt" }] } });
    assert.deepEqual(found, [
      "limits.maxHeaders: expected an integer 1-1000, got 0",
      'ca: a CA is required because rule "x" decrypts; run "tollgate ca init"',
    ]);
  });

  it("is not required without decryption", () => {
    assert.doesNotThrow(() => parseConfig({ policy: { rules: [{ action: "allow", decryption: "exception" }] } }));
    assert.doesNotThrow(() => parseConfig({ ca, policy: { rules: [{ action: "allow", decryption: "decrypt" }] } }));
  });
});

describe("config: rule ids", () => {
  it('reserves "default"', () => {
    assert.deepEqual(problems({ policy: { rules: [{ id: "default", action: "allow" }] } }), [
      'policy.rules[0].id: expected an id other than "default" (reserved for the default decision), got "default"',
    ]);
  });
});

describe("config: rules[].schedule", () => {
  it("is kept as written and compiles; bad fields are named at their path", () => {
    const schedule = { days: ["sat", "sun"], from: "08:00", to: "24:00", timeZone: "Asia/Tokyo" };
    const config = parseConfig({ policy: { rules: [{ id: "weekend", action: "allow", schedule }] } });
    assert.deepEqual(config.policy.rules[0]?.schedule, schedule);
    const d = compilePolicy(config.policy).decide({ host: normalizeHost("a.example"), port: 443, clientIp: "10.0.0.1", now: Date.parse("2026-11-21T23:30:00Z") });
    assert.equal(d.ruleId, "weekend", "Sunday 08:30 in Tokyo");
    assert.deepEqual(problems({ policy: { rules: [{ id: "w", action: "allow", schedule: { days: ["mon", "noday"], from: "25:00", timeZone: "Atlantis/Capital" } }] } }), [
      'policy.rules[0].schedule.days[1]: expected "mon", "tue", "wed", "thu", "fri", "sat" or "sun", got "noday"',
      'policy.rules[0].schedule.from: expected a time "HH:MM" (00:00-24:00), got "25:00"',
      'policy.rules[0].schedule.timeZone: expected an IANA time zone like "Europe/Berlin", got "Atlantis/Capital" (unknown to this runtime)',
    ]);
    assert.deepEqual(problems({ policy: { rules: [{ id: "w", action: "allow", schedule: { from: "09:00", to: "09:00" } }] } }), [
      'policy.rules[0].schedule: expected "from" and "to" to differ (leave both out for the whole day)',
    ]);
  });
});

describe("config: policy.urlRules", () => {
  it("defaults to none", () => {
    assert.deepEqual(parseConfig({}).policy.urlRules, []);
    assert.deepEqual(parseConfig({ policy: {} }).policy.urlRules, []);
  });

  it("keeps rules in order with log defaulting to true, frozen, and compilable", () => {
    const config = parseConfig(urlRules([
      { id: "no-admin", hosts: ["*.corp.test"], paths: ["/admin", "/api/*/private"], methods: ["GET", "POST"], action: "deny" },
      { id: "quiet", paths: ["/health"], action: "allow", log: false },
    ]));
    assert.deepEqual(config.policy.urlRules, [
      { id: "no-admin", hosts: ["*.corp.test"], paths: ["/admin", "/api/*/private"], methods: ["GET", "POST"], action: "deny", log: true },
      { id: "quiet", paths: ["/health"], action: "allow", log: false },
    ]);
    assert.ok(Object.isFrozen(config.policy.urlRules));
    assert.ok(Object.isFrozen(config.policy.urlRules[0]?.paths));
    const rules = compileUrlRules(config.policy.urlRules);
    const d = rules.decide({ host: normalizeHost("git.corp.test"), path: "/api/v1/private", method: "POST" });
    assert.deepEqual([d.ruleId, d.action, d.log], ["no-admin", "deny", true]);
  });

  it("requestHeaders: header edits of an allow rule; refused on a deny rule and for framing fields", () => {
    const config = parseConfig(urlRules([
      { id: "tenants", hosts: ["login.example"], action: "allow", requestHeaders: { set: { "Restrict-Access-To-Tenants": "contoso.com" }, remove: ["X-Internal"] } },
    ]));
    assert.deepEqual(config.policy.urlRules[0]?.requestHeaders, { remove: ["X-Internal"], set: [["Restrict-Access-To-Tenants", "contoso.com"]], add: [] });
    const d = compileUrlRules(config.policy.urlRules).decide({ host: normalizeHost("login.example"), path: "/", method: "GET" });
    assert.deepEqual(d.requestHeaders?.set, [["Restrict-Access-To-Tenants", "contoso.com"]]);
    const deny = problems(urlRules([{ id: "d", action: "deny", requestHeaders: { add: { "X-A": "1" } } }]));
    assert.equal(deny.length, 1);
    assert.equal(deny[0], 'policy.urlRules[0]: expected "requestHeaders" and "responseHeaders" only on an "allow" rule (a denied request goes nowhere)');
    const alt = parseConfig(urlRules([{ id: "no-h3", action: "allow", responseHeaders: { remove: ["Alt-Svc"] } }]));
    assert.deepEqual(alt.policy.urlRules[0]?.responseHeaders, { remove: ["Alt-Svc"], set: [], add: [] });
    assert.deepEqual(problems(urlRules([{ id: "f", action: "allow", requestHeaders: { set: { "Content-Length": "1" } } }])).length, 1);
  });

  it("reports bad fields at their exact path", () => {
    assert.deepEqual(problems(urlRules([{ id: "a", action: "deny" }, { id: "b", paths: ["/ok", "admin"], action: "deny" }])), [
      'policy.urlRules[1].paths[1]: expected a path starting with "/", got "admin"',
    ]);
    assert.deepEqual(problems(urlRules([{ id: "a", paths: ["/a/../b"], action: "deny" }])), [
      'policy.urlRules[0].paths[0]: expected a path pattern without "." or ".." segments, got "/a/../b"',
    ]);
    assert.deepEqual(problems(urlRules([{ id: "a", paths: [7], action: "deny" }])), [
      'policy.urlRules[0].paths[0]: expected a path starting with "/", got 7',
    ]);
    assert.deepEqual(problems(urlRules([{ id: "a", methods: ["get"], action: "deny" }])), [
      'policy.urlRules[0].methods[0]: expected an uppercase HTTP method like "GET", got "get" (write "GET")',
    ]);
    assert.match(problems(urlRules([{ id: "a", hosts: ["exa mple.test"], action: "deny" }]))[0] ?? "", /^policy\.urlRules\[0\]\.hosts\[0\]: expected a host name/);
    assert.deepEqual(problems(urlRules([{ id: "a", action: "block" }])), ['policy.urlRules[0].action: expected "allow" or "deny", got "block"']);
    assert.deepEqual(problems(urlRules([{ action: "deny" }])), ["policy.urlRules[0].id: required key is missing"]);
    assert.deepEqual(problems(urlRules([{ id: "default", action: "deny" }])), [
      'policy.urlRules[0].id: expected an id other than "default" (reserved for the default decision), got "default"',
    ]);
    assert.deepEqual(problems(urlRules([{ id: "a", action: "deny", path: ["/x"] }])), ['policy.urlRules[0].path: unknown key (did you mean "paths"?)']);
    assert.deepEqual(problems({ policy: { urlRules: {} } }), ["policy.urlRules: expected an array of url rules, got an object"]);
  });

  it("reports duplicate ids", () => {
    assert.deepEqual(problems(urlRules([{ id: "a", action: "deny" }, { id: "b", action: "deny" }, { id: "a", action: "allow" }])), [
      'policy.urlRules[2].id: duplicate url rule id "a", first at index 0',
    ]);
  });
});
