import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { dnWithin, parseDn } from "../../../src/auth/ldap/dn.ts";

describe("parseDn", () => {
  it("reads RDNs most specific first, types in lower case, values unescaped", () => {
    assert.deepEqual(parseDn("cn=Proxy Users,ou=groups,dc=corp"), [[{ type: "cn", value: "Proxy Users" }], [{ type: "ou", value: "groups" }], [{ type: "dc", value: "corp" }]]);
    assert.deepEqual(parseDn("CN=Smith\\, John , OU=x")[0], [{ type: "cn", value: "Smith, John" }], "escaped comma; spaces around separators (older servers)");
    assert.deepEqual(parseDn("cn=a+uid=b,dc=c")[0], [{ type: "cn", value: "a" }, { type: "uid", value: "b" }], "a multi-valued RDN");
    assert.deepEqual(parseDn("cn=caf\\C3\\A9,dc=x")[0], [{ type: "cn", value: "café" }], "hex pairs are UTF-8 bytes");
    assert.deepEqual(parseDn("cn=\\ lead\\ ,dc=x")[0], [{ type: "cn", value: " lead " }], "escaped spaces at the ends stay");
    assert.deepEqual(parseDn("cn=😀x,dc=y")[0], [{ type: "cn", value: "😀x" }]);
    assert.deepEqual(parseDn("2.5.4.3=x")[0], [{ type: "2.5.4.3", value: "x" }]);
    assert.deepEqual(parseDn(""), []);
  });

  it("throws on what is not a DN, and reads a long one in linear time", () => {
    for (const bad of ["cn", "=x", "cn=a\\q", "cn=\\ff", "cn=a,", "c n=x", "cn=a\\"]) assert.throws(() => parseDn(bad), /not a distinguished name/, bad);
    const long = Array.from({ length: 20_000 }, (_, i) => `ou=u${i}`).join(",");
    assert.equal(parseDn(long).length, 20_000);
  });
});

describe("dnWithin", () => {
  it("is strictly below the base, types and values compared without case", () => {
    const base = parseDn("OU=groups, DC=CORP");
    assert.equal(dnWithin(parseDn("cn=a,ou=Groups,dc=corp"), base), true);
    assert.equal(dnWithin(parseDn("cn=a,ou=sub,ou=groups,dc=corp"), base), true);
    assert.equal(dnWithin(parseDn("ou=groups,dc=corp"), base), false, "the base itself is not below it");
    assert.equal(dnWithin(parseDn("cn=a,ou=groups,dc=evil,dc=corp"), base), false);
    assert.equal(dnWithin(parseDn("cn=a,ou=groups\\,dc=corp,dc=x"), base), false, "an escaped comma is not a separator");
    assert.equal(dnWithin(parseDn("cn=a,ou=groups+cn=x,dc=corp"), base), false, "a multi-valued RDN is not the single one");
  });
});
