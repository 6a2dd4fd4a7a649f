import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { normalizeHost } from "../../src/core/host.ts";
import type { RouteConfig } from "../../src/reverse/config-types.ts";
import { NO_EDITS } from "../../src/protocol/header-edits.ts";
import { parsePathPrefix, pathHasPrefix, pathPrefixError, routeHostError, RouteTable } from "../../src/reverse/routes.ts";

function route(id: string, hosts: string[], pathPrefix = "/", extra: Partial<RouteConfig> = {}): RouteConfig {
  return { id, hosts, pathPrefix, pool: "p", hostHeader: "preserve", requestHeaders: NO_EDITS, responseHeaders: NO_EDITS, deny: [], log: true, ...extra };
}

function pick(table: RouteTable, host: string | undefined, target: string, method = "GET", listener = "web"): string {
  const r = table.resolve({ host: host === undefined ? undefined : normalizeHost(host), target, method, listener });
  return r.kind === "route" ? r.route.id : r.kind;
}

describe("reverse routes: path prefixes", () => {
  it("normalises prefixes: trailing slashes dropped, root kept, escapes of unreserved characters decoded", () => {
    assert.equal(parsePathPrefix("/api/"), "/api");
    assert.equal(parsePathPrefix("/"), "/");
    assert.equal(parsePathPrefix("/%61pi"), "/api");
    assert.match(pathPrefixError("api") ?? "", /starting with "\/"/);
    assert.match(pathPrefixError("/a/*") ?? "", /without "\*"/);
    assert.match(pathPrefixError("/a/../b") ?? "", /"\." or "\.\."/);
    assert.match(pathPrefixError("/a?x") ?? "", /query/);
  });

  it("matches at segment boundaries only", () => {
    assert.equal(pathHasPrefix("/api", "/api"), true);
    assert.equal(pathHasPrefix("/api/", "/api"), true);
    assert.equal(pathHasPrefix("/api/v1", "/api"), true);
    assert.equal(pathHasPrefix("/apix", "/api"), false);
    assert.equal(pathHasPrefix("/ap", "/api"), false);
    assert.equal(pathHasPrefix("/anything", "/"), true);
  });

  it("the longest prefix wins, whatever the definition order", () => {
    const t = new RouteTable([route("root", ["a.test"]), route("api", ["a.test"], "/api"), route("v1", ["a.test"], "/api/v1/")]);
    assert.equal(pick(t, "a.test", "/"), "root");
    assert.equal(pick(t, "a.test", "/api"), "api");
    assert.equal(pick(t, "a.test", "/api/v2/x"), "api");
    assert.equal(pick(t, "a.test", "/api/v1"), "v1");
    assert.equal(pick(t, "a.test", "/api/v1/users?id=3"), "v1");
    assert.equal(pick(t, "a.test", "/api/v10"), "api");
    assert.equal(pick(t, "a.test", "/apix"), "root");
  });

  it("routes the normalised path: dot-segments cannot reach another route's prefix by accident or design", () => {
    const t = new RouteTable([route("site", ["a.test"]), route("admin", ["a.test"], "/admin")]);
    assert.equal(pick(t, "a.test", "/public/../admin/x"), "admin");
    assert.equal(pick(t, "a.test", "/%61dmin"), "admin");
    assert.equal(pick(t, "a.test", "/admin/./x"), "admin");
  });

  it("refuses a path whose lenient reading (%2F, \\, ;) would take another route", () => {
    const t = new RouteTable([route("site", ["a.test"]), route("admin", ["a.test"], "/admin")]);
    assert.equal(pick(t, "a.test", "/public/..%2Fadmin"), "bad-path");
    assert.equal(pick(t, "a.test", "/public/..;/admin"), "bad-path");
    // the same route either way: fine
    assert.equal(pick(t, "a.test", "/files/a%2Fb"), "site");
  });

  it("with caseSensitive: false a route takes its prefix in any case, so a broader route cannot take /ADMIN", () => {
    const t = new RouteTable([
      route("site", ["a.test"]),
      route("admin", ["a.test"], "/Admin", { caseSensitive: false, clients: ["10.0.0.0/8"], deny: [{ paths: ["/admin/Config"] }] }),
      route("api", ["a.test"], "/api"),
    ]);
    for (const target of ["/admin", "/ADMIN/x", "/aDmIn?q", "/%41dmin", "/public/../ADMIN"]) assert.equal(pick(t, "a.test", target), "admin", target);
    assert.equal(pick(t, "a.test", "/ADMINISTRATOR"), "site");
    // other routes keep their case
    assert.equal(pick(t, "a.test", "/API"), "site");
    // the lenient reading is folded too: still the same route, so not ambiguous
    assert.equal(pick(t, "a.test", "/ADMIN/a%2Fb"), "admin");
    assert.equal(pick(t, "a.test", "/ADMIN%2Fx"), "bad-path");
    assert.equal(pick(t, "a.test", "/public/..%2FADMIN"), "bad-path");
    // its deny rules follow the route
    const admin = t.routes[1]!;
    assert.equal(admin.deny?.decide({ host: normalizeHost("a.test"), path: "/ADMIN/CONFIG", method: "GET" }).action, "deny");
    // the rewritten backend path keeps the client's spelling after the prefix
    const r = t.resolve({ host: normalizeHost("a.test"), target: "/ADMIN/Users", method: "GET", listener: "web" });
    assert.equal(r.kind === "route" ? r.path.slice(admin.prefix.length) : "", "/Users");
  });

  it("refuses a malformed path", () => {
    const t = new RouteTable([route("site", ["*"])]);
    const r = t.resolve({ host: undefined, target: "/bad%zz", method: "GET", listener: "web" });
    assert.equal(r.kind, "bad-path");
    assert.match(r.kind === "bad-path" ? r.reason : "", /percent-escape/);
  });
});

describe("reverse routes: hosts, methods, listeners", () => {
  const t = new RouteTable([
    route("any", ["*"]),
    route("wild", ["*.example.test"]),
    route("deep-wild", ["*.eu.example.test"]),
    route("exact", ["www.example.test", "192.0.2.10", "[2001:db8::1]"]),
    route("wild-api", ["*.example.test"], "/api"),
  ]);

  it("an exact name beats *.suffix, a longer suffix beats a shorter one, and * comes last", () => {
    assert.equal(pick(t, "www.example.test", "/"), "exact");
    assert.equal(pick(t, "shop.example.test", "/"), "wild");
    assert.equal(pick(t, "a.b.example.test", "/"), "wild"); // *.suffix: any depth
    assert.equal(pick(t, "x.eu.example.test", "/"), "deep-wild");
    assert.equal(pick(t, "example.test", "/"), "any"); // *.suffix is strict subdomains only
    assert.equal(pick(t, "other.test", "/"), "any");
    assert.equal(pick(t, undefined, "/"), "any");
  });

  it("the host decides before the path: an exact host's / beats a wildcard's longer prefix", () => {
    assert.equal(pick(t, "www.example.test", "/api/x"), "exact");
    assert.equal(pick(t, "shop.example.test", "/api/x"), "wild-api");
  });

  it("matches IP hosts and ignores case and a trailing dot", () => {
    assert.equal(pick(t, "192.0.2.10", "/"), "exact");
    assert.equal(pick(t, "[2001:DB8:0::1]", "/"), "exact");
    assert.equal(pick(t, "WWW.Example.Test.", "/"), "exact");
  });

  it("an IPv4 route takes that address's IPv6 forms too, as exactly as the address (host patterns, translatedIPv4)", () => {
    const v4 = new RouteTable([route("any", ["*"]), route("v4", ["10.0.0.1"]), route("nat64", ["[64:ff9b::a00:2]"])]);
    // NAT64 (well-known and local-use), IPv4-translated, IPv4-compatible, IPv4-mapped
    for (const form of ["10.0.0.1", "[64:ff9b::a00:1]", "[64:ff9b::10.0.0.1]", "[64:ff9b:1::a00:1]", "[::ffff:0:a00:1]", "[::a00:1]", "[::ffff:10.0.0.1]"]) {
      assert.equal(pick(v4, form, "/"), "v4", form);
    }
    // 6to4 and Teredo tunnel to an address rather than name it; a NAT64 prefix of unknown layout
    for (const form of ["[2002:a00:1::1]", "[2001:0:a00:1::f5ff:fffe]", "[64:ff9b:1:1::a00:1]", "[::1:a00:1]"]) assert.equal(pick(v4, form, "/"), "any", form);
    // not the other way round: a route for an IPv6 form does not take the IPv4 address
    assert.equal(pick(v4, "[64:ff9b::a00:2]", "/"), "nat64");
    assert.equal(pick(v4, "10.0.0.2", "/"), "any");
  });

  it("no route at all gives none", () => {
    const only = new RouteTable([route("a", ["a.test"], "/app")]);
    assert.equal(pick(only, "a.test", "/other"), "none");
    assert.equal(pick(only, "b.test", "/app"), "none");
  });

  it("methods restrict a route, which then wins over one without methods on the same prefix", () => {
    const m = new RouteTable([route("all", ["a.test"], "/api"), route("writes", ["a.test"], "/api", { methods: ["POST", "PUT"] })]);
    assert.equal(pick(m, "a.test", "/api/x", "POST"), "writes");
    assert.equal(pick(m, "a.test", "/api/x", "post"), "writes"); // methods compared uppercase
    assert.equal(pick(m, "a.test", "/api/x", "GET"), "all");
    const only = new RouteTable([route("writes", ["a.test"], "/", { methods: ["POST"] })]);
    assert.equal(pick(only, "a.test", "/", "GET"), "none");
  });

  it("listeners restrict a route; definition order breaks the remaining ties", () => {
    const l = new RouteTable([route("internal", ["a.test"], "/", { listeners: ["internal"] }), route("public", ["a.test"]), route("second", ["a.test"])]);
    assert.equal(pick(l, "a.test", "/", "GET", "internal"), "internal");
    assert.equal(pick(l, "a.test", "/", "GET", "web"), "public");
  });

  it("validates route host patterns", () => {
    assert.equal(routeHostError("*.example.test"), undefined);
    assert.equal(routeHostError("*"), undefined);
    assert.equal(routeHostError("192.0.2.1"), undefined);
    assert.match(routeHostError(".example.test") ?? "", /expected a host name/);
    assert.match(routeHostError("10.0.0.0/8") ?? "", /expected a host name/);
    assert.match(routeHostError("a*.test") ?? "", /expected/);
  });

  it("compiles per-route deny rules and client lists", () => {
    const d = new RouteTable([route("r", ["*"], "/", { deny: [{ paths: ["/admin"], methods: ["DELETE"] }], clients: ["10.0.0.0/8"] })]);
    const r = d.routes[0]!;
    const host = normalizeHost("a.test");
    assert.equal(r.deny?.decide({ host, path: "/admin/x", method: "DELETE" }).action, "deny");
    assert.equal(r.deny?.decide({ host, path: "/admin/x", method: "DELETE" }).ruleId, "r.deny-1");
    assert.equal(r.deny?.decide({ host, path: "/admin/x", method: "GET" }).action, "allow");
    assert.equal(r.deny?.decide({ host, path: "/public/..%2Fadmin", method: "DELETE" }).action, "deny");
    assert.equal(r.clients?.length, 1);
  });
});
