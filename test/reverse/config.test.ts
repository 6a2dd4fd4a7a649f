import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parseConfig } from "../../src/config/parse.ts";
import { configProblems as problems } from "../helpers/config-problems.ts";

const CERT = { cert: "a.pem", key: "a.key" };
const base = (extra: Record<string, unknown> = {}, reverse: Record<string, unknown> = {}) => ({
  listeners: [
    { name: "web", mode: "reverse", listen: "127.0.0.1:8443", tls: { certificates: [CERT] }, ...extra },
    { name: "http", mode: "redirect-https", listen: "127.0.0.1:8080" },
  ],
  reverse: { pools: { app: { backends: ["http://127.0.0.1:9000"] } }, routes: [{ hosts: ["*"], pool: "app" }], ...reverse },
});

describe("config: reverse proxy", () => {
  it("gives reverse and redirect-https listeners their defaults", () => {
    const c = parseConfig(base());
    assert.deepEqual(c.listeners, [
      {
        name: "web",
        mode: "reverse",
        hostname: "127.0.0.1",
        port: 8443,
        tls: { certificates: [{ cert: "a.pem", key: "a.key" }], defaultCertificate: 0, unknownSni: "default", mint: [], minVersion: "TLSv1.2" },
        trustForwardedFrom: [],
        trustIdentityFrom: [],
      },
      { name: "http", mode: "redirect-https", hostname: "127.0.0.1", port: 8080, httpsPort: 443 },
    ]);
    assert.deepEqual(c.reverse, {
      pools: {
        app: {
          backends: ["http://127.0.0.1:9000"],
          tls: { minVersion: "TLSv1.2" },
          connectTimeoutMs: 10_000,
          timeoutMs: 60_000,
          ejectAfterFailures: 1,
          ejectMs: 10_000,
          balance: "round-robin",
          keepAlive: { maxIdlePerBackend: 32, idleTimeoutMs: 4000, clientHoldMs: 1000 },
        },
      },
      routes: [{
        id: "route-1",
        hosts: ["*"],
        pathPrefix: "/",
        pool: "app",
        hostHeader: "preserve",
        requestHeaders: { remove: [], set: [], add: [] },
        responseHeaders: { remove: [], set: [], add: [] },
        deny: [],
        log: true,
      }],
      passthrough: [],
      errorPages: { detailsFor: [] },
    });
    assert.ok(Object.isFrozen(c.reverse?.routes[0]));
  });

  it("errorPages: a template file and the clients shown full reasons; bad values are named", () => {
    const c = parseConfig(base({}, { errorPages: { template: "errors.html", detailsFor: ["10.0.0.0/8", "2001:db8::1"] } }));
    assert.deepEqual(c.reverse?.errorPages, { template: "errors.html", detailsFor: ["10.0.0.0/8", "2001:db8::1"] });
    assert.deepEqual(problems(base({}, { errorPages: { template: "", detailsFor: ["10.0.0.0/33", 7], details: true } })), [
      "reverse.errorPages.template: expected a file path, got an empty string",
      'reverse.errorPages.detailsFor[0]: expected an IP address or CIDR, got "10.0.0.0/33" (Invalid prefix length in CIDR "10.0.0.0/33": expected 0-32)',
      "reverse.errorPages.detailsFor[1]: expected an IP address or CIDR, got 7",
      'reverse.errorPages.details: unknown key (expected one of "template", "detailsFor")',
    ]);
  });

  it("reads every field of a full config (examples/reverse.json)", () => {
    const example = JSON.parse(readFileSync(new URL("../../examples/reverse.json", import.meta.url), "utf8"));
    const c = parseConfig(example);
    const web = c.listeners.find((l) => l.mode === "reverse");
    assert.ok(web && web.mode === "reverse" && web.tls);
    assert.equal(web.tls.certificates.length >= 2, true);
    assert.ok(c.reverse && Object.keys(c.reverse.pools).length >= 2);
    const api = c.reverse.routes.find((r) => r.id === "api");
    assert.ok(api);
    assert.equal(api.pathPrefix, "/api");
    assert.ok(api.requestHeaders.set.length + api.responseHeaders.add.length + api.responseHeaders.remove.length > 0);
    assert.deepEqual(c.reverse.errorPages, { detailsFor: ["10.0.0.0/8"] });
  });

  it("converts header edits, host header settings, the default certificate and pool timeouts", () => {
    const c = parseConfig(base(
      { tls: { certificates: [CERT, { cert: "b.pem", key: "b.key", names: ["*.b.test"], default: true }], unknownSni: "refuse" }, trustForwardedFrom: ["10.0.0.0/8"], trustIdentityFrom: ["10.1.2.3"] },
      {
        pools: { app: { backends: ["https://app.internal:8443"], tls: { caFile: "ca.pem", serverName: "App.Internal", clientCert: "c.pem", clientKey: "c.key" }, connectTimeoutMs: 500, healthCheck: { path: "/healthz" } } },
        routes: [{
          id: "r",
          hosts: ["a.test"],
          pathPrefix: "/api/",
          backendPrefix: "/v2/app/",
          methods: ["GET"],
          listeners: ["web"],
          pool: "app",
          hostHeader: { set: "api.internal:8443" },
          requestHeaders: { remove: ["X-Debug"], set: { "X-Env": "prod" }, add: { "X-Tag": "a" } },
          responseHeaders: { remove: ["Server"] },
          deny: [{ paths: ["/api/admin"], methods: ["DELETE"] }],
          clients: ["192.0.2.0/24"],
          log: false,
        }],
      },
    ));
    const web = c.listeners[0];
    assert.ok(web?.mode === "reverse" && web.tls);
    assert.equal(web.tls.defaultCertificate, 1);
    assert.equal(web.tls.unknownSni, "refuse");
    assert.deepEqual(web.trustForwardedFrom, ["10.0.0.0/8"]);
    assert.deepEqual(web.trustIdentityFrom, ["10.1.2.3"]);
    const pool = c.reverse?.pools["app"];
    assert.equal(pool?.connectTimeoutMs, 500);
    assert.equal(pool?.tls.serverName, "app.internal");
    assert.deepEqual(pool?.healthCheck, { path: "/healthz", intervalMs: 10_000, timeoutMs: 2_000, healthyThreshold: 2, unhealthyThreshold: 3 });
    const r = c.reverse?.routes[0];
    assert.deepEqual(r?.hostHeader, { set: "api.internal:8443" });
    assert.equal(r?.backendPrefix, "/v2/app", "without its trailing slash, as pathPrefix");
    assert.deepEqual(r?.requestHeaders, { remove: ["X-Debug"], set: [["X-Env", "prod"]], add: [["X-Tag", "a"]] });
    assert.deepEqual(r?.deny, [{ paths: ["/api/admin"], methods: ["DELETE"] }]);
    assert.equal(r?.log, false);
  });

  it("a plain-HTTP reverse listener says tls: false; leaving tls out is an error", () => {
    const c = parseConfig(base({ tls: false }));
    assert.equal(c.listeners[0]?.mode === "reverse" && c.listeners[0].tls, null);
    const noTls = base();
    delete (noTls.listeners[0] as Record<string, unknown>)["tls"];
    assert.deepEqual(problems(noTls), ['listeners[0].tls: required for reverse listeners: {"certificates": [{"cert": "…", "key": "…"}]}, or false for plain HTTP']);
  });

  it("checks references: pools, listeners, the reverse section, the CA for minting", () => {
    assert.deepEqual(problems(base({}, { routes: [{ hosts: ["*"], pool: "nope", listeners: ["http", "web"] }] })), [
      'reverse.routes[0].pool: no pool named "nope"',
      'reverse.routes[0].listeners[0]: no reverse listener named "http"',
    ]);
    const noSection: Record<string, unknown> = base();
    delete noSection["reverse"];
    assert.deepEqual(problems(noSection), ['reverse: a reverse listener needs a "reverse" section with pools and routes']);
    assert.deepEqual(problems(base({ tls: { certificates: [CERT], mint: ["*.internal.test"] } })), [
      'ca: a CA is required to mint certificates; configure "ca" (run "tollgate ca init")',
    ]);
  });

  it("basicAuth: users must be proxyAuth users, groups some user's; the realm defaults to the route id", () => {
    const proxyAuth = { realm: "corp", users: [{ name: "alice", passwordHash: "pbkdf2-sha256$100000$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }] };
    const c = parseConfig({ ...base({}, { routes: [{ id: "admin", hosts: ["*"], pool: "app", basicAuth: { users: ["alice"] } }, { hosts: ["*"], pool: "app", basicAuth: { users: ["alice"], realm: "Ops" } }] }), proxyAuth });
    assert.deepEqual(c.reverse?.routes.map((r) => r.basicAuth), [{ users: ["alice"], groups: [], realm: "admin" }, { users: ["alice"], groups: [], realm: "Ops" }]);
    assert.equal(parseConfig(base()).reverse?.routes[0]?.basicAuth, undefined);
    assert.deepEqual(problems({ ...base({}, { routes: [{ hosts: ["*"], pool: "app", basicAuth: { users: ["alice", "mallory"] } }] }), proxyAuth }), [
      'reverse.routes[0].basicAuth.users[1]: no proxyAuth user named "mallory"',
    ]);
    assert.deepEqual(problems(base({}, { routes: [{ hosts: ["*"], pool: "app", basicAuth: { users: ["alice"] } }] })), [
      'reverse.routes[0].basicAuth.users[0]: names user "alice", but there is no proxyAuth, and no listener of the route takes client certificates: no request of it has a user',
    ]);
    const [empty] = problems({ ...base({}, { routes: [{ hosts: ["*"], pool: "app", basicAuth: { users: [] } }] }), proxyAuth });
    assert.match(empty ?? "", /^reverse\.routes\[0\]\.basicAuth: expected at least one user or group in "users" or "groups"/);
    const withGroups = { ...proxyAuth, users: [{ ...proxyAuth.users[0]!, groups: ["Ops"] }] };
    const byGroup = parseConfig({ ...base({}, { routes: [{ hosts: ["*"], pool: "app", basicAuth: { groups: ["ops"] } }] }), proxyAuth: withGroups });
    assert.deepEqual(byGroup.reverse?.routes[0]?.basicAuth, { users: [], groups: ["ops"], realm: "route-1" });
    assert.deepEqual(problems({ ...base({}, { routes: [{ hosts: ["*"], pool: "app", basicAuth: { groups: ["ops", "dev"] } }] }), proxyAuth: withGroups }), [
      'reverse.routes[0].basicAuth.groups[1]: no proxyAuth user is in group "dev" (local users\' groups: "ops")',
    ]);
    const directory = { ldap: { url: "ldaps://dc.test", bindName: "uid={user},dc=test", groups: {} } };
    const dirk = parseConfig({ ...base({}, { routes: [{ hosts: ["*"], pool: "app", basicAuth: { users: ["dirk"], groups: ["Domain Admins"] } }] }), proxyAuth: directory });
    assert.deepEqual(dirk.reverse?.routes[0]?.basicAuth?.groups, ["Domain Admins"], "directory users and groups");
    const [realm] = problems({ ...base({}, { routes: [{ hosts: ["*"], pool: "app", basicAuth: { users: ["alice"], realm: "a\"b\n" } }] }), proxyAuth });
    assert.match(realm ?? "", /^reverse\.routes\[0\]\.basicAuth\.realm: expected 1-64 printable ASCII characters/);
  });

  it("balance takes round-robin, least-requests and client-hash", () => {
    const pools = (b: unknown) => base({}, { pools: { app: { backends: ["http://127.0.0.1:1"], balance: b } } });
    for (const ok of ["round-robin", "least-requests", "client-hash"]) assert.equal(parseConfig(pools(ok)).reverse?.pools["app"]?.balance, ok);
    assert.deepEqual(problems(pools("ip-hash")), ['reverse.pools.app.balance: expected "round-robin", "least-requests" or "client-hash", got "ip-hash"']);
  });

  it("rateLimit: the burst defaults to the rate rounded up (at least 1), per client; bad values are named", () => {
    const limits = (rateLimit: Record<string, unknown>) => parseConfig(base({}, { routes: [{ hosts: ["*"], pool: "app", rateLimit }] })).reverse?.routes[0]?.rateLimit;
    assert.deepEqual(limits({ requestsPerSecond: 2.5 }), { requestsPerSecond: 2.5, burst: 3, per: "client" });
    assert.deepEqual(limits({ requestsPerSecond: 0.1, per: "route" }), { requestsPerSecond: 0.1, burst: 1, per: "route" });
    assert.deepEqual(limits({ requestsPerSecond: 100, burst: 500 }), { requestsPerSecond: 100, burst: 500, per: "client" });
    const bad = problems(base({}, { routes: [{ hosts: ["*"], pool: "app", rateLimit: { requestsPerSecond: 0, burst: 0.5, per: "user" } }] }));
    assert.deepEqual(bad, [
      "reverse.routes[0].rateLimit.requestsPerSecond: expected a number of requests per second, 0.001-1000000, got 0",
      "reverse.routes[0].rateLimit.burst: expected an integer 1-1000000, got 0.5",
      'reverse.routes[0].rateLimit.per: expected "client" or "route", got "user"',
    ]);
  });

  it("names bad values at their field", () => {
    const bad = problems(base(
      { tls: { certificates: [{ cert: "x.pem", key: "x.pem", names: [".bad"] }], unknownSni: "drop" }, trustForwardedFrom: ["300.0.0.1"], httpsPort: 443 },
      {
        pools: { app: { backends: ["ftp://x", "http://a/path"], tls: { clientCert: "c.pem" }, ejectMs: -1, keepAlive: { maxIdlePerBackend: -1, idleTimeoutMs: 0 } }, "bad name": { backends: [] } },
        routes: [{ hosts: [".x.test"], pathPrefix: "api", backendPrefix: "/a/*", pool: "app", methods: ["get"], requestHeaders: { set: { "Content-Length": "1", "X-A": "a\nb" } }, hostHeader: "other", deny: [{}] }],
      },
    ));
    const want = [
      /^listeners\[0\]\.httpsPort: only valid for "redirect-https" listeners/,
      /^listeners\[0\]\.tls\.certificates\[0\]\.names\[0\]: expected a server name/,
      /^listeners\[0\]\.tls\.certificates\[0\]: expected "key" to be a file other than "cert"/,
      /^listeners\[0\]\.tls\.unknownSni: expected "default" or "refuse"/,
      /^listeners\[0\]\.trustForwardedFrom\[0\]: expected an IP address or CIDR/,
      /^reverse\.pools\.app\.backends\[0\]: expected an "http:\/\/host:port"/,
      /^reverse\.pools\.app\.backends\[1\]: .*no path/,
      /^reverse\.pools\.app\.tls: expected "clientCert" and "clientKey" together/,
      /^reverse\.pools\.app\.ejectMs: expected an integer/,
      /^reverse\.pools\.app\.keepAlive\.maxIdlePerBackend: expected an integer 0-10000/,
      /^reverse\.pools\.app\.keepAlive\.idleTimeoutMs: expected an integer 1-3600000/,
      /^reverse\.pools\["bad name"\]|^reverse\.pools.*bad name.*: expected a pool name/,
      /backends: expected at least one backend/,
      /^reverse\.routes\[0\]\.hosts\[0\]: expected a host name, an IP address, "\*\.suffix" or "\*"/,
      /^reverse\.routes\[0\]\.pathPrefix: expected a path starting with "\/"/,
      /^reverse\.routes\[0\]\.backendPrefix: expected a path prefix without "\*"/,
      /^reverse\.routes\[0\]\.methods\[0\]: .*\(write "GET"\)/,
      /^reverse\.routes\[0\]\.hostHeader: expected "preserve", "backend" or \{"set": "host:port"\}/,
      /Content-Length.*cannot be edited/,
      /X-A.*no line breaks|expected a header value/,
      /^reverse\.routes\[0\]\.deny\[0\]: expected "paths" or "methods"/,
    ];
    for (const w of want) assert.ok(bad.some((p) => w.test(p)), `no problem matching ${w}; got:\n${bad.join("\n")}`);
  });

  it("refuses reverse fields on other listener modes, and duplicate route ids", () => {
    const p = problems({
      listeners: [{ mode: "socks5", listen: "127.0.0.1:1080", tls: false, trustForwardedFrom: [] }, { mode: "explicit", listen: "127.0.0.1:3128", trustIdentityFrom: ["10.0.0.1"] }],
      reverse: { pools: { a: { backends: ["http://127.0.0.1:1"] } }, routes: [{ id: "x", hosts: ["*"], pool: "a" }, { id: "x", hosts: ["*"], pool: "a" }] },
    });
    assert.ok(p.includes('listeners[0].tls: only valid for "reverse" and "explicit" listeners (this one is "socks5")'), p.join("\n"));
    assert.ok(p.includes('listeners[0].trustForwardedFrom: only valid for "reverse" and "explicit" listeners (this one is "socks5")'), p.join("\n"));
    assert.ok(p.includes('listeners[1].trustIdentityFrom: only valid for "reverse" listeners (this one is "explicit")'), p.join("\n"));
    assert.ok(p.some((x) => /reverse\.routes\[1\]\.id: duplicate route id "x"/.test(x)), p.join("\n"));
  });
});

describe("config: HTTPS proxy listeners (explicit with tls)", () => {
  it("takes the reverse listener's tls, or none; false is plain", () => {
    const c = parseConfig({
      listeners: [
        { name: "p", mode: "explicit", listen: "127.0.0.1:3129", tls: { certificates: [{ cert: "proxy.pem", key: "proxy.key" }], minVersion: "TLSv1.3" } },
        { name: "q", mode: "explicit", listen: "127.0.0.1:3128" },
        { name: "r", mode: "explicit", listen: "127.0.0.1:3127", tls: false },
      ],
    });
    const [p, q, r] = c.listeners;
    assert.deepEqual(p?.mode === "explicit" && p.tls, {
      certificates: [{ cert: "proxy.pem", key: "proxy.key" }],
      defaultCertificate: 0,
      unknownSni: "default",
      mint: [],
      minVersion: "TLSv1.3",
    });
    assert.equal(q?.mode === "explicit" && q.tls, undefined);
    assert.equal(r?.mode === "explicit" && r.tls, undefined);
  });

  it("minting the proxy's certificate needs a CA", () => {
    const p = problems({ listeners: [{ mode: "explicit", listen: "127.0.0.1:3129", tls: { mint: ["proxy.corp.example"], unknownSni: "refuse" } }] });
    assert.deepEqual(p, ['ca: a CA is required to mint certificates; configure "ca" (run "tollgate ca init")']);
  });
});

describe("config: trustForwardedFrom on explicit listeners", () => {
  it("names the child proxies believed; absent or empty: none", () => {
    const c = parseConfig({
      listeners: [
        { name: "p", mode: "explicit", listen: "127.0.0.1:3129", trustForwardedFrom: ["10.1.0.0/24", "192.0.2.7"] },
        { name: "q", mode: "explicit", listen: "127.0.0.1:3128", trustForwardedFrom: [] },
        { name: "r", mode: "explicit", listen: "127.0.0.1:3127" },
      ],
    });
    assert.deepEqual(c.listeners.map((l) => l.mode === "explicit" ? l.trustForwardedFrom : "?"), [["10.1.0.0/24", "192.0.2.7"], undefined, undefined]);
  });

  it("refuses what is not an address or CIDR, and the field on transparent listeners", () => {
    const p = problems({
      listeners: [
        { mode: "explicit", listen: "127.0.0.1:3128", trustForwardedFrom: ["10.1.0.0/33"] },
        { mode: "transparent-http", listen: "127.0.0.1:8080", trustForwardedFrom: ["10.1.0.0/24"] },
      ],
    });
    assert.ok(p.some((x) => /^listeners\[0\]\.trustForwardedFrom\[0\]: expected an IP address or CIDR/.test(x)), p.join("\n"));
    assert.ok(p.includes('listeners[1].trustForwardedFrom: only valid for "reverse" and "explicit" listeners (this one is "transparent-http")'), p.join("\n"));
  });
});
