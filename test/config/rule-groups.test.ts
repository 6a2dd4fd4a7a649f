import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/parse.ts";
import { configProblems as problems } from "../helpers/config-problems.ts";

// a syntactically valid hash (`tollgate auth hash` output shape); never checked against a password here
const HASH = `pbkdf2-sha256$100000$${btoa("0123456789abcdef")}$${btoa("0123456789abcdef0123456789abcdef")}`;
const users = [{ name: "alice", passwordHash: HASH, groups: ["Engineers", "vpn users"] }, { name: "bob", passwordHash: HASH }];
const ldap = { url: "ldaps://dc1.corp.example", bindName: "uid={user},ou=people,dc=corp,dc=example" };

describe("config: groups", () => {
  it("local users may have groups; rules and url rules may name them, in any case", () => {
    const c = parseConfig({
      proxyAuth: { users },
      policy: { rules: [{ hosts: ["x.example"], groups: ["engineers"], action: "allow" }], urlRules: [{ id: "u", groups: ["VPN Users"], action: "deny" }] },
    });
    assert.deepEqual(c.proxyAuth?.users.map((u) => u.groups), [["Engineers", "vpn users"], []]);
    assert.deepEqual(c.policy.rules[0]?.groups, ["engineers"]);
    assert.deepEqual(c.policy.urlRules[0]?.groups, ["VPN Users"]);
  });

  it("reports a group no user can be in, at the item (a typo would never match)", () => {
    assert.deepEqual(problems({ proxyAuth: { users }, policy: { rules: [{ groups: ["engineers", "enginers"], action: "allow" }] } }), [
      'policy.rules[0].groups[1]: no proxyAuth user is in group "enginers" (local users\' groups: "engineers", "vpn users")',
    ]);
    assert.deepEqual(problems({ proxyAuth: { users: [users[1]], ldap }, policy: { urlRules: [{ id: "u", groups: ["staff"], action: "deny" }] } }), [
      'policy.urlRules[0].groups[0]: no proxyAuth user is in group "staff" (no local user has groups; the directory\'s groups are read only with proxyAuth.ldap.groups)',
    ]);
    assert.deepEqual(problems({ policy: { rules: [{ groups: ["staff"], action: "allow" }] } }), [
      'policy.rules[0].groups[0]: names group "staff", but there is no proxyAuth: no flow has a user',
    ]);
  });

  it("with the directory's groups read, rules may name any group", () => {
    const c = parseConfig({ proxyAuth: { ldap: { ...ldap, groups: {} } }, policy: { rules: [{ groups: ["Domain Admins"], action: "deny" }] } });
    assert.deepEqual(c.proxyAuth?.ldap?.groups, { userAttribute: "sAMAccountName", memberAttribute: "memberOf", required: false, nested: false });
    assert.deepEqual(c.policy.rules[0]?.groups, ["Domain Admins"]);
  });

  it("proxyAuth.ldap.groups: searchBase, userAttribute, memberAttribute, within, required and nested; bad values named", () => {
    const ad = { url: "ldaps://dc1.corp.example", bindName: "{user}@corp.example", groups: { searchBase: "dc=corp,dc=example", domain: "CORP", within: "OU=Proxy Groups,DC=corp,DC=example" } };
    assert.deepEqual(parseConfig({ proxyAuth: { ldap: ad } }).proxyAuth?.ldap?.groups, { ...ad.groups, userAttribute: "sAMAccountName", memberAttribute: "memberOf", required: false, nested: false });
    assert.equal(parseConfig({ proxyAuth: { ldap: { ...ad, groups: { ...ad.groups, required: true } } } }).proxyAuth?.ldap?.groups?.required, true);
    assert.equal(parseConfig({ proxyAuth: { ldap: { ...ad, groups: { ...ad.groups, nested: true } } } }).proxyAuth?.ldap?.groups?.nested, true);
    assert.deepEqual(problems({ proxyAuth: { ldap: { ...ad, groups: { userAttribute: "sAMAccountName" } } } }), [
      'proxyAuth.ldap.groups: with a bind name that is not a DN (like "{user}@corp.example", Active Directory), groups needs "searchBase" (the domain\'s DN, like "dc=corp,dc=example"), where the account is found by "userAttribute" (default "sAMAccountName"), and "domain" (its NetBIOS name, like "CORP")',
    ]);
    const p = problems({ proxyAuth: { ldap: { ...ldap, groups: { searchBase: "", within: "groups", memberAttribute: "member of", required: "yes", nested: 1, extra: 1 } } } });
    assert.deepEqual(p.sort(), [
      'proxyAuth.ldap.groups.extra: unknown key (expected one of "searchBase", "userAttribute", "domain", "memberAttribute", "within", "required", "nested")',
      'proxyAuth.ldap.groups.memberAttribute: expected an attribute name like "memberOf"',
      'proxyAuth.ldap.groups.nested: expected true or false, got 1',
      'proxyAuth.ldap.groups.required: expected true or false, got "yes"',
      'proxyAuth.ldap.groups.searchBase: expected a DN like "ou=groups,dc=example,dc=org", got an empty string',
      'proxyAuth.ldap.groups.within: not a distinguished name (an attribute without "="): "groups"',
    ]);
  });

  it("proxyAuth.ldap.certificateUsers: the gateway's own account reads certificate users' groups; it needs groups; bad values named", () => {
    const certificateUsers = { bindName: "cn=tollgate,ou=services,dc=corp,dc=example", passwordFile: "/etc/tollgate/ldap-reader", searchBase: "dc=corp,dc=example", userAttribute: "userPrincipalName" };
    assert.deepEqual(parseConfig({ proxyAuth: { ldap: { ...ldap, groups: {}, certificateUsers } } }).proxyAuth?.ldap?.certificateUsers, certificateUsers);
    assert.deepEqual(problems({ proxyAuth: { ldap: { ...ldap, certificateUsers } } }), [
      'proxyAuth.ldap.certificateUsers: certificateUsers reads groups as "groups" says (memberAttribute, within, nested, required): set "groups" too',
    ]);
    const p = problems({ proxyAuth: { ldap: { ...ldap, groups: {}, certificateUsers: { bindName: "uid={user},dc=x", searchBase: "", userAttribute: "user principal" } } } });
    assert.deepEqual(p.sort(), [
      'proxyAuth.ldap.certificateUsers.bindName: this is the gateway\'s own account: no "{user}" in it',
      'proxyAuth.ldap.certificateUsers.passwordFile: required key is missing',
      'proxyAuth.ldap.certificateUsers.searchBase: expected a DN like "ou=groups,dc=example,dc=org", got an empty string',
      'proxyAuth.ldap.certificateUsers.userAttribute: expected an attribute name like "memberOf"',
    ]);
  });

  it("reports group names no sign-in could carry: empty, control characters, spaces at an end, a DN; and an empty list in a rule", () => {
    assert.deepEqual(problems({ proxyAuth: { users: [{ name: "a", passwordHash: HASH, groups: ["ok", "", "x\ny"] }] } }), [
      'proxyAuth.users[0].groups[1]: expected a group name (1-256 characters, no control characters), got ""',
      'proxyAuth.users[0].groups[2]: expected a group name (1-256 characters, no control characters), got "x\\ny"',
    ]);
    const directory = { ldap: { ...ldap, groups: {} } };
    assert.deepEqual(problems({ proxyAuth: directory, policy: { rules: [{ groups: [" staff", "CN=Contractors,OU=Groups,DC=corp", "cn = Smith\\, J ,ou=x", "cn=admins", "2.5.4.3=x;dc=y"], action: "deny" }] } }), [
      'policy.rules[0].groups[0]: group name " staff" has spaces at an end: write "staff"',
      'policy.rules[0].groups[1]: "CN=Contractors,OU=Groups,DC=corp" is a DN; a group is named by its DN\'s first value: write "Contractors"',
      'policy.rules[0].groups[2]: "cn = Smith\\\\, J ,ou=x" is a DN; a group is named by its DN\'s first value: write "Smith, J"',
      'policy.rules[0].groups[3]: "cn=admins" is a DN; a group is named by its DN\'s first value: write "admins"',
      'policy.rules[0].groups[4]: "2.5.4.3=x;dc=y" is a DN; a group is named by its DN\'s first value: write "x"',
    ]);
    assert.deepEqual(problems({ proxyAuth: directory, policy: { urlRules: [{ id: "u", groups: [], action: "allow" }] } }), [
      'policy.urlRules[0].groups: expected at least one group name (an empty list would match anyone: leave "groups" out)',
    ]);
    assert.deepEqual(parseConfig({ proxyAuth: directory, policy: { rules: [{ groups: ["R&D = research", "a, b", "x=1+1", "team=sales,emea", "level=3"], action: "allow" }] } }).policy.rules[0]?.groups, ["R&D = research", "a, b", "x=1+1", "team=sales,emea", "level=3"], "= or , alone do not make a DN");
    assert.deepEqual(problems({ proxyAuth: { users }, policy: { rules: [{ groups: "engineers", action: "allow" }] } }), [
      'policy.rules[0].groups: expected an array of group names, got "engineers"',
    ]);
  });
});
