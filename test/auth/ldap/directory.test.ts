import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { memoryConnPair } from "../../../src/core/memory-conn.ts";
import { constructed, integer, tlv } from "../../../src/auth/ldap/ber.ts";
import { fakeDirectory, type SearchReply, type SearchSeen, type Seen } from "./fake-directory.ts";

const enc = new TextEncoder();
import { DirectoryUnavailableError, LdapDirectory } from "../../../src/auth/ldap/directory.ts";
import { MAX_NESTED_GROUPS } from "../../../src/auth/ldap/user-groups.ts";
import { createBasicCredentials, uncheckedAnswer } from "../../../src/auth/proxy-auth.ts";
import { hashPassword } from "../../../src/auth/password-hash.ts";

const settings = { url: "ldaps://dc.test", bindName: "uid={user},ou=people,dc=test", timeoutMs: 500 };
const passwords: Record<string, string> = { "uid=alice,ou=people,dc=test": "s3cret" };
const byPassword = (name: string, password: string) => (passwords[name] === password ? 0 : 49);

describe("LdapDirectory", () => {
  it("binds as the user: the right password passes, a wrong one does not, and each session ends with an unbind", async () => {
    const seen: Seen = { binds: [], unbinds: 0 };
    const dir = new LdapDirectory(settings, fakeDirectory(byPassword, seen));
    assert.deepEqual(await dir.verify("alice", "s3cret"), { ok: true, groups: [] });
    const bad = await dir.verify("alice", "guess");
    assert.equal(bad.ok, false);
    if (!bad.ok) assert.match(bad.reason, /refused the bind: result 49 \(no\)/);
    assert.deepEqual(seen.binds.map((b) => b.name), ["uid=alice,ou=people,dc=test", "uid=alice,ou=people,dc=test"]);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(seen.unbinds, 2);
  });

  it("never sends an empty password (an unauthenticated bind many servers accept)", async () => {
    const seen: Seen = { binds: [], unbinds: 0 };
    const dir = new LdapDirectory(settings, fakeDirectory(() => 0, seen));
    const r = await dir.verify("alice", "");
    assert.equal(r.ok, false);
    assert.equal(seen.binds.length, 0);
  });

  it("only plain names are asked about: no second DN, no look-alike of another account", async () => {
    const seen: Seen = { binds: [], unbinds: 0 };
    const dir = new LdapDirectory({ ...settings, bindName: "uid={user},o=$&" }, fakeDirectory(() => 0, seen));
    for (const name of ["alice,ou=people,dc=test", " alice", "alice ", "alice\t", "alice\u00a0", "\uff41lice", "ALI\u0130CE", "alice$`", "$'", "", "x".repeat(65)]) {
      const r = await dir.verify(name, "s3cret");
      assert.equal(r.ok, false, JSON.stringify(name));
    }
    assert.equal(seen.binds.length, 0);
    assert.deepEqual(await dir.verify("j.doe-2@corp.example", "pw"), { ok: true, groups: [] });
    assert.equal(seen.binds[0]?.name, "uid=j.doe-2@corp.example,o=$&", "the template as written, the name put in as it is");
  });

  it("an answer to another message is not the bind's", async () => {
    const dial = () => {
      const [ours, theirs] = memoryConnPair();
      void theirs.writable.getWriter().write(constructed(0x30, [integer(7), constructed(0x61, [integer(0, 0x0a), tlv(0x04, new Uint8Array(0)), tlv(0x04, new Uint8Array(0))])]));
      return Promise.resolve(ours);
    };
    await assert.rejects(new LdapDirectory(settings, dial).verify("alice", "x"), (e) => e instanceof DirectoryUnavailableError && /answer to message 7/.test(e.message));
  });

  it("a directory that is busy, hangs up, never answers or cannot be reached is unavailable, not a wrong password", async () => {
    const seen: Seen = { binds: [], unbinds: 0 };
    await assert.rejects(new LdapDirectory(settings, fakeDirectory(() => 51, seen)).verify("alice", "x"), (e) => e instanceof DirectoryUnavailableError && /result 51/.test(e.message));
    await assert.rejects(new LdapDirectory(settings, fakeDirectory(() => "hang-up", seen)).verify("alice", "x"), (e) => e instanceof DirectoryUnavailableError && /did not answer/.test(e.message));
    const started = Date.now();
    await assert.rejects(new LdapDirectory({ ...settings, timeoutMs: 150 }, fakeDirectory(() => "silent", seen)).verify("alice", "x"), (e) => e instanceof DirectoryUnavailableError && /timed out/.test(e.message));
    assert.ok(Date.now() - started < 2000, "bounded by timeoutMs");
    await assert.rejects(new LdapDirectory(settings, () => Promise.reject(new Error("ECONNREFUSED"))).verify("alice", "x"), (e) => e instanceof DirectoryUnavailableError && /cannot reach the directory ldaps:\/\/dc.test: ECONNREFUSED/.test(e.message));
  });

  it("a malformed answer is a clean failure, not a crash", async () => {
    const dial = () => {
      const [ours, theirs] = memoryConnPair();
      void (async () => {
        const w = theirs.writable.getWriter();
        await w.write(Uint8Array.from([0x30, 0x80, 0x02, 0x01, 0x01]));
      })();
      return Promise.resolve(ours);
    };
    await assert.rejects(new LdapDirectory(settings, dial).verify("alice", "x"), (e) => e instanceof DirectoryUnavailableError && /indefinite length/.test(e.message));
  });
});

describe("LdapDirectory: groups", () => {
  const groupsOf = (dn: string) => ({ entries: [{ dn, attributes: { memberOf: ["cn=Engineers,ou=groups,dc=test", "CN=VPN Users,OU=Groups,DC=test", "cn=admins,ou=other,dc=test", "cn=Engineers,ou=groups,dc=test"] } }] });

  it("reads the bound entry's memberOf, as the user, after the bind: names in lower case, sorted, once each", async () => {
    const seen: Seen = { binds: [], unbinds: 0 };
    const dir = new LdapDirectory({ ...settings, groups: { userAttribute: "uid", memberAttribute: "memberOf" } }, fakeDirectory(byPassword, seen, (req) => groupsOf(req.base)));
    assert.deepEqual(await dir.verify("alice", "s3cret"), { ok: true, groups: ["admins", "engineers", "vpn users"] });
    assert.deepEqual(seen.searches, [{ base: "uid=alice,ou=people,dc=test", scope: 0, sizeLimit: 2, filter: "(objectClass=*)", attributes: ["memberOf"] }]);
    const bad = await dir.verify("alice", "guess");
    assert.equal(bad.ok, false);
    assert.equal(seen.searches?.length, 1, "no search after a refused bind");
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(seen.unbinds, 2);
  });

  it("an account named u:DOMAIN\\name (Active Directory) is found below searchBase by userAttribute, skipping referrals; within keeps groups below a DN", async () => {
    const seen: Seen = { binds: [], unbinds: 0 };
    const ad = { ...settings, bindName: "{user}@corp.test", groups: { searchBase: "dc=test", userAttribute: "sAMAccountName", domain: "corp", memberAttribute: "memberOf", within: "ou=Groups, dc=TEST" } };
    const dir = new LdapDirectory(ad, fakeDirectory(() => 0, seen, () => ({ ...groupsOf("cn=Alice,dc=test"), references: 2 }), () => "u:CORP\\alice"));
    assert.deepEqual(await dir.verify("alice", "pw"), { ok: true, groups: ["engineers", "vpn users"] });
    assert.deepEqual(seen.searches, [{ base: "dc=test", scope: 2, sizeLimit: 2, filter: "sAMAccountName=alice", attributes: ["memberOf"] }]);
  });

  it("the groups are those of the account the directory signed in, not of the name typed", async () => {
    const ad = { ...settings, bindName: "{user}@corp.test", groups: { searchBase: "dc=test", userAttribute: "sAMAccountName", domain: "CORP", memberAttribute: "memberOf" } };
    // a UPN whose prefix is another account's sAMAccountName: the directory says whom it signed in
    const seen: Seen = { binds: [], unbinds: 0 };
    await new LdapDirectory(ad, fakeDirectory(() => 0, seen, () => groupsOf("cn=Bob,dc=test"), () => "u:CORP\\bob.smith")).verify("bob", "pw");
    assert.equal(seen.searches?.[0]?.filter, "sAMAccountName=bob.smith");
    // an account of another domain (a child domain, a trusted one) is not read as this domain's same-named one
    const other = new LdapDirectory(ad, fakeDirectory(() => 0, { binds: [], unbinds: 0 }, () => groupsOf("x"), () => "u:EMEA\\alice"));
    await assert.rejects(other.verify("alice", "pw"), (e) => e instanceof DirectoryUnavailableError && /"u:EMEA\\\\alice", of another domain than groups.domain "CORP"/.test(e.message));
    const dnSeen: Seen = { binds: [], unbinds: 0 };
    await new LdapDirectory(ad, fakeDirectory(() => 0, dnSeen, () => groupsOf("x"), () => "dn:uid=alice,ou=staff,dc=test")).verify("alice", "pw");
    assert.equal(dnSeen.searches?.[0]?.base, "uid=alice,ou=staff,dc=test");
  });

  it("a bind name that is a DN names the entry itself: no \"Who am I?\" (Active Directory would answer u:…)", async () => {
    const seen: Seen = { binds: [], unbinds: 0 };
    let asked = 0;
    const dir = new LdapDirectory({ ...settings, bindName: "cn={user},ou=staff,dc=test", groups: { userAttribute: "sAMAccountName", memberAttribute: "memberOf" } }, fakeDirectory(() => 0, seen, (req) => groupsOf(req.base), () => {
      asked++;
      return "u:CORP\\alice";
    }));
    assert.deepEqual(await dir.verify("alice", "pw"), { ok: true, groups: ["admins", "engineers", "vpn users"] });
    assert.equal(asked, 0);
    assert.equal(seen.searches?.[0]?.base, "cn=alice,ou=staff,dc=test");
  });

  it("fails closed: a search that finds no entry, two entries, or the list in parts is unavailable, never a sign-in without groups", async () => {
    const g = { searchBase: "dc=test", userAttribute: "uid", memberAttribute: "memberOf" };
    const cases: [SearchReply, RegExp, ((bound: string) => string | number)?][] = [
      [{ entries: [] }, /did not say whom it signed in \("Who am I\?", RFC 4532\): result 2/, () => 2],
      [{ entries: [] }, /names the user anonymous, neither dn: nor u:/, () => ""],
      [{ entries: [] }, /names the user "u:CORP\\\\alice", not by a DN: set groups.searchBase and groups.domain/, () => "u:CORP\\alice"],
      [{ entries: [] }, /names the user "u:alice", not as DOMAIN/, () => "u:alice"],
      [{ entries: [] }, /not a distinguished name/, () => "dn:nonsense"],
      [{ entries: [] }, /names the user "dn:", an empty DN/, () => "dn:"],
      [{ entries: [] }, /could not tell "alice"'s groups: no entry matched/],
      [{ entries: [{ dn: "uid=alice,ou=a,dc=test", attributes: {} }, { dn: "uid=alice,ou=b,dc=test", attributes: {} }] }, /more than one entry matched/],
      [{ entries: [{ dn: "uid=alice,ou=a,dc=test", attributes: {} }], code: 4 }, /more than one entry matched/],
      [{ entries: [], code: 50 }, /result 50/],
      [{ entries: [{ dn: "cn=a", attributes: { "memberOf;range=0-1499": ["cn=x,dc=test"] } }] }, /memberof;range=0-1499, a part of the list/],
      [{ entries: [{ dn: "cn=a", attributes: { memberOf: ["not a dn"] } }] }, /not a distinguished name/],
      [{ raw: [constructed(0x30, [integer(9), constructed(0x65, [integer(0, 0x0a), tlv(0x04, new Uint8Array(0)), tlv(0x04, new Uint8Array(0))])])] }, /answer to message 9, not to the search/],
      [{ raw: [constructed(0x30, [integer(3), constructed(0x64, [tlv(0x04, enc.encode("cn=a")), constructed(0x30, [constructed(0x30, [tlv(0x04, enc.encode("memberOf")), tlv(0x04, new Uint8Array(0))])])])])] }, /malformed attribute/],
    ];
    for (const [reply, error, whoAmI] of cases) {
      // "Who am I?" is asked only after a bind name that is not a DN
      const groups = whoAmI && /searchBase/.test(String(error)) ? { userAttribute: "uid", memberAttribute: "memberOf" } : { ...g, domain: "CORP" };
      const bindName = whoAmI ? "{user}@corp.test" : settings.bindName;
      const dir = new LdapDirectory({ ...settings, bindName, groups }, fakeDirectory(() => 0, { binds: [], unbinds: 0 }, () => reply, whoAmI));
      await assert.rejects(dir.verify("alice", "pw"), (e) => e instanceof DirectoryUnavailableError && error.test(e.message), String(error));
    }
  });

  it("a group's name is its RDN's cn, whatever order a multi-valued RDN comes in; else its first value", async () => {
    const member = { memberOf: ["businessCategory=admins+cn=Helpdesk,dc=test", "ou=Printers,dc=test"] };
    const dir = new LdapDirectory({ ...settings, groups: { userAttribute: "uid", memberAttribute: "memberOf" } }, fakeDirectory(() => 0, { binds: [], unbinds: 0 }, (req) => ({ entries: [{ dn: req.base, attributes: member }] })));
    assert.deepEqual(await dir.verify("alice", "pw"), { ok: true, groups: ["helpdesk", "printers"] });
  });

  it("a directory that never finishes the search is bounded by timeoutMs", async () => {
    const dir = new LdapDirectory({ ...settings, timeoutMs: 150, groups: { userAttribute: "uid", memberAttribute: "memberOf" } }, fakeDirectory(() => 0, { binds: [], unbinds: 0 }, () => ({ raw: [] })));
    const started = Date.now();
    await assert.rejects(dir.verify("alice", "pw"), (e) => e instanceof DirectoryUnavailableError && /groups: timed out/.test(e.message));
    assert.ok(Date.now() - started < 2000);
  });

  it("with required, a user the directory shows in no group (below within) cannot sign in; with one, they can", async () => {
    const g = { userAttribute: "uid", memberAttribute: "memberOf", within: "ou=groups,dc=test", required: true };
    const member = (memberOf: string[]) => new LdapDirectory({ ...settings, groups: g }, fakeDirectory(() => 0, { binds: [], unbinds: 0 }, (req) => ({ entries: [{ dn: req.base, attributes: { memberOf } }] })));
    assert.deepEqual(await member(["cn=admins,ou=other,dc=test"]).verify("alice", "pw"), {
      ok: false,
      reason: 'the directory shows "alice" in no group within "ou=groups,dc=test", and groups.required is set',
    });
    assert.equal((await member([]).verify("alice", "pw")).ok, false, "memberOf hidden or empty");
    assert.deepEqual(await member(["cn=Staff,ou=groups,dc=test"]).verify("alice", "pw"), { ok: true, groups: ["staff"] });
    const notRequired = new LdapDirectory({ ...settings, groups: { ...g, required: false } }, fakeDirectory(() => 0, { binds: [], unbinds: 0 }, (req) => ({ entries: [{ dn: req.base, attributes: {} }] })));
    assert.deepEqual(await notRequired.verify("alice", "pw"), { ok: true, groups: [] });
  });

  describe("nested", () => {
    const tree: Record<string, string[]> = {
      "uid=alice,ou=people,dc=test": ["cn=Backend,ou=dept,dc=test"],
      "cn=backend,ou=dept,dc=test": ["CN=Staff,OU=groups,DC=test", "cn=Engineering,ou=dept,dc=test"],
      "cn=engineering,ou=dept,dc=test": ["cn=Staff,ou=groups,dc=test"],
      "cn=staff,ou=groups,dc=test": ["cn=Everyone,ou=groups,dc=test"],
      "cn=everyone,ou=groups,dc=test": ["cn=Backend,ou=dept,dc=test"], // a cycle
    };
    const directory = (seen: Seen, g: Record<string, unknown> = {}, entries = tree) =>
      new LdapDirectory(
        { ...settings, groups: { userAttribute: "uid", memberAttribute: "memberOf", nested: true, ...g } },
        fakeDirectory(() => 0, seen, (req) => {
          const memberOf = entries[req.base.toLowerCase()];
          return memberOf ? { entries: [{ dn: req.base, attributes: { memberOf } }] } : { entries: [], code: 32 };
        }),
      );

    it("groups of groups count, through any depth, each read once (a cycle ends); within picks the names", async () => {
      const seen: Seen = { binds: [], unbinds: 0 };
      assert.deepEqual(await directory(seen).verify("alice", "pw"), { ok: true, groups: ["backend", "engineering", "everyone", "staff"] });
      assert.deepEqual(seen.searches?.map((q) => q.base), [
        "uid=alice,ou=people,dc=test",
        "cn=Backend,ou=dept,dc=test",
        "CN=Staff,OU=groups,DC=test",
        "cn=Engineering,ou=dept,dc=test",
        "cn=Everyone,ou=groups,dc=test",
      ]);
      assert.ok(seen.searches?.every((q) => q.scope === 0 && q.attributes.join() === "memberOf"));
      assert.deepEqual(await directory({ binds: [], unbinds: 0 }, { within: "ou=groups,dc=test", required: true }).verify("alice", "pw"), { ok: true, groups: ["everyone", "staff"] }, "found through groups outside within");
      const flat = new LdapDirectory({ ...settings, groups: { userAttribute: "uid", memberAttribute: "memberOf" } }, fakeDirectory(() => 0, { binds: [], unbinds: 0 }, (req) => ({ entries: [{ dn: req.base, attributes: { memberOf: tree[req.base.toLowerCase()] ?? [] } }] })));
      assert.deepEqual(await flat.verify("alice", "pw"), { ok: true, groups: ["backend"] }, "without nested: direct ones only");
    });

    it("answers to a level's searches may come in any order: each is matched to its group", async () => {
      const entries: Record<string, string[]> = { "uid=alice,ou=people,dc=test": ["cn=A,dc=test", "cn=B,dc=test"], "cn=a,dc=test": ["cn=PA,dc=test"], "cn=b,dc=test": ["cn=PB,dc=test"], "cn=pa,dc=test": [], "cn=pb,dc=test": [] };
      const reply = (e: Record<string, string[]>) => (req: SearchSeen): SearchReply => {
        const memberOf = e[req.base.toLowerCase()];
        return memberOf ? { entries: [{ dn: req.base, attributes: { memberOf } }] } : { entries: [], code: 32 };
      };
      const g = { userAttribute: "uid", memberAttribute: "memberOf", nested: true };
      const dir = new LdapDirectory({ ...settings, groups: g }, fakeDirectory(() => 0, { binds: [], unbinds: 0 }, reply(entries), undefined, 2));
      assert.deepEqual(await dir.verify("alice", "pw"), { ok: true, groups: ["a", "b", "pa", "pb"] });
      // B cannot be read; its answer comes first: the error names B
      const { ["cn=b,dc=test"]: _b, ...withoutB } = entries;
      const broken = new LdapDirectory({ ...settings, groups: g }, fakeDirectory(() => 0, { binds: [], unbinds: 0 }, reply(withoutB), undefined, 2));
      await assert.rejects(broken.verify("alice", "pw"), (e) => e instanceof DirectoryUnavailableError && /reading group "cn=B,dc=test": result 32/.test(e.message));
      // a second entry for one group's search is not quietly taken over the first
      const twice = new LdapDirectory({ ...settings, groups: g }, fakeDirectory(() => 0, { binds: [], unbinds: 0 }, (req) =>
        req.base.startsWith("cn=") ? { entries: [{ dn: req.base, attributes: {} }, { dn: req.base, attributes: {} }] } : reply(entries)(req)));
      await assert.rejects(twice.verify("alice", "pw"), (e) => e instanceof DirectoryUnavailableError && /more than one entry for group "cn=A,dc=test"/.test(e.message));
    });

    it("fails closed: a group that cannot be read, a list in parts, too many groups", async () => {
      const missing = Object.fromEntries(Object.entries(tree).filter(([dn]) => dn !== "cn=engineering,ou=dept,dc=test"));
      await assert.rejects(directory({ binds: [], unbinds: 0 }, {}, missing).verify("alice", "pw"), (e) =>
        e instanceof DirectoryUnavailableError && /could not tell "alice"'s groups: reading group "cn=Engineering,ou=dept,dc=test": result 32/.test(e.message));
      const parts = new LdapDirectory({ ...settings, groups: { userAttribute: "uid", memberAttribute: "memberOf", nested: true } }, fakeDirectory(() => 0, { binds: [], unbinds: 0 }, (req) =>
        ({ entries: [{ dn: req.base, attributes: req.base.startsWith("uid=") ? { memberOf: ["cn=big,dc=test"] } : { "memberOf;range=0-1499": ["cn=x,dc=test"] } as Record<string, string[]> }] })));
      await assert.rejects(parts.verify("alice", "pw"), (e) => e instanceof DirectoryUnavailableError && /memberof;range=0-1499, a part of the list/.test(e.message));
      // a chain of groups longer than the limit: each level one more
      const chain: Record<string, string[]> = { "uid=alice,ou=people,dc=test": ["cn=g0,dc=test"] };
      for (let i = 0; i <= MAX_NESTED_GROUPS; i++) chain[`cn=g${i},dc=test`] = [`cn=g${i + 1},dc=test`];
      const seen: Seen = { binds: [], unbinds: 0 };
      await assert.rejects(directory(seen, {}, chain).verify("alice", "pw"), (e) => e instanceof DirectoryUnavailableError && /more than 1000 groups through nesting/.test(e.message));
      assert.equal(seen.searches?.length, MAX_NESTED_GROUPS + 1, "the user's entry and 1000 groups, then it stops");
      // many at one level: asked in batches, answered in full
      const wide: Record<string, string[]> = { "uid=alice,ou=people,dc=test": Array.from({ length: 200 }, (_, i) => `cn=w${i},dc=test`) };
      for (let i = 0; i < 200; i++) wide[`cn=w${i},dc=test`] = [];
      const many = await directory({ binds: [], unbinds: 0 }, {}, wide).verify("alice", "pw");
      assert.ok(many.ok);
      assert.equal(many.groups.length, 200);
    });
  });

  it("within must be a DN", () => {
    assert.throws(() => new LdapDirectory({ ...settings, groups: { userAttribute: "uid", memberAttribute: "memberOf", within: "groups" } }, fakeDirectory(() => 0, { binds: [], unbinds: 0 })), /not a distinguished name/);
  });
});

describe("BasicCredentials with a directory", () => {
  const header = (user: string, password: string) => `Basic ${btoa(`${user}:${password}`)}`;

  it("local users first; others through the directory; its outage is a 503 that costs the client nothing", async () => {
    const seen: Seen = { binds: [], unbinds: 0 };
    let down = false;
    const directory = new LdapDirectory(settings, () => (down ? Promise.reject(new Error("ECONNREFUSED")) : fakeDirectory(byPassword, seen)()));
    const local = [{ name: "root", passwordHash: await hashPassword("local-pw", 100_000) }];
    const creds = createBasicCredentials(local, { burst: 2, perMinute: 1 }, undefined, undefined, directory);
    assert.deepEqual(await creds.check(header("root", "local-pw"), "Proxy-Authorization", "10.0.0.1"), { ok: true, user: "root", groups: [] });
    assert.equal((await creds.check(header("root", "s3cret"), "Proxy-Authorization", "10.0.0.1")).ok, false, "a local name is never asked of the directory");
    assert.deepEqual(await creds.check(header("alice", "s3cret"), "Proxy-Authorization", "10.0.0.2"), { ok: true, user: "alice", groups: [] });
    assert.equal(seen.binds.length, 1);
    down = true;
    assert.deepEqual(await creds.check(header("alice", "s3cret"), "Proxy-Authorization", "10.0.0.2"), { ok: true, user: "alice", groups: [] }, "remembered");
    for (let i = 0; i < 4; i++) {
      const r = await creds.check(header("bob", "pw"), "Proxy-Authorization", "10.0.0.3");
      assert.equal(uncheckedAnswer(r)?.status, 503, `attempt ${i}: unavailable, not counted against the client`);
      assert.match(uncheckedAnswer(r)?.message ?? "", /cannot be checked now/);
    }
    assert.deepEqual(await creds.check(header("root", "local-pw"), "Proxy-Authorization", "10.0.0.3"), { ok: true, user: "root", groups: [] }, "a local account works while the directory is down");
  });

  it("a directory user is named in lower case; a local name in other case never reaches the directory", async () => {
    const seen: Seen = { binds: [], unbinds: 0 };
    const directory = new LdapDirectory(settings, fakeDirectory(() => 0, seen));
    const local = [{ name: "root", passwordHash: await hashPassword("local-pw", 100_000) }];
    const creds = createBasicCredentials(local, { burst: 5, perMinute: 1 }, undefined, undefined, directory);
    assert.deepEqual(await creds.check(header("Alice", "s3cret"), "Proxy-Authorization", "10.0.0.2"), { ok: true, user: "alice", groups: [] });
    assert.equal((await creds.check(header("ROOT", "anything"), "Proxy-Authorization", "10.0.0.2")).ok, false, "would come back as local root");
    assert.deepEqual(seen.binds.map((b) => b.name), ["uid=Alice,ou=people,dc=test"]);
  });

  it("a sign-in carries the user's groups: a local user's from the config, a directory user's from the directory; remembered with them", async () => {
    const seen: Seen = { binds: [], unbinds: 0 };
    const dir = new LdapDirectory({ ...settings, groups: { userAttribute: "uid", memberAttribute: "memberOf" } }, fakeDirectory(() => 0, seen, (req) => ({ entries: [{ dn: req.base, attributes: { memberOf: ["cn=Staff,dc=test"] } }] })));
    const local = [{ name: "root", passwordHash: await hashPassword("local-pw", 100_000), groups: ["Ops", "ops", "Admins"] }];
    const creds = createBasicCredentials(local, { burst: 5, perMinute: 1 }, undefined, undefined, dir);
    assert.deepEqual(await creds.check(header("root", "local-pw"), "Proxy-Authorization", "10.0.0.1"), { ok: true, user: "root", groups: ["admins", "ops"] });
    assert.deepEqual(await creds.check(header("Alice", "pw"), "Proxy-Authorization", "10.0.0.1"), { ok: true, user: "alice", groups: ["staff"] });
    assert.deepEqual(await creds.check(header("Alice", "pw"), "Proxy-Authorization", "10.0.0.1"), { ok: true, user: "alice", groups: ["staff"] });
    assert.equal(seen.searches?.length, 1, "the second check came from the cache");
  });
});
