import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/parse.ts";
import { checkPolicy } from "../../src/admin/policy-check.ts";
import { compilePolicy } from "../../src/policy/compile.ts";
import { configProblems as problems } from "../helpers/config-problems.ts";

const parents = {
  corp: { url: "http://Proxy.Corp.Example:3128", username: "gw", passwordFile: "/run/secrets/corp" },
  lab: { url: "http://[2001:db8::8]:8080" },
};

describe("config: parents", () => {
  it("parses named parents, a default parent and per-rule choices", () => {
    const config = parseConfig({
      parents,
      policy: {
        defaultAction: "allow",
        defaultParent: "corp",
        rules: [{ id: "intranet", hosts: [".corp.example"], action: "allow", parent: "direct" }, { id: "lab", hosts: [".lab"], action: "allow", parent: "lab" }],
      },
    });
    assert.deepEqual(config.parents["corp"], {
      url: "http://Proxy.Corp.Example:3128",
      protocol: "http",
      host: { kind: "dns", name: "proxy.corp.example" },
      port: 3128,
      authority: "proxy.corp.example:3128",
      username: "gw",
      passwordFile: "/run/secrets/corp",
      ejectMs: 30_000,
    });
    assert.deepEqual(config.parents["lab"], { url: "http://[2001:db8::8]:8080", protocol: "http", host: { kind: "ipv6", address: "2001:db8::8" }, port: 8080, authority: "[2001:db8::8]:8080", ejectMs: 30_000 });
    assert.equal(config.policy.defaultParent, "corp");
    const policy = compilePolicy(config.policy);
    const q = (name: string) => ({ host: { kind: "dns" as const, name }, port: 443, clientIp: "10.0.0.1" });
    assert.equal(policy.decide(q("www.corp.example")).parent, undefined);
    assert.equal(policy.decide(q("x.lab")).parent, "lab");
    assert.equal(policy.decide(q("example.com")).parent, "corp");
    assert.deepEqual(parseConfig({}).parents, {});
  });

  it("reports a rule or default naming no parent, at the field", () => {
    assert.deepEqual(problems({ parents, policy: { defaultParent: "crop", rules: [{ action: "allow" }, { action: "allow", parent: "labb" }] } }), [
      'policy.defaultParent: no parent named "crop"',
      'policy.rules[1].parent: no parent named "labb"',
    ]);
    assert.deepEqual(problems({ policy: { rules: [{ action: "allow", parent: "corp" }] } }), [
      'policy.rules[0].parent: names parent "corp", but there is no "parents" section',
    ]);
  });

  it("fallback: another parent, never itself, no loops; ejectMs defaults to 30 s", () => {
    const config = parseConfig({ parents: { ...parents, corp: { ...parents.corp, fallback: "lab", ejectMs: 5000 } } });
    assert.equal(config.parents["corp"]?.fallback, "lab");
    assert.equal(config.parents["corp"]?.ejectMs, 5000);
    assert.deepEqual(problems({ parents: { a: { url: "http://10.0.0.1:3128", fallback: "nope" } } }), ['parents.a.fallback: no parent named "nope"']);
    assert.deepEqual(problems({ parents: { a: { url: "http://10.0.0.1:3128", fallback: "a" } } }), ["parents.a.fallback: a parent cannot be its own fallback"]);
    assert.deepEqual(problems({ parents: { a: { url: "http://10.0.0.1:3128", fallback: "b" }, b: { url: "http://10.0.0.2:3128", fallback: "a" } } }), [
      "parents.a.fallback: the fallbacks loop: a → b → a",
      "parents.b.fallback: the fallbacks loop: b → a → b",
    ]);
  });

  it("healthCheck: intervalMs 10 s and timeoutMs 2 s by default; bounds named", () => {
    const config = parseConfig({ parents: { ...parents, lab: { ...parents.lab, healthCheck: {} }, corp: { ...parents.corp, healthCheck: { intervalMs: 5000, timeoutMs: 300 } } } });
    assert.deepEqual(config.parents["lab"]?.healthCheck, { intervalMs: 10_000, timeoutMs: 2_000 });
    assert.deepEqual(config.parents["corp"]?.healthCheck, { intervalMs: 5000, timeoutMs: 300 });
    assert.deepEqual(problems({ parents: { a: { url: "http://10.0.0.1:3128", healthCheck: { intervalMs: 10, timeoutMs: 0 } } } }), [
      "parents.a.healthCheck.intervalMs: expected an integer 1000-3600000, got 10",
      "parents.a.healthCheck.timeoutMs: expected an integer 100-60000, got 0",
    ]);
  });

  it("reports bad parent entries", () => {
    assert.deepEqual(problems({ parents: { direct: { url: "http://10.0.0.8:3128" } } }), [
      'parents.direct: "direct" is reserved (a rule\'s "parent": "direct" means no parent)',
    ]);
    assert.deepEqual(
      problems({
        parents: {
          a: { url: "https://10.0.0.8:3128" },
          b: { url: "http://10.0.0.8" },
          c: { url: "http://gw:pw@10.0.0.8:3128" },
          d: { url: "http://10.0.0.8:3128/path" },
          e: { url: "http://10.0.0.8:3128", username: "gw" },
          f: { url: "http://10.0.0.8:3128", proxy: true },
        },
      }),
      [
        'parents.a.url: expected an "http://host:port" or "socks5://host:port" URL, got "https://10.0.0.8:3128" (TLS to the parent proxy is not supported; use http)',
        'parents.b.url: expected an "http://host:port" or "socks5://host:port" URL, got "http://10.0.0.8" (host:port with a port 1-65535 is required)',
        'parents.c.url: expected an "http://host:port" or "socks5://host:port" URL, got "http://gw:pw@10.0.0.8:3128" (no credentials in the URL: use "username" and "passwordFile")',
        'parents.d.url: expected an "http://host:port" or "socks5://host:port" URL, got "http://10.0.0.8:3128/path" (no path, query or fragment)',
        'parents.e: expected "username" and "passwordFile" together',
        'parents.f.proxy: unknown key (expected one of "url", "username", "passwordFile", "fallback", "ejectMs", "forwardedFor", "healthCheck")',
      ],
    );
  });

  it("a bare policy is checked with the parents it names taken to exist", () => {
    const r = checkPolicy({ defaultParent: "corp", rules: [{ action: "allow", parent: "lab" }, { action: "allow", parent: "direct" }] });
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.policy.defaultParent, "corp");
    const bad = checkPolicy({ rules: [{ action: "allow", parent: "no such" }] });
    assert.ok(!bad.ok);
    assert.match(bad.issues[0]?.message ?? "", /parent/);
  });

  it("forwardedFor: for HTTP parents only", () => {
    const config = parseConfig({ parents: { corp: { url: "http://10.0.0.8:3128", forwardedFor: true }, plain: { url: "http://10.0.0.9:3128" } } });
    assert.equal(config.parents["corp"]?.forwardedFor, true);
    assert.equal(config.parents["plain"]?.forwardedFor, undefined);
    assert.deepEqual(problems({ parents: { s: { url: "socks5://10.0.0.8:1080", forwardedFor: true } } }), ['parents.s: "forwardedFor" is for an http:// parent (SOCKS5 has no headers)']);
  });
});
