import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { normalizeHost } from "../../src/core/host.ts";
import type { UrlPolicy, UrlRuleDefinition } from "../../src/policy/types.ts";
import { compileUrlRules, methodError, OVERRIDES_RULE } from "../../src/policy/url-rules.ts";
import { HeaderList } from "../../src/protocol/http-headers.ts";
import { requestOverrides } from "../../src/protocol/request-overrides.ts";
import { decideResponse } from "../../src/policy/response-types.ts";
import { parseHostList } from "../../src/policy/host-list.ts";

const ask = (rules: UrlPolicy, path: string, method = "GET", host = "app.example") =>
  rules.decide({ host: normalizeHost(host), path, method });
const id = (rules: UrlPolicy, path: string, method = "GET", host = "app.example") => ask(rules, path, method, host).ruleId;

describe("compileUrlRules: decisions", () => {
  it("an IP or CIDR host matches the NAT64 form of an address in it", () => {
    const rules = compileUrlRules([{ id: "net", hosts: ["93.184.216.0/24"], action: "deny" }]);
    assert.equal(id(rules, "/", "GET", "93.184.216.34"), "net");
    assert.equal(id(rules, "/", "GET", "[64:ff9b::5db8:d822]"), "net");
    assert.equal(ask(rules, "/", "GET", "[64:ff9b::5db8:d822]").reason, 'url rule "net" matched host "[64:ff9b::5db8:d822]" (pattern "93.184.216.0/24")');
    assert.equal(id(rules, "/", "GET", "[2002:5db8:d822::1]"), "default");
  });
  it("allows by default when nothing matches", () => {
    assert.deepEqual(ask(compileUrlRules([]), "/anything"), {
      action: "allow",
      ruleId: "default",
      reason: "no url rule matched; default allow",
      log: false,
    });
  });

  it("gives the matching rule with a clear reason", () => {
    const rules = compileUrlRules([{ id: "no-admin", paths: ["/admin"], methods: ["GET", "POST"], action: "deny", log: true }]);
    assert.deepEqual(ask(rules, "/admin"), {
      action: "deny",
      ruleId: "no-admin",
      reason: 'url rule "no-admin" matched path "/admin" and method GET',
      log: true,
    });
    assert.equal(ask(rules, "/admin/users?x=1", "POST").reason, 'url rule "no-admin" matched path "/admin/users" (pattern "/admin") and method POST');
    const hosts = compileUrlRules([{ id: "h", hosts: [".example"], paths: ["/x/*"], action: "deny" }]);
    assert.equal(ask(hosts, "/x/y").reason, 'url rule "h" matched host "app.example" (pattern ".example") and path "/x/y" (pattern "/x/*")');
    const any = compileUrlRules([{ id: "all", action: "deny" }]);
    assert.equal(ask(any, "/").reason, 'url rule "all" matched any request');
    assert.equal(ask(any, "/").log, false);
  });

  it("an allow rule's requestHeaders come with its decision; empty edits are none; a deny rule cannot have any", () => {
    const tenants = { remove: ["X-Internal"], set: [["Restrict-Access-To-Tenants", "contoso.com"]] as [string, string][], add: [] };
    const rules = compileUrlRules([
      { id: "tenants", hosts: ["login.example"], action: "allow", requestHeaders: tenants },
      { id: "plain", hosts: ["app.example"], action: "allow", requestHeaders: { remove: [], set: [], add: [] } },
    ]);
    assert.deepEqual(ask(rules, "/", "GET", "login.example").requestHeaders, tenants);
    const noAltSvc = { remove: ["Alt-Svc"], set: [], add: [] };
    const both = compileUrlRules([{ id: "both", action: "allow", requestHeaders: tenants, responseHeaders: noAltSvc }]);
    assert.deepEqual([ask(both, "/").requestHeaders, ask(both, "/").responseHeaders], [tenants, noAltSvc]);
    assert.throws(() => compileUrlRules([{ id: "d", action: "deny", responseHeaders: noAltSvc }]), /responseHeaders: only an "allow" rule/);
    assert.equal("requestHeaders" in ask(rules, "/"), false, "no edits: no field");
    assert.equal("requestHeaders" in ask(rules, "/", "GET", "other.example"), false, "the default has none");
    assert.throws(
      () => compileUrlRules([{ id: "d", action: "deny", requestHeaders: tenants }]),
      /^TypeError: urlRules\[0\]\.requestHeaders: only an "allow" rule can change fields/,
    );
    assert.throws(
      () => compileUrlRules([{ id: "h", action: "allow", requestHeaders: { remove: ["Host"], set: [], add: [] } }]),
      /^TypeError: urlRules\[0\]\.requestHeaders: expected a header other than "Host"/,
    );
    assert.throws(
      () => compileUrlRules([{ id: "v", action: "allow", requestHeaders: { remove: [], set: [["X-A", "a\nb"]], add: [] } }]),
      /^TypeError: urlRules\[0\]\.requestHeaders: expected a header value/,
    );
  });

  it("respects segment boundaries", () => {
    const rules = compileUrlRules([{ id: "no-admin", paths: ["/admin"], action: "deny" }]);
    assert.equal(id(rules, "/admin"), "no-admin");
    assert.equal(id(rules, "/admin/"), "no-admin");
    assert.equal(id(rules, "/admin/x"), "no-admin");
    assert.equal(id(rules, "/administrator"), "default");
    assert.equal(id(rules, "/public/admin"), "default");
  });

  it("matches globs", () => {
    const rules = compileUrlRules([
      { id: "private", paths: ["/api/*/private"], action: "deny" },
      { id: "pdf", paths: ["/docs/**.pdf"], action: "deny" },
    ]);
    assert.equal(id(rules, "/api/v2/private"), "private");
    assert.equal(id(rules, "/api/v2/private/x"), "default");
    assert.equal(id(rules, "/api/v2/x/private"), "default");
    assert.equal(id(rules, "/docs/a/b/c.pdf"), "pdf");
    assert.equal(id(rules, "/docs/a/b/c.pdf.txt"), "default");
  });

  it("cannot be dodged with dot-segments or unreserved escapes", () => {
    const rules = compileUrlRules([{ id: "no-admin", paths: ["/admin"], action: "deny" }]);
    for (const path of ["/public/../admin", "/public/%2e%2e/admin", "/public/%2E%2E/admin/x", "/./admin", "/%61dmin", "/a/b/../../admin"]) {
      assert.equal(id(rules, path), "no-admin", path);
    }
  });

  it("denies when the lenient reading of an encoded slash, backslash or ;params is denied", () => {
    const rules = compileUrlRules([
      { id: "no-admin", paths: ["/admin"], action: "deny" },
      { id: "public", paths: ["/public/**"], action: "allow" },
    ]);
    for (const path of ["/public/..%2Fadmin", "/public/..%2fadmin", "/public/..%5Cadmin", "/public\\..\\admin", "/public/..;/admin", "/admin;x=1"]) {
      const d = ask(rules, path);
      assert.equal(d.action, "deny", path);
      assert.equal(d.ruleId, "no-admin", path);
      assert.match(d.reason, /read leniently\)$/, path);
    }
    // an encoded slash elsewhere is not treated as a denied path
    assert.equal(id(rules, "/public/a%2Fb"), "public");
    assert.equal(ask(rules, "/public/a%2Fb").reason, 'url rule "public" matched path "/public/a%2Fb" (pattern "/public/**")');
  });

  it("with caseSensitive: false, a path in any case is the same path (origins such as IIS)", () => {
    const rules = compileUrlRules([
      { id: "no-admin", paths: ["/Admin"], caseSensitive: false, action: "deny" },
      { id: "public", paths: ["/public/**"], action: "allow" },
    ]);
    for (const path of ["/admin", "/ADMIN/users", "/aDmIn?x=1", "/%41dmin", "/public/../ADMIN"]) assert.equal(id(rules, path), "no-admin", path);
    // the lenient reading is folded too
    const d = ask(rules, "/public/..%2FADMIN");
    assert.equal(d.ruleId, "no-admin");
    assert.match(d.reason, /read leniently\)$/);
    // the reason shows the path as sent (normalised) and the pattern as written
    assert.equal(ask(rules, "/ADMIN/x").reason, 'url rule "no-admin" matched path "/ADMIN/x" (pattern "/Admin")');
    // still at segment boundaries; and a case-sensitive rule stays so
    assert.equal(id(rules, "/ADMINISTRATOR"), "default");
    assert.equal(id(rules, "/PUBLIC/x"), "default");
    assert.equal(id(compileUrlRules([{ id: "no-admin", paths: ["/admin"], action: "deny" }]), "/ADMIN"), "default");
  });

  it("refuses caseSensitive that is not a boolean or has no paths to apply to", () => {
    assert.throws(() => compileUrlRules([{ id: "x", paths: ["/a"], caseSensitive: "no", action: "deny" } as unknown as UrlRuleDefinition]), /urlRules\[0\]\.caseSensitive: expected a boolean/);
    assert.throws(() => compileUrlRules([{ id: "x", methods: ["POST"], caseSensitive: false, action: "deny" }]), /urlRules\[0\]\.caseSensitive: applies to "paths"/);
  });

  it("fails closed on paths that cannot be normalised", () => {
    const rules = compileUrlRules([
      { id: "docs", paths: ["/docs"], action: "allow" },
      { id: "no-admin", paths: ["/admin"], action: "deny" },
    ]);
    const d = ask(rules, "/admin%zz");
    assert.equal(d.action, "deny");
    assert.equal(d.ruleId, "no-admin");
    assert.match(d.reason, /^url rule "no-admin" may match path "\/admin%zz", which cannot be normalised \(malformed percent-escape at index 6\); denied$/);
    assert.equal(ask(rules, "http://app.example/admin").action, "deny");
    assert.equal(ask(rules, "/caf\u00e9").action, "deny");
    // a deny rule for other methods or hosts cannot apply
    const scoped = compileUrlRules([{ id: "no-delete", paths: ["/x"], methods: ["DELETE"], hosts: ["other.example"], action: "deny" }]);
    assert.equal(ask(scoped, "/x%zz", "DELETE").ruleId, "default");
    assert.equal(ask(scoped, "/x%zz", "GET", "other.example").ruleId, "default");
    assert.equal(ask(scoped, "/x%zz", "DELETE", "other.example").ruleId, "no-delete");
    // an earlier rule without paths decides as usual
    const first = compileUrlRules([
      { id: "trusted", hosts: ["trusted.example"], action: "allow" },
      { id: "no-admin", paths: ["/admin"], action: "deny" },
    ]);
    const t = ask(first, "/admin%zz", "GET", "trusted.example");
    assert.equal(t.ruleId, "trusted");
    assert.match(t.reason, /^url rule "trusted" matched host "trusted\.example" \(path "\/admin%zz" cannot be normalised: /);
    const none = compileUrlRules([{ id: "docs", paths: ["/docs"], action: "allow" }]);
    assert.equal(ask(none, "/docs%zz").ruleId, "default");
    assert.equal(ask(none, "/docs%zz").action, "allow");
  });

  it("matches methods case-insensitively on the request side", () => {
    const rules = compileUrlRules([{ id: "ro", methods: ["DELETE", "PUT"], action: "deny" }]);
    assert.equal(id(rules, "/x", "DELETE"), "ro");
    assert.equal(id(rules, "/x", "delete"), "ro");
    assert.equal(ask(rules, "/x", "delete").reason, 'url rule "ro" matched method DELETE');
    assert.equal(id(rules, "/x", "GET"), "default");
  });

  it("takes the first matching rule in order", () => {
    const rules = compileUrlRules([
      { id: "allow-health", paths: ["/admin/health"], action: "allow" },
      { id: "no-admin", paths: ["/admin"], action: "deny" },
      { id: "never", paths: ["/admin/health"], action: "deny" },
    ]);
    assert.equal(id(rules, "/admin/health"), "allow-health");
    assert.equal(id(rules, "/admin/other"), "no-admin");
  });

  it("filters by host with the policy host syntax", () => {
    const rules = compileUrlRules([
      { id: "sub", hosts: ["*.corp.example"], action: "deny" },
      { id: "ip", hosts: ["10.0.0.0/8"], action: "deny" },
    ]);
    assert.equal(id(rules, "/", "GET", "git.corp.example"), "sub");
    assert.equal(id(rules, "/", "GET", "corp.example"), "default");
    assert.equal(id(rules, "/", "GET", "corp.example.evil.net"), "default");
    assert.equal(id(rules, "/", "GET", "10.1.2.3"), "ip");
    assert.equal(id(rules, "/", "GET", "11.1.2.3"), "default");
  });

  it("judges IP hosts one after another, by every pattern and list of a rule", () => {
    const list = parseHostList("nets", "192.0.2.0/24\n2001:db8::/32\n", "patterns");
    const rules = compileUrlRules([
      { id: "names", hosts: ["app.example", ".corp.example", "10.1.2.3.example"], action: "deny" },
      { id: "lists", hostLists: ["nets"], paths: ["/x"], action: "deny" },
      { id: "ip", hosts: ["app.example", "10.0.0.0/8", "[fd00::1]"], action: "deny" },
    ], { hostLists: new Map([["nets", list]]) });
    const cases: [string, string, string][] = [
      ["10.1.2.3", "/", "ip"],
      ["[2001:db8::7]", "/x", "lists"],
      ["[fd00::1]", "/", "ip"],
      ["192.0.2.1", "/x", "lists"],
      ["192.0.2.1", "/y", "default"],
      ["[::ffff:10.9.9.9]", "/", "ip"],
      ["[fd00::2]", "/", "default"],
      ["10.1.2.3", "/%zz", "ip"], // a path that cannot be normalised walks the rules another way
      ["11.1.2.3", "/", "default"],
    ];
    for (let round = 0; round < 2; round++) {
      for (const [host, path, rule] of cases) assert.equal(id(rules, path, "GET", host), rule, `${host} ${path}`);
    }
  });

  it("treats the asterisk-form as a path no pattern matches", () => {
    const rules = compileUrlRules([
      { id: "no-root", paths: ["/"], action: "deny" },
      { id: "no-options", methods: ["OPTIONS"], hosts: ["x.example"], action: "deny" },
    ]);
    assert.equal(id(rules, "*", "OPTIONS"), "default");
    assert.equal(id(rules, "*", "OPTIONS", "x.example"), "no-options");
  });
});

describe("compileUrlRules: validation", () => {
  const rejects = (defs: unknown, message: string | RegExp) =>
    assert.throws(() => compileUrlRules(defs as UrlRuleDefinition[]), (e: unknown) => {
      assert.ok(e instanceof TypeError);
      if (typeof message === "string") assert.equal(e.message, message);
      else assert.match(e.message, message);
      return true;
    });
  const ok = { id: "ok", action: "allow" };

  it("names the rule index and field", () => {
    rejects([ok, { id: "x", paths: ["admin"], action: "deny" }], 'urlRules[1].paths[0]: expected a path starting with "/", got "admin"');
    rejects([{ id: "x", paths: ["/ok", "/a/../b"], action: "deny" }], /^urlRules\[0\]\.paths\[1\]: expected a path pattern without/);
    rejects([{ id: "x", methods: ["get"], action: "deny" }], 'urlRules[0].methods[0]: expected an uppercase HTTP method like "GET", got "get" (write "GET")');
    rejects([{ id: "x", methods: ["GE T"], action: "deny" }], 'urlRules[0].methods[0]: expected an uppercase HTTP method like "GET", got "GE T"');
    rejects([{ id: "x", hosts: ["exa mple.com"], action: "deny" }], /^urlRules\[0\]\.hosts\[0\]: expected a host name/);
    rejects([{ id: "x", hosts: "a.example", action: "deny" }], 'urlRules[0].hosts: expected an array, got "a.example"');
    rejects([{ id: "x", action: "block" }], 'urlRules[0].action: expected "allow" or "deny", got "block"');
    rejects([{ id: "x", action: "deny", log: 1 }], "urlRules[0].log: expected a boolean, got 1");
    rejects([{ action: "deny" }], /^urlRules\[0\]\.id: expected a non-empty string/);
    rejects([{ id: "default", action: "deny" }], 'urlRules[0].id: "default" is reserved for the default decision');
    rejects([ok, { id: "b", action: "deny" }, ok], 'urlRules[2].id: duplicate url rule id "ok" (first at urlRules[0])');
    rejects([null], "urlRules[0]: expected a url rule object, got null");
    rejects({}, "urlRules: expected an array, got {}");
  });

  it("exposes the method validator", () => {
    assert.equal(methodError("PROPFIND"), undefined);
    assert.equal(methodError("M-SEARCH"), undefined);
    assert.match(methodError("") ?? "", /got ""$/);
  });
});

describe("compileUrlRules: rules scoped to users", () => {
  const rules = compileUrlRules([
    { id: "admins-post", paths: ["/admin"], methods: ["POST"], users: ["alice"], action: "allow" },
    { id: "no-admin-post", paths: ["/admin"], methods: ["POST"], action: "deny" },
  ]);
  const as = (user: string | undefined, path: string, method = "POST") =>
    rules.decide({ host: normalizeHost("app.example"), path, method, ...(user === undefined ? {} : { user }) });
  it("match only requests of sessions opened by one of their users", () => {
    assert.equal(as("alice", "/admin/users").ruleId, "admins-post");
    assert.equal(as("alice", "/admin/users").reason, 'url rule "admins-post" matched path "/admin/users" (pattern "/admin"), method POST and user "alice"');
    assert.equal(as("bob", "/admin/users").ruleId, "no-admin-post");
    assert.equal(as(undefined, "/admin/users").ruleId, "no-admin-post", "no user, no match");
  });
  it("a deny rule for other users does not deny a path that cannot be normalised", () => {
    const denyBob = compileUrlRules([{ id: "bob-out", paths: ["/x"], users: ["bob"], action: "deny" }]);
    const ask = (user: string) => denyBob.decide({ host: normalizeHost("app.example"), path: "/%zz", method: "GET", user });
    assert.equal(ask("bob").action, "deny");
    assert.equal(ask("alice").action, "allow");
  });
  it("validate the names", () => {
    assert.throws(() => compileUrlRules([{ id: "u", users: [""], action: "deny" }]), /^TypeError: urlRules\[0\]\.users\[0\]: expected a user name/);
  });
});

describe("compileUrlRules: rules scoped to groups", () => {
  const rules = compileUrlRules([
    { id: "ops-or-alice", paths: ["/admin"], users: ["alice"], groups: ["Ops"], action: "allow" },
    { id: "no-admin", paths: ["/admin"], action: "deny" },
    { id: "contractors-no-upload", methods: ["POST"], groups: ["contractors"], action: "deny" },
  ]);
  const as = (user: string | undefined, groups: string[], path: string, method = "GET") =>
    rules.decide({ host: normalizeHost("app.example"), path, method, ...(user === undefined ? {} : { user }), groups });
  it("match a member of a group named, or a user named; say which in the reason", () => {
    assert.equal(as("dave", ["ops"], "/admin/x").reason, 'url rule "ops-or-alice" matched path "/admin/x" (pattern "/admin") and user "dave" in group "ops"');
    assert.equal(as("alice", [], "/admin/x").ruleId, "ops-or-alice");
    assert.equal(as("bob", ["dev"], "/admin/x").ruleId, "no-admin");
    assert.equal(as(undefined, ["ops"], "/admin/x").ruleId, "no-admin", "no user, no match");
    assert.equal(as("erin", ["contractors"], "/upload", "POST").ruleId, "contractors-no-upload");
    const noUploads = compileUrlRules([{ id: "c", paths: ["/upload"], groups: ["contractors"], action: "deny" }]);
    const odd = (groups: string[]) => noUploads.decide({ host: normalizeHost("app.example"), path: "/%zz", method: "POST", user: "erin", groups }).action;
    assert.equal(odd(["contractors"]), "deny", "a member's deny holds for a path that cannot be normalised");
    assert.equal(odd(["staff"]), "allow");
  });
  it("validate the names", () => {
    assert.throws(() => compileUrlRules([{ id: "g", groups: [""], action: "deny" }]), /^TypeError: urlRules\[0\]\.groups\[0\]: expected a group name/);
  });
});

describe("compileUrlRules: host lists", () => {
  const sharing = parseHostList("sharing", ".files.example\n198.51.100.0/24\n", "patterns");
  const lists = new Map([["sharing", sharing]]);
  it("a rule's host condition is its hosts and its lists: either may match; the reason names the list", () => {
    const rules = compileUrlRules([
      { id: "no-uploads", hosts: ["paste.example"], hostLists: ["sharing"], methods: ["POST", "PUT"], action: "deny" },
    ], { hostLists: lists });
    assert.equal(ask(rules, "/up", "POST", "eu.files.example").reason, 'url rule "no-uploads" matched host "eu.files.example" (pattern ".files.example" in host list "sharing") and method POST');
    assert.equal(ask(rules, "/up", "PUT", "198.51.100.9").reason, 'url rule "no-uploads" matched host "198.51.100.9" (pattern "198.51.100.0/24" in host list "sharing") and method PUT');
    assert.equal(ask(rules, "/up", "POST", "paste.example").reason, 'url rule "no-uploads" matched host "paste.example" and method POST');
    assert.equal(id(rules, "/up", "GET", "eu.files.example"), "default");
    assert.equal(id(rules, "/up", "POST", "other.example"), "default");
  });
  it("a path that cannot be normalised is denied by a deny rule whose list matches the host", () => {
    const rules = compileUrlRules([{ id: "no-sharing", hostLists: ["sharing"], paths: ["/upload"], action: "deny" }], { hostLists: lists });
    assert.equal(id(rules, "/%zz", "GET", "files.example"), "no-sharing");
    assert.equal(id(rules, "/%zz", "GET", "app.example"), "default");
  });
  it("refuses a list it was not given", () => {
    assert.throws(() => compileUrlRules([{ id: "a", hostLists: ["sharing"], action: "deny" }]), /^TypeError: urlRules\[0\]\.hostLists\[0\]: no host list named "sharing" \(the policy has no hostLists\)$/);
  });
});

describe("compileUrlRules: body limits", () => {
  it("an allow rule's limits go with its decision, a rule without them has none", () => {
    const rules = compileUrlRules([
      { id: "big", hosts: ["files.example"], action: "allow" },
      { id: "small", action: "allow", maxRequestBytes: 10485760, maxResponseBytes: 0 },
    ]);
    const d = ask(rules, "/upload");
    assert.equal(d.maxRequestBytes, 10485760);
    assert.equal(d.maxResponseBytes, 0);
    const big = ask(rules, "/upload", "POST", "files.example");
    assert.equal(big.maxRequestBytes, undefined);
    assert.equal(big.maxResponseBytes, undefined);
  });

  it("refuses them on a deny, on a rule decided by the response, and when not a byte count", () => {
    assert.throws(() => compileUrlRules([{ id: "x", action: "deny", maxRequestBytes: 5 }]), /urlRules\[0\]\.maxRequestBytes: only an "allow" rule limits bodies/);
    assert.throws(() => compileUrlRules([{ id: "x", action: "allow", responseTypes: ["video/*"], maxResponseBytes: 5 }]), /urlRules\[0\]\.maxResponseBytes: a rule decided by the response takes no body limits/);
    for (const bad of [-1, 1.5, "10MB", Number.MAX_SAFE_INTEGER + 2]) {
      assert.throws(() => compileUrlRules([{ id: "x", action: "allow", maxRequestBytes: bad as number }]), /urlRules\[0\]\.maxRequestBytes: expected a number of bytes/);
    }
  });
});

describe("compileUrlRules: override fields", () => {
  const rules = compileUrlRules([
    { id: "no-delete", methods: ["DELETE"], action: "deny" },
    { id: "no-admin", paths: ["/admin"], action: "deny" },
    { id: "admin-writes", paths: ["/reports"], methods: ["PUT"], action: "deny" },
    { id: "no-video", paths: ["/media"], responseTypes: ["video/*"], action: "deny" },
  ]);
  const withFields = (path: string, method: string, fields: [string, string][]) =>
    rules.decide({ host: normalizeHost("app.example"), path, method, overrides: requestOverrides(new HeaderList(fields), method, path) });

  it("a method or path named in an override field is judged as if on the request line", () => {
    const m = withFields("/items/1", "POST", [["X-HTTP-Method-Override", "delete"]]);
    assert.equal(m.action, "deny");
    assert.equal(m.reason, 'url rule "no-delete" matched method DELETE (the request read with X-HTTP-Method-Override: "DELETE")');
    const p = withFields("/public", "GET", [["X-Original-URL", "/admin/users"]]);
    assert.equal(p.ruleId, "no-admin");
    assert.match(p.reason, /\(the request read with X-Original-URL: "\/admin\/users"\)$/);
    // both at once: the path of one field with the method of the other
    const both = withFields("/public", "POST", [["X-Rewrite-URL", "/reports/q3"], ["X-HTTP-Method", "PUT"]]);
    assert.equal(both.ruleId, "admin-writes");
    assert.match(both.reason, /X-Rewrite-URL: "\/reports\/q3" and X-HTTP-Method: "PUT"\)$/);
    // a _method query parameter names a method as the fields do
    const q = withFields("/items/1?_method=delete", "POST", []);
    assert.equal(q.ruleId, "no-delete");
    assert.equal(q.reason, 'url rule "no-delete" matched method DELETE (the request read with ?_method: "DELETE")');
    // an override path is normalised and read leniently as any path is
    assert.equal(withFields("/public", "GET", [["X-Original-URL", "/x/..%2Fadmin"]]).ruleId, "no-admin");
  });

  it("allows when every reading is allowed, with the request line's decision", () => {
    const d = withFields("/public", "POST", [["X-HTTP-Method-Override", "PATCH"], ["X-Original-URL", "/public/x"]]);
    assert.deepEqual(d, { action: "allow", ruleId: "default", reason: "no url rule matched; default allow", log: false });
  });

  it("a response another reading's rule denies by type is denied", () => {
    const d = withFields("/public", "GET", [["X-Original-URL", "/media/clip"]]);
    assert.equal(d.action, "allow");
    const r = decideResponse(d, ["video/mp4"]);
    assert.equal(r?.ruleId, "no-video");
    assert.match(r?.reason ?? "", /X-Original-URL: "\/media\/clip"\)$/);
    assert.equal(decideResponse(d, ["text/html"]), undefined);
  });

  it("a reading is judged only where a rule could decide it otherwise (no rule on methods: no method readings)", () => {
    const paths = compileUrlRules([{ id: "no-admin", paths: ["/admin"], action: "deny" }]);
    const q = (fields: [string, string][]) => paths.decide({ host: normalizeHost("a.test"), path: "/x", method: "POST", overrides: requestOverrides(new HeaderList(fields), "POST", "/x") });
    assert.equal(q([["X-HTTP-Method-Override", "DELETE"]]).ruleId, "default");
    assert.equal(q([["X-HTTP-Method-Override", "DELETE"], ["X-Original-URL", "/admin"]]).ruleId, "no-admin");
    const methods = compileUrlRules([{ id: "no-delete", methods: ["DELETE"], action: "deny" }]);
    const d = methods.decide({ host: normalizeHost("a.test"), path: "/x", method: "POST", overrides: requestOverrides(new HeaderList([["X-Original-URL", "/y"], ["X-HTTP-Method", "DELETE"]]), "POST", "/x") });
    assert.equal(d.reason, 'url rule "no-delete" matched method DELETE (the request read with X-HTTP-Method: "DELETE")');
  });

  it("a request naming more methods than are judged is denied; one without url rules never is", () => {
    const fields = ["A", "B", "C"].map((m): [string, string] => ["X-HTTP-Method-Override", m]);
    const d = withFields("/x", "POST", fields);
    assert.equal(d.action, "deny");
    assert.equal(d.ruleId, OVERRIDES_RULE);
    assert.match(d.reason, /names more than 2 methods in override fields/);
    const none = compileUrlRules([]).decide({ host: normalizeHost("a.test"), path: "/x", method: "POST", overrides: requestOverrides(new HeaderList(fields), "POST", "/x") });
    assert.equal(none.action, "allow");
  });
});
