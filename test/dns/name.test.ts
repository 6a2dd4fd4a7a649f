import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { hostNameError, normaliseName } from "../../src/dns/name.ts";

describe("normaliseName", () => {
  it("lowercases and drops one trailing dot", () => {
    assert.equal(normaliseName("Example.COM."), "example.com");
    assert.equal(normaliseName("a.test"), "a.test");
  });
});

describe("hostNameError", () => {
  it("accepts host names", () => {
    for (const name of ["localhost", "a.test", "_srv.example.com", "xn--bcher-kva.example", "a-b.c", `${"a".repeat(63)}.test`]) {
      assert.equal(hostNameError(name), undefined, name);
    }
  });

  it("rejects malformed names", () => {
    for (const name of ["", "exa mple.com", "a..b", ".a", "-a.test", "a-.test", `${"a".repeat(64)}.test`, "é.test", "a/b", `${"a.".repeat(127)}a`]) {
      assert.equal(hostNameError(name), `expected a host name, got ${JSON.stringify(name)}`, name);
    }
  });
});
