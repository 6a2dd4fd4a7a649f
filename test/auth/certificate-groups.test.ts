import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { certificateGroupsOf, DirectoryCertificateGroups, type CertificateGroupsSettings } from "../../src/auth/certificate-groups.ts";
import { DirectoryUnavailableError } from "../../src/auth/ldap/directory.ts";
import { TaskGate } from "../../src/core/task-gate.ts";
import { fakeDirectory, type SearchReply, type SearchSeen, type Seen } from "./ldap/fake-directory.ts";

const SERVICE = "cn=tollgate,ou=services,dc=test";
const base: CertificateGroupsSettings = {
  url: "ldaps://dc.test",
  timeoutMs: 500,
  bindName: SERVICE,
  password: "reader-pw",
  searchBase: "ou=people,dc=test",
  userAttribute: "mail",
  groups: { userAttribute: "sAMAccountName", memberAttribute: "memberOf" },
};
const serviceOnly = (name: string, password: string) => (name === SERVICE && password === "reader-pw" ? 0 : 49);
const people: Record<string, string[]> = {
  "alice@corp.test": ["cn=Staff,ou=groups,dc=test", "cn=Printers,ou=other,dc=test"],
  "bob@corp.test": [],
};
const byMail = (req: SearchSeen): SearchReply => {
  const [attr, value] = req.filter.split("=");
  const memberOf = attr === "mail" ? people[value!.toLowerCase()] : undefined;
  return memberOf ? { entries: [{ dn: `uid=${value},${req.base}`, attributes: { memberOf } }] } : { entries: [] };
};
const fresh = (): Seen => ({ binds: [], unbinds: 0 });
const settle = () => new Promise((r) => setTimeout(r, 20));

describe("DirectoryCertificateGroups", () => {
  it("binds as the gateway's account, finds the entry below searchBase by userAttribute, and reads its groups", async () => {
    const seen = fresh();
    const dir = new DirectoryCertificateGroups(base, fakeDirectory(serviceOnly, seen, byMail));
    assert.deepEqual(await dir.groupsOf("alice@corp.test"), ["printers", "staff"]);
    assert.deepEqual(seen.binds, [{ name: SERVICE, password: "reader-pw" }]);
    assert.equal(seen.searches?.length, 1);
    const [search] = seen.searches!;
    assert.equal(search!.base, "ou=people,dc=test");
    assert.equal(search!.filter, "mail=alice@corp.test");
    assert.equal(search!.scope, 2, "the whole subtree");
    assert.deepEqual(search!.attributes, ["memberOf"]);
    await settle();
    assert.equal(seen.unbinds, 1, "the session ends with an unbind");
  });

  it("within picks the names; required refuses a user in no group, one with no entry, and a name never asked about", async () => {
    const g = { ...base.groups, within: "ou=groups,dc=test", required: true };
    const seen = fresh();
    const dir = new DirectoryCertificateGroups({ ...base, groups: g }, fakeDirectory(serviceOnly, seen, byMail));
    assert.deepEqual(await dir.groupsOf("alice@corp.test"), ["staff"]);
    assert.deepEqual(await dir.groupsOf("bob@corp.test"), { refused: 'the directory shows "bob@corp.test" in no group within "ou=groups,dc=test", and groups.required is set' });
    assert.deepEqual(await dir.groupsOf("carol@corp.test"), {
      refused: 'the directory has no entry with mail "carol@corp.test" below "ou=people,dc=test", and groups.required is set',
    });
    const binds = seen.binds.length;
    assert.deepEqual(dir.groupsOf("Alice Smith"), {
      refused: '"Alice Smith" is not a name the directory is asked about (letters, digits and ._@- only), and groups.required is set',
    });
    assert.equal(seen.binds.length, binds, "a name with a space is not sent to the directory");
    const lenient = new DirectoryCertificateGroups(base, fakeDirectory(serviceOnly, fresh(), byMail));
    assert.deepEqual(await lenient.groupsOf("carol@corp.test"), [], "without required: no entry, no groups");
    assert.deepEqual(lenient.groupsOf("Alice Smith"), []);
  });

  it("keeps an answer 5 minutes (answered at once, no session), then asks again", async () => {
    const seen = fresh();
    let now = 1_000_000;
    const dir = new DirectoryCertificateGroups(base, fakeDirectory(serviceOnly, seen, byMail), { now: () => now });
    assert.ok(dir.groupsOf("alice@corp.test") instanceof Promise);
    await dir.groupsOf("alice@corp.test");
    now += 4 * 60_000;
    assert.deepEqual(dir.groupsOf("alice@corp.test"), ["printers", "staff"], "known: not a promise");
    assert.equal(seen.binds.length, 1);
    now += 2 * 60_000;
    assert.deepEqual(await dir.groupsOf("alice@corp.test"), ["printers", "staff"]);
    assert.equal(seen.binds.length, 2);
  });

  it("lookups of one name under way at once are one session", async () => {
    const seen = fresh();
    const dir = new DirectoryCertificateGroups(base, fakeDirectory(serviceOnly, seen, byMail));
    const all = await Promise.all([dir.groupsOf("alice@corp.test"), dir.groupsOf("alice@corp.test"), dir.groupsOf("bob@corp.test")]);
    assert.deepEqual(all, [["printers", "staff"], ["printers", "staff"], []]);
    assert.equal(seen.binds.length, 2);
  });

  it("what the directory cannot tell throws DirectoryUnavailableError, is not kept, and names the cause", async () => {
    const cases: [string, ConstructorParameters<typeof DirectoryCertificateGroups>[1], RegExp][] = [
      ["the gateway's password refused", fakeDirectory(() => 49, fresh(), byMail), /refused the gateway's bind as "cn=tollgate,ou=services,dc=test" \(proxyAuth\.ldap\.certificateUsers\): result 49/],
      ["two entries", fakeDirectory(serviceOnly, fresh(), (req) => ({ entries: [{ dn: "uid=a," + req.base, attributes: {} }, { dn: "uid=b," + req.base, attributes: {} }] })), /could not tell "alice@corp.test"'s groups: more than one entry matched/],
      ["the search fails", fakeDirectory(serviceOnly, fresh(), () => ({ entries: [], code: 50 })), /could not tell "alice@corp\.test"'s groups: .*50/],
      ["a list in parts", fakeDirectory(serviceOnly, fresh(), (req) => ({ entries: [{ dn: "uid=a," + req.base, attributes: { "memberOf;range=0-1499": ["cn=x"] } }] })), /a part of the list/],
      ["unreachable", () => Promise.reject(new Error("connection refused")), /cannot reach the directory ldaps:\/\/dc\.test: connection refused/],
      ["silent", fakeDirectory(() => "silent", fresh(), byMail), /did not answer the gateway's bind: timed out/],
    ];
    for (const [what, failing, error] of cases) {
      // the first session fails as the case says; the directory is fine from then on
      const fine = fakeDirectory(serviceOnly, fresh(), byMail);
      let sessions = 0;
      const dir = new DirectoryCertificateGroups({ ...base, timeoutMs: 150 }, (signal) => (sessions++ === 0 ? failing(signal) : fine()));
      await assert.rejects(Promise.resolve(dir.groupsOf("alice@corp.test")), (e) => e instanceof DirectoryUnavailableError && error.test(e.message), what);
      assert.deepEqual(await dir.groupsOf("alice@corp.test"), ["printers", "staff"], `${what}: not kept, asked again`);
      assert.equal(sessions, 2);
    }
  });

  it("nested: groups of groups are read as the gateway's account too", async () => {
    const tree: Record<string, string[]> = {
      "cn=backend,ou=dept,dc=test": ["cn=Staff,ou=groups,dc=test"],
      "cn=staff,ou=groups,dc=test": [],
    };
    const seen = fresh();
    const dir = new DirectoryCertificateGroups(
      { ...base, groups: { ...base.groups, nested: true } },
      fakeDirectory(serviceOnly, seen, (req) => {
        if (req.filter.startsWith("mail=")) return { entries: [{ dn: "uid=dave," + req.base, attributes: { memberOf: ["cn=Backend,ou=dept,dc=test"] } }] };
        const memberOf = tree[req.base.toLowerCase()];
        return memberOf ? { entries: [{ dn: req.base, attributes: { memberOf } }] } : { entries: [], code: 32 };
      }),
    );
    assert.deepEqual(await dir.groupsOf("dave@corp.test"), ["backend", "staff"]);
    assert.deepEqual(seen.binds.map((b) => b.name), [SERVICE]);
  });

  it("a full gate is the directory being unavailable, not a refusal", async () => {
    const gate = new TaskGate(1, 0, "directory checks");
    const dir = new DirectoryCertificateGroups(base, fakeDirectory(serviceOnly, fresh(), byMail), { gate });
    const first = dir.groupsOf("alice@corp.test");
    await assert.rejects(Promise.resolve(dir.groupsOf("bob@corp.test")), (e) => e instanceof DirectoryUnavailableError && /busy with other directory checks/.test(e.message));
    assert.deepEqual(await first, ["printers", "staff"]);
  });
});

describe("certificateGroupsOf", () => {
  const local = [{ name: "dave", groups: ["Staff", "ops", "staff"] }, { name: "erin" }];

  it("a local user's groups (lower case, once each), compared as written; others have none without a directory", () => {
    const groupsOf = certificateGroupsOf(local, undefined);
    assert.deepEqual(groupsOf("dave"), ["ops", "staff"]);
    assert.deepEqual(groupsOf("erin"), []);
    assert.deepEqual(groupsOf("Dave"), [], "names are compared as written, as sign-ins compare local users");
    assert.deepEqual(groupsOf("zoe"), []);
  });

  it("with a directory: local users first; a local name in other case is never looked up; any other name is", async () => {
    const seen = fresh();
    const dir = new DirectoryCertificateGroups({ ...base, userAttribute: "uid" }, fakeDirectory(serviceOnly, seen, (req) => ({ entries: [{ dn: "uid=x," + req.base, attributes: { memberOf: ["cn=Remote,ou=groups,dc=test"] } }] })));
    const groupsOf = certificateGroupsOf(local, dir);
    assert.deepEqual(groupsOf("dave"), ["ops", "staff"]);
    assert.deepEqual(groupsOf("DAVE"), []);
    assert.equal(seen.binds.length, 0);
    assert.deepEqual(await groupsOf("zoe"), ["remote"]);
    assert.equal(seen.searches?.[0]?.filter, "uid=zoe");
  });
});
