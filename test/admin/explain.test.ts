import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { explainConfig, explainQuery, parseExplainBody } from "../../src/admin/explain.ts";
import { parseConfig } from "../../src/config/parse.ts";
import { compilePolicy } from "../../src/policy/compile.ts";

const config = parseConfig({
  listeners: [
    { name: "explicit", mode: "explicit", listen: "127.0.0.1:3128" },
    { name: "tproxy", mode: "transparent", listen: "127.0.0.1:8443" },
  ],
  ca: { cert: "ca.pem", key: "ca.key" },
  policy: {
    defaultAction: "deny",
    rules: [
      { id: "t-only", hosts: ["t.example"], listeners: ["tproxy"], action: "allow" },
      { id: "corp", hosts: [".corp.example"], action: "allow", decryption: "decrypt" },
      { id: "web", ports: [80, 443], action: "allow" },
    ],
    urlRules: [{ id: "no-admin", hosts: [".corp.example"], paths: ["/admin"], methods: ["POST"], action: "deny" }],
  },
});

describe("explainConfig: url rules decided by the response's type", () => {
  const typed = parseConfig({
    policy: {
      defaultAction: "allow",
      urlRules: [
        { id: "partner-video", hosts: ["tv.partner.example"], responseTypes: ["video/*"], action: "allow" },
        { id: "no-video", responseTypes: ["video/*"], action: "deny" },
        { id: "no-exe", responseTypes: ["application/x-msdownload"], action: "deny" },
      ],
    },
  });

  it("without responseType: the request's verdict, and the rules the response's type may still apply", () => {
    const r = explainConfig(typed, { url: "http://tv.example/watch" });
    assert.deepEqual(r.url, {
      action: "allow",
      ruleId: "default",
      reason: "no url rule matched; default allow",
      byResponse: [
        { ruleId: "no-video", action: "deny", types: ["video/*"] },
        { ruleId: "no-exe", action: "deny", types: ["application/x-msdownload"] },
      ],
    });
  });

  it("with responseType: the verdict on that response", () => {
    assert.deepEqual(explainConfig(typed, { url: "http://tv.example/watch", responseType: "video/mp4; codecs=avc1" }).url, {
      action: "deny",
      ruleId: "no-video",
      reason: 'url rule "no-video" matched response type "video/mp4" (pattern "video/*")',
    });
    assert.equal(explainConfig(typed, { url: "http://tv.partner.example/", responseType: "video/mp4" }).url?.ruleId, "partner-video");
    assert.equal(explainConfig(typed, { url: "http://tv.example/", responseType: "text/html" }).url?.ruleId, "default");
    assert.throws(() => explainConfig(typed, { url: "http://tv.example/", responseType: "video/*" }), /Invalid response type "video\/\*": expected a media type like "video\/mp4"/);
    assert.deepEqual(parseExplainBody({ url: "http://tv.example/", responseType: "video/mp4" }), { url: "http://tv.example/", responseType: "video/mp4" });
  });

  it("names the deciding rule's body limits", () => {
    const limited = parseConfig({ policy: { defaultAction: "allow", urlRules: [{ id: "small", action: "allow", maxRequestBytes: 1000 }] } });
    const url = explainConfig(limited, { url: "http://files.example/up", method: "POST" }).url;
    assert.equal(url?.maxRequestBytes, 1000);
    assert.equal(url?.maxResponseBytes, undefined);
  });
});

describe("explainConfig", () => {
  it("takes the port from the URL scheme or the URL, path for url rules of decrypting rules", () => {
    const r = explainConfig(config, { url: "https://git.corp.example/admin/x", method: "post" });
    assert.equal(r.port, 443);
    assert.equal(r.decision.ruleId, "corp");
    assert.equal(r.decision.decryption, "decrypt");
    assert.equal(r.url?.action, "deny");
    assert.equal(r.url?.ruleId, "no-admin");
    assert.match(r.url?.reason ?? "", /path "\/admin\/x" \(pattern "\/admin"\) and method POST/);
    assert.equal(explainConfig(config, { url: "https://git.corp.example/admin" }).url?.action, "allow");
    assert.equal(explainConfig(config, { url: "http://a.example:8080/" }).port, 8080);
    assert.equal(explainConfig(config, { url: "http://a.example/" }).port, 80);
    assert.equal(explainConfig(config, { url: "https://a.example/" }).url, undefined, "no url verdict for https without decryption");
  });

  it("gives a url verdict for plain http:// and ws:// URLs: the gateway reads those requests as they are", () => {
    const denied = explainConfig(config, { url: "http://git.corp.example/admin", method: "POST" });
    assert.equal(denied.decision.action, "allow");
    assert.equal(denied.url?.action, "deny");
    assert.equal(denied.url?.ruleId, "no-admin");
    assert.equal(explainConfig(config, { url: "ws://git.corp.example/admin" }).url?.ruleId, "default");
    assert.equal(explainConfig(config, { url: "http://a.example/" }).url?.action, "allow");
    assert.equal(explainConfig(config, { url: "http://nothing.example:8080/" }).url, undefined, "no url verdict for a denied connection");
  });

  it("names the parent proxy of an allowed flow, none for a direct one or a denial", () => {
    const via = parseConfig({ parents: { corp: { url: "http://10.0.0.8:3128" } }, policy: { defaultAction: "deny", defaultParent: "corp", rules: [{ id: "web", ports: [443], action: "allow" }] } });
    assert.equal(explainConfig(via, { url: "https://a.example/" }).decision.parent, "corp");
    assert.equal(explainConfig(via, { url: "http://a.example/" }).decision.parent, undefined, "the default deny");
    assert.equal(explainConfig(config, { url: "https://a.example/" }).decision.parent, undefined);
  });

  it("defaults the listener from the mode and honours an explicit one", () => {
    const explicit = explainConfig(config, { host: "t.example" });
    assert.equal(explicit.listener, "explicit");
    assert.equal(explicit.decision.ruleId, "web");
    assert.match(explicit.rules[0]?.reason ?? "", /listener "explicit" not in \["tproxy"\]/);
    const transparent = explainConfig(config, { host: "t.example", mode: "transparent" });
    assert.equal(transparent.listener, "tproxy");
    assert.equal(transparent.decision.ruleId, "t-only");
    const named = explainConfig(config, { host: "t.example", listener: "tproxy" });
    assert.equal(named.decision.ruleId, "t-only");
    assert.equal(named.mode, "transparent", "a listener's flows are of its mode");
    assert.throws(() => explainConfig(config, { host: "t.example", listener: "tproxy", mode: "socks5" }), /Listener "tproxy" carries "transparent" flows, not "socks5"/);
    assert.equal(explainConfig(config, { host: "t.example", mode: "reverse" }).listener, undefined);
  });

  it("normalises the host and lists every rule in order", () => {
    const r = explainConfig(config, { host: "GIT.Corp.Example.", port: 22 });
    assert.equal(r.host, "git.corp.example");
    assert.deepEqual(r.rules.map((x) => [x.index, x.ruleId, x.matched]), [[0, "t-only", false], [1, "corp", true], [2, "web", false]]);
    assert.equal(explainConfig(config, { host: "[::1]", port: 443 }).host, "[::1]");
  });

  it("evaluates at a given time for scheduled rules (default now); a bad time is refused", () => {
    const timed = parseConfig({
      policy: {
        defaultAction: "deny",
        rules: [{ id: "lunch", hosts: ["x.example"], action: "allow", schedule: { days: ["mon", "tue", "wed", "thu", "fri"], from: "12:00", to: "13:00", timeZone: "Europe/Berlin" } }],
      },
    });
    const lunch = explainConfig(timed, parseExplainBody({ host: "x.example", at: "2026-11-23T12:15:00+01:00" }));
    assert.equal(lunch.decision.ruleId, "lunch");
    assert.match(lunch.decision.reason, /during mon-fri 12:00-13:00 Europe\/Berlin \(now Mon 12:15 Europe\/Berlin\)/);
    const evening = explainConfig(timed, { host: "x.example", at: "2026-11-23T18:00:00Z" });
    assert.equal(evening.decision.ruleId, "default");
    assert.equal(evening.rules[0]?.reason, "Mon 19:00 Europe/Berlin is outside its schedule (mon-fri 12:00-13:00 Europe/Berlin)");
    assert.throws(() => explainConfig(timed, { host: "x.example", at: "tomorrow" }), /Invalid time "tomorrow"/);
  });

  it("evaluates as a proxy user when given one", () => {
    const HASH = `pbkdf2-sha256$100000$${btoa("0123456789abcdef")}$${btoa("0123456789abcdef0123456789abcdef")}`;
    const withUsers = parseConfig({
      proxyAuth: { users: [{ name: "alice", passwordHash: HASH }] },
      policy: { defaultAction: "deny", rules: [{ id: "alice", hosts: ["x.example"], users: ["alice"], action: "allow" }] },
    });
    const alice = explainConfig(withUsers, { host: "x.example", user: "alice" });
    assert.equal(alice.decision.ruleId, "alice");
    assert.equal(alice.user, "alice");
    assert.match(alice.decision.reason, /for user "alice"/);
    const nobody = explainConfig(withUsers, { host: "x.example" });
    assert.equal(nobody.decision.ruleId, "default");
    assert.equal(nobody.rules[0]?.reason, 'no authenticated user (rule needs one of ["alice"])');
    assert.throws(() => explainConfig(withUsers, { host: "x.example", user: "" }), /Invalid user/);
    assert.equal(parseExplainBody({ host: "x.example", user: "alice" }).user, "alice");
  });

  it("evaluates a user's groups: given, or a local user's configured ones", () => {
    const HASH = `pbkdf2-sha256$100000$${btoa("0123456789abcdef")}$${btoa("0123456789abcdef0123456789abcdef")}`;
    const withGroups = parseConfig({
      proxyAuth: { users: [{ name: "alice", passwordHash: HASH, groups: ["Engineers"] }, { name: "bob", passwordHash: HASH, groups: ["sales"] }] },
      policy: {
        defaultAction: "deny",
        rules: [{ id: "eng", hosts: ["x.example"], groups: ["engineers"], action: "allow", decryption: "exception" }],
        urlRules: [{ id: "sales-no-admin", paths: ["/admin"], groups: ["sales"], action: "deny" }],
      },
    });
    const alice = explainConfig(withGroups, { host: "x.example", user: "alice" });
    assert.equal(alice.decision.ruleId, "eng");
    assert.deepEqual(alice.groups, ["engineers"]);
    assert.match(alice.decision.reason, /for user "alice" in group "engineers"$/);
    const bob = explainConfig(withGroups, { host: "x.example", user: "bob" });
    assert.equal(bob.decision.ruleId, "default");
    assert.equal(bob.rules[0]?.reason, 'user "bob" not a member of ["engineers"] (their groups: ["sales"])');
    const dirk = explainConfig(withGroups, { host: "x.example", user: "dirk", groups: ["ENGINEERS"] });
    assert.equal(dirk.decision.ruleId, "eng", "a directory user's groups, as given");
    const plain = explainConfig(withGroups, { url: "http://x.example/admin/", user: "dirk", groups: ["engineers", "sales"] });
    assert.equal(plain.url?.ruleId, "sales-no-admin", "url rules see the groups too");
    assert.throws(() => explainConfig(withGroups, { host: "x.example", groups: ["sales"] }), /"groups" needs a "user"/);
    assert.throws(() => explainConfig(withGroups, { host: "x.example", user: "dirk", groups: ["a\nb"] }), /Invalid group: expected a group name/);
    assert.deepEqual(parseExplainBody({ host: "x.example", user: "dirk", groups: ["a", "b"] }).groups, ["a", "b"]);
    assert.throws(() => parseExplainBody({ host: "x.example", groups: "a" }), /"groups" must be an array of strings/);
    assert.throws(() => parseExplainBody({ host: "x.example", groups: [1] }), /"groups" must be an array of strings/);
  });

  it("throws TypeError/RangeError on bad queries", () => {
    assert.throws(() => explainConfig(config, {}), TypeError);
    assert.throws(() => explainConfig(config, { host: "a.example", port: 70000 }), RangeError);
    assert.throws(() => explainConfig(config, { url: "https://a.example:8443/", port: 443 }), /contradicts/);
    assert.throws(() => explainConfig(config, { url: "mailto:x@a.example" }), /scheme/);
    assert.throws(() => explainConfig(config, { host: "a.example", clientIp: "10.0.0.0/8" }), /client address/);
  });

  it("falls back to decide() for a policy without explain()", () => {
    const compiled = compilePolicy(config.policy);
    const r = explainQuery({ policy: { decide: (q) => compiled.decide(q) }, listeners: [] }, { host: "x.example" });
    assert.equal(r.decision.ruleId, "web");
    assert.deepEqual(r.rules, []);
  });
});

describe("explainConfig: override fields", () => {
  const overridden = parseConfig({
    policy: {
      defaultAction: "allow",
      urlRules: [
        { id: "no-delete", methods: ["DELETE"], action: "deny" },
        { id: "no-admin", paths: ["/admin"], action: "deny" },
      ],
    },
  });

  it("judges the methods and paths the given fields and the URL's _method name, as the gateway does", () => {
    const url = "http://app.example/public";
    assert.equal(explainConfig(overridden, { url, method: "POST" }).url?.ruleId, "default");
    const method = explainConfig(overridden, { url, method: "POST", headers: ["X-HTTP-Method-Override:  delete "] }).url;
    assert.equal(method?.reason, 'url rule "no-delete" matched method DELETE (the request read with X-HTTP-Method-Override: "DELETE")');
    const path = explainConfig(overridden, { url, headers: ["Accept: */*", "X-Original-URL: /admin/users"] }).url;
    assert.equal(path?.ruleId, "no-admin");
    assert.equal(explainConfig(overridden, { url: `${url}?_method=DELETE`, method: "POST" }).url?.ruleId, "no-delete");
    const many = explainConfig(overridden, { url, method: "POST", headers: ["X-HTTP-Method: PUT, PATCH, DELETE"] }).url;
    assert.equal(many?.ruleId, "override-fields");
  });

  it("refuses a field that is not \"Name: value\", and too many fields", () => {
    for (const line of ["X-HTTP-Method-Override DELETE", ": DELETE", "Bad Name: x", "X-A: a\r\nX-B: b"]) {
      assert.throws(() => explainConfig(overridden, { url: "http://a.example/", headers: [line] }), { name: "TypeError", message: /^Invalid header/ }, line);
    }
    assert.throws(() => explainConfig(overridden, { url: "http://a.example/", headers: Array(101).fill("X-A: 1") }), /Too many headers: at most 100/);
    assert.deepEqual(parseExplainBody({ url: "http://a.example/", headers: ["X-Original-URL: /admin"] }), { url: "http://a.example/", headers: ["X-Original-URL: /admin"] });
    assert.throws(() => parseExplainBody({ url: "http://a.example/", headers: { "X-Original-URL": "/admin" } }), /"headers" must be an array of strings/);
  });
});

describe("parseExplainBody", () => {
  it("keeps known fields, drops nulls, refuses the rest", () => {
    assert.deepEqual(parseExplainBody({ host: "a", port: 1, clientIp: null }), { host: "a", port: 1 });
    assert.throws(() => parseExplainBody({ host: "a", extra: 1 }), /Unknown field "extra"/);
    assert.throws(() => parseExplainBody({ host: 1 }), /"host" must be a string/);
    assert.throws(() => parseExplainBody({ port: 1 }), /"url" or "host"/);
    assert.throws(() => parseExplainBody("https://a/"), /JSON object/);
    assert.throws(() => parseExplainBody(JSON.parse('{"__proto__": {"x": 1}, "host": "a"}')), /Unknown field "__proto__"/);
  });
});
