import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { familiarToForget, userChanges } from "../../src/auth/user-changes.ts";

const auth = (users: Record<string, string>) => ({
  realm: "r",
  users: Object.entries(users).map(([name, passwordHash]) => ({ name, passwordHash })),
  signInLimit: { burst: 10, perMinute: 10 },
});

describe("userChanges", () => {
  it("names users removed or whose password changed; others, and users added, go on", () => {
    const why = userChanges(auth({ alice: "h1", bob: "h2", carol: "h3" }), auth({ alice: "h1", carol: "h9", dave: "h4" }));
    assert.ok(why);
    assert.equal(why("alice"), undefined);
    assert.equal(why("bob"), 'user "bob" is no longer a proxy user');
    assert.equal(why("carol"), 'the password of user "carol" changed');
    assert.equal(why("dave"), undefined);
  });

  it("nothing to check: the same users, users only added, authentication turned on or off", () => {
    assert.equal(userChanges(auth({ alice: "h1" }), auth({ alice: "h1" })), undefined);
    assert.equal(userChanges(auth({ alice: "h1" }), auth({ alice: "h1", bob: "h2" })), undefined);
    assert.equal(userChanges(undefined, auth({ alice: "h1" })), undefined);
    assert.equal(userChanges(auth({ alice: "h1" }), undefined), undefined);
  });
});

describe("userChanges with a directory", () => {
  const ldap = { url: "ldaps://dc.corp.example", bindName: "{user}@corp.example", timeoutMs: 5000 };
  it("a directory user keeps going while local users change, and stops when the directory is dropped", () => {
    const withDir = { ...auth({ alice: "h1" }), ldap };
    const changedLocal = userChanges(withDir, { ...auth({ alice: "h2" }), ldap });
    assert.ok(changedLocal);
    assert.equal(changedLocal("dirk"), undefined, "signed in through the directory: not a local change");
    assert.equal(changedLocal("alice"), 'the password of user "alice" changed');
    const dropped = userChanges(withDir, auth({ alice: "h1", erin: "h5" }));
    assert.ok(dropped);
    assert.equal(dropped("dirk"), 'user "dirk" signed in through the directory, which is no longer used');
    assert.equal(dropped("alice"), undefined);
    assert.equal(dropped("erin"), 'user "erin" is now a local user', "signed in through the directory before");
    const moved = userChanges(withDir, { ...auth({ alice: "h1" }), ldap: { ...ldap, bindName: "{user}@staff.corp.example" } });
    assert.ok(moved);
    assert.equal(moved("dirk"), 'user "dirk" signed in through the directory, whose settings changed');
    assert.equal(moved("alice"), undefined);
    assert.equal(userChanges(withDir, { ...auth({ alice: "h1" }), ldap }), undefined);
  });
});

describe("userChanges: certificate users", () => {
  const ldap = { url: "ldaps://dc.corp.example", bindName: "{user}@corp.example", timeoutMs: 5000 };
  const certificateUsers = { bindName: "cn=reader,dc=corp,dc=example", passwordFile: "reader.pass", searchBase: "dc=corp,dc=example", userAttribute: "userPrincipalName" };
  const groups = { userAttribute: "sAMAccountName", memberAttribute: "memberOf", required: false, nested: false };
  const local = (name: string, g: string[]) => ({ realm: "r", users: [{ name, passwordHash: "h", groups: g }], signInLimit: { burst: 10, perMinute: 10 } });

  it("a directory that starts telling certificate users' groups ends their connections, not local users'", () => {
    const why = userChanges(auth({ alice: "h1" }), { ...auth({ alice: "h1" }), ldap: { ...ldap, groups, certificateUsers } });
    assert.ok(why);
    assert.equal(why("zoe@corp.example"), 'the groups of user "zoe@corp.example" are read from the directory now');
    assert.equal(why("alice"), undefined);
    const fromNothing = userChanges(undefined, { ...auth({}), ldap: { ...ldap, groups, certificateUsers } });
    assert.equal(fromNothing?.("zoe@corp.example"), 'the groups of user "zoe@corp.example" are read from the directory now', "no proxyAuth before");
    assert.equal(userChanges(auth({ alice: "h1" }), { ...auth({ alice: "h1" }), ldap }), undefined, "a directory for passwords only gives certificate users nothing");
    const withReader = { ...auth({}), ldap: { ...ldap, groups, certificateUsers } };
    const daveLocal = userChanges(withReader, { ...auth({ dave: "h" }), ldap: { ...ldap, groups, certificateUsers } });
    assert.equal(daveLocal?.("Dave"), 'user "Dave" is now local user "dave"\'s name', "the directory is asked about Dave no more");
    assert.equal(daveLocal?.("dave"), 'user "dave" is now a local user');
    assert.equal(daveLocal?.("erin"), undefined);
    const dropped = userChanges(withReader, { ...auth({}), ldap: { ...ldap, groups } });
    assert.equal(dropped?.("zoe@corp.example"), 'user "zoe@corp.example" signed in through the directory, whose settings changed');
  });

  it("without proxyAuth before, a local user with groups gives a certificate user of that name groups: their connections end", () => {
    const why = userChanges(undefined, local("dave", ["ops"]));
    assert.ok(why);
    assert.equal(why("dave"), 'user "dave" is now a local user');
    assert.equal(why("erin"), undefined);
    assert.equal(userChanges(undefined, local("dave", [])), undefined, "no groups: nothing changes for dave");
    assert.equal(userChanges(auth({ alice: "h1" }), { ...local("dave", ["ops"]), users: [{ name: "alice", passwordHash: "h1" }, { name: "dave", passwordHash: "h", groups: ["ops"] }] })?.("dave"), 'user "dave" is now a local user');
  });
});

describe("userChanges: groups", () => {
  const withGroups = (groups: Record<string, string[]>) => ({
    realm: "r",
    users: Object.entries(groups).map(([name, g]) => ({ name, passwordHash: "h", groups: g })),
    signInLimit: { burst: 10, perMinute: 10 },
  });
  it("names a local user whose groups changed (as rules compare them); order and case alone change nothing", () => {
    const why = userChanges(withGroups({ alice: ["eng", "vpn"], bob: ["Ops"] }), withGroups({ alice: ["eng"], bob: ["ops"] }));
    assert.ok(why);
    assert.equal(why("alice"), 'the groups of user "alice" changed');
    assert.equal(why("bob"), undefined);
    assert.equal(userChanges(withGroups({ alice: ["vpn", "eng"] }), withGroups({ alice: ["ENG", "vpn"] })), undefined);
  });
  it("a change to the directory's groups settings ends directory users' connections", () => {
    const ldap = { url: "ldaps://dc.test", bindName: "uid={user},dc=test", timeoutMs: 5000 };
    const before = { ...withGroups({}), ldap };
    const why = userChanges(before, { ...withGroups({}), ldap: { ...ldap, groups: { userAttribute: "uid", memberAttribute: "memberOf", required: false, nested: false } } });
    assert.equal(why?.("dirk"), 'user "dirk" signed in through the directory, whose settings changed');
  });
});

describe("familiarToForget", () => {
  const ldap = { url: "ldaps://dc.corp.example", bindName: "{user}@corp.example", timeoutMs: 5000 };
  it("the names of local users removed, added or with a new password, in lower case; not others, nor new groups", () => {
    const before = { ...auth({ Alice: "h1", bob: "h2", carol: "h3" }), users: [...auth({ Alice: "h1", bob: "h2", carol: "h3" }).users] };
    const after = { ...before, users: [{ name: "Alice", passwordHash: "h9" }, { name: "bob", passwordHash: "h2", groups: ["ops"] }, { name: "dave", passwordHash: "h4" }] };
    const forget = familiarToForget(before, after);
    assert.ok(forget);
    assert.deepEqual(["alice", "bob", "carol", "dave", "dirk"].filter(forget), ["alice", "carol", "dave"]);
    assert.equal(familiarToForget(before, before), undefined);
    const added = familiarToForget(before, { ...before, users: [...before.users, { name: "erin", passwordHash: "h5" }, { name: "BOB", passwordHash: "h6" }] });
    assert.ok(added);
    assert.deepEqual(["alice", "bob", "carol", "erin"].filter(added), ["bob", "erin"], "an added name may have been another's (bob's, in other case)");
  });

  it("directory users' only when the directory changed; a new local user takes over a directory name", () => {
    const withDir = { ...auth({ alice: "h1", bob: "h2" }), ldap };
    const localChange = familiarToForget(withDir, { ...auth({ alice: "h9", bob: "h2" }), ldap });
    assert.ok(localChange);
    assert.deepEqual(["alice", "bob", "dirk"].filter(localChange), ["alice"]);
    const newLocal = familiarToForget(withDir, { ...auth({ alice: "h1", bob: "h2", Erin: "h5" }), ldap });
    assert.ok(newLocal);
    assert.deepEqual(["alice", "bob", "dirk", "erin"].filter(newLocal), ["erin"]);
    const moved = familiarToForget(withDir, { ...auth({ alice: "h1", bob: "h2" }), ldap: { ...ldap, url: "ldaps://dc2.corp.example" } });
    assert.ok(moved);
    assert.deepEqual(["alice", "bob", "dirk"].filter(moved), ["dirk"]);
    const gone = familiarToForget(withDir, auth({ alice: "h1", bob: "h2" }));
    assert.ok(gone);
    assert.deepEqual(["alice", "bob", "dirk"].filter(gone), ["dirk"]);
    // the same directory, read otherwise: nobody's
    const groups = { userAttribute: "uid", memberAttribute: "memberOf", required: false, nested: true };
    assert.equal(familiarToForget(withDir, { ...auth({ alice: "h1", bob: "h2" }), ldap: { ...ldap, timeoutMs: 9000, groups } }), undefined);
  });
});
