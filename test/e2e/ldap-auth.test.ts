/**
 * `proxyAuth.ldap`: proxy users sign in with their directory password, checked by a bind
 * against a real OpenLDAP slapd (ldaps:// by name, validated against the test CA; and
 * ldap://). Local users come first and keep working while the directory is down; a
 * directory that cannot tell answers 503, not 407. With `groups`, the users' groups are read
 * from the memberOf (slapd's memberof overlay) of the entry "Who am I?" names, and decide
 * rules by group.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { hashPassword } from "../../src/auth/password-hash.ts";
import { makeTestPki, type TestPki } from "./support/certs.ts";
import { curl } from "./support/curl.ts";
import { type GatewayProcess, startGateway } from "./support/gateway.ts";
import { type Origin, startOrigin } from "./support/origin.ts";
import { type Slapd, startSlapd } from "./support/slapd.ts";

/** The status of a GET through the gateway as `user` (`name:password`). */
async function signedInGet(gw: GatewayProcess, origin: Origin, user: string): Promise<string> {
  const r = await curl(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-x", `http://127.0.0.1:${gw.port}`, "--proxy-user", user, `http://origin.test:${origin.port}/hello`]);
  return r.stdout;
}

describe("proxy users from an LDAP directory (proxyAuth.ldap)", { timeout: 90_000 }, () => {
  let pki: TestPki;
  let slapd: Slapd;
  let origin: Origin;
  let gw: GatewayProcess;
  let config: Record<string, unknown> & { proxyAuth: Record<string, unknown> & { ldap: Record<string, unknown> } };

  const get = (user: string) => signedInGet(gw, origin, user);
  const lineFor = (pred: (f: Record<string, unknown>) => boolean) => gw.waitForFlow((f) => f.type === "flow" && pred(f));

  before(async () => {
    pki = makeTestPki(["ldap.test"]);
    slapd = await startSlapd({ alice: "wonderland", bob: "builder" }, pki);
    origin = await startOrigin();
    config = {
      listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:0" }],
      proxyAuth: {
        users: [{ name: "root", passwordHash: await hashPassword("local-only", 100_000) }],
        ldap: { url: `ldaps://ldap.test:${slapd.ports.ldaps}`, bindName: slapd.bindName, caFile: pki.caFile, timeoutMs: 3000 },
      },
      policy: {
        defaultAction: "deny",
        rules: [{ id: "staff", hosts: ["origin.test"], users: ["alice", "root"], action: "allow" }],
      },
      dns: { hosts: { "origin.test": ["127.0.0.1"], "ldap.test": ["127.0.0.1"] } },
      addressGuard: { allow: ["127.0.0.0/8"] },
    };
    gw = await startGateway(config);
  });

  after(async () => {
    const graceful = await gw?.stop();
    await slapd?.stop();
    await origin?.close();
    assert.equal(graceful, true);
  });

  it("a directory user signs in over ldaps:// and the policy sees the name", async () => {
    assert.equal(await get("alice:wonderland"), "200");
    const line = await lineFor((f) => f.user === "alice");
    assert.equal(line.rule, "staff");
  });

  it("a wrong or empty password is a 407; another directory user is signed in but denied", async () => {
    assert.equal(await get("alice:guess"), "407");
    assert.match(String((await lineFor((f) => f.status === 407 && /alice/.test(String(f.reason)))).reason), /result 49/);
    assert.equal(await get("alice:"), "407");
    assert.equal(await get("bob:builder"), "403");
    assert.equal((await lineFor((f) => f.user === "bob")).rule, "default");
  });

  it("only plain names are asked of the directory: no second DN, no look-alike of alice", async () => {
    for (const name of ["alice,ou=people,dc=tollgate,dc=test", " alice", "alice ", "\uff41lice"]) {
      assert.equal(await get(`${name}:wonderland`), "407", JSON.stringify(name));
    }
  });

  it("over ldap:// too, after a reload", async () => {
    writeFileSync(gw.configFile!, JSON.stringify({ ...config, proxyAuth: { ...config.proxyAuth, ldap: { url: `ldap://127.0.0.1:${slapd.ports.ldap}`, bindName: slapd.bindName } } }));
    assert.match(await gw.reload(), /SIGHUP: config reloaded/);
    assert.equal(await get("alice:wonderland"), "200");
  });

  it("a directory whose certificate does not validate cannot check anyone: 503, and the line says why", async () => {
    const { caFile: _dropped, ...ldap } = config.proxyAuth.ldap;
    writeFileSync(gw.configFile!, JSON.stringify({ ...config, proxyAuth: { ...config.proxyAuth, ldap } }));
    assert.match(await gw.reload(), /SIGHUP: config reloaded/);
    assert.equal(await get("alice:wonderland"), "503");
    const line = await lineFor((f) => f.status === 503);
    assert.match(String(line.reason), /cannot reach the directory ldaps:\/\/ldap\.test:\d+: .*(certificate|issuer)/i);
  });

  it("with the directory down, directory users get 503 and local users still sign in", async () => {
    writeFileSync(gw.configFile!, JSON.stringify(config));
    assert.match(await gw.reload(), /SIGHUP: config reloaded/);
    await slapd.stop();
    assert.equal(await get("bob:builder"), "503");
    assert.equal(await get("root:local-only"), "200");
  });
});

describe("groups from an LDAP directory (proxyAuth.ldap.groups)", { timeout: 90_000 }, () => {
  let pki: TestPki;
  let slapd: Slapd;
  let origin: Origin;
  let gw: GatewayProcess;
  let config: Record<string, unknown> & { proxyAuth: { ldap: Record<string, unknown> } };

  const get = (user: string) => signedInGet(gw, origin, user);
  const lineFor = (pred: (f: Record<string, unknown>) => boolean) => gw.waitForFlow((f) => f.type === "flow" && pred(f));

  before(async () => {
    pki = makeTestPki(["ldap.test"]);
    slapd = await startSlapd({ alice: "wonderland", bob: "builder", carol: "singer" }, pki, [
      // teams' Admins (bob) is in proxy's Engineers: a member through nesting
      { cn: "Engineers", ou: "proxy", members: ["alice"], memberGroups: [{ cn: "Admins", ou: "teams" }] },
      // a group of the same name as one a rule names, outside the part of the tree that counts
      { cn: "Admins", ou: "teams", members: ["bob"] },
      { cn: "Admins", ou: "proxy", members: ["carol"] },
    ]);
    origin = await startOrigin();
    config = {
      listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:0" }],
      proxyAuth: {
        ldap: {
          url: `ldaps://ldap.test:${slapd.ports.ldaps}`,
          bindName: slapd.bindName,
          caFile: pki.caFile,
          timeoutMs: 3000,
          groups: { within: "ou=proxy,dc=tollgate,dc=test" },
        },
      },
      policy: {
        defaultAction: "deny",
        rules: [
          { id: "admins", hosts: ["origin.test"], groups: ["admins"], action: "allow" },
          { id: "engineers", hosts: ["origin.test"], groups: ["Engineers"], action: "allow" },
        ],
      },
      dns: { hosts: { "origin.test": ["127.0.0.1"], "ldap.test": ["127.0.0.1"] } },
      addressGuard: { allow: ["127.0.0.0/8"] },
    };
    gw = await startGateway(config);
  });

  after(async () => {
    const graceful = await gw?.stop();
    await slapd?.stop();
    await origin?.close();
    assert.equal(graceful, true);
  });

  it("a member's rule decides, read from the bound entry's memberOf; a same-named group outside `within` counts for nothing", async () => {
    assert.equal(await get("alice:wonderland"), "200");
    const alice = await lineFor((f) => f.user === "alice");
    assert.equal(alice.rule, "engineers");
    assert.match(String(alice.reason), /for user "alice" in group "engineers"$/);
    assert.equal(await get("carol:singer"), "200");
    assert.equal((await lineFor((f) => f.user === "carol")).rule, "admins");
    assert.equal(await get("bob:builder"), "403");
    assert.equal((await lineFor((f) => f.user === "bob")).rule, "default");
  });

  it("without `within` every group counts, from the next sign-in after a reload", async () => {
    writeFileSync(gw.configFile!, JSON.stringify({ ...config, proxyAuth: { ldap: { ...config.proxyAuth.ldap, groups: {} } } }));
    assert.match(await gw.reload(), /SIGHUP: config reloaded/);
    assert.equal(await get("bob:builder"), "200");
    assert.equal((await lineFor((f) => f.user === "bob" && f.status === 200)).rule, "admins");
  });

  it("an Active Directory style bind name without searchBase is refused at reload; the running config stays", async () => {
    // slapd names a DN-bound user dn:…, so the u: path (Active Directory) is covered by unit tests
    const bad = { ...config, proxyAuth: { ldap: { ...config.proxyAuth.ldap, bindName: "{user}@tollgate.test", groups: {} } } };
    writeFileSync(gw.configFile!, JSON.stringify(bad));
    assert.match(await gw.reload(), /groups needs "searchBase"/);
    assert.equal(await get("alice:wonderland"), "200", "the running config stays");
  });

  it("with `required`, a user the directory shows in no group within `within` cannot sign in; a reload's new settings apply to signed-in users too", async () => {
    assert.equal(await get("bob:builder"), "200", "signed in, in teams' Admins, while every group counts");
    const groups = { within: "ou=proxy,dc=tollgate,dc=test", required: true };
    writeFileSync(gw.configFile!, JSON.stringify({ ...config, proxyAuth: { ldap: { ...config.proxyAuth.ldap, groups } } }));
    assert.match(await gw.reload(), /SIGHUP: config reloaded/);
    assert.equal(await get("bob:builder"), "407");
    const bob = await lineFor((f) => f.rule === "proxy-auth" && f.status === 407 && /"bob"/.test(String(f.reason)));
    assert.match(String(bob.reason), /the directory shows "bob" in no group within "ou=proxy,dc=tollgate,dc=test", and groups.required is set/);
    assert.equal(await get("alice:wonderland"), "200");
  });

  it("with `nested`, a group's groups count too: bob, in teams' Admins, is in proxy's Engineers through it", async () => {
    const groups = { within: "ou=proxy,dc=tollgate,dc=test", required: true, nested: true };
    writeFileSync(gw.configFile!, JSON.stringify({ ...config, proxyAuth: { ldap: { ...config.proxyAuth.ldap, groups } } }));
    assert.match(await gw.reload(), /SIGHUP: config reloaded/);
    assert.equal(await get("bob:builder"), "200");
    const bob = await lineFor((f) => f.user === "bob" && f.status === 200 && f.rule === "engineers");
    assert.match(String(bob.reason), /for user "bob" in group "engineers"$/);
    assert.equal(await get("carol:singer"), "200", "direct memberships still count");
  });
});
