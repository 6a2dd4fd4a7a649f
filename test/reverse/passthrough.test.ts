import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { PassthroughTable } from "../../src/reverse/passthrough.ts";

describe("PassthroughTable", () => {
  const table = new PassthroughTable([
    { id: "any", hosts: ["*"], pool: "p", listeners: ["edge"] },
    { id: "apps", hosts: ["*.apps.example.com"], pool: "p" },
    { id: "deep", hosts: ["*.eu.apps.example.com"], pool: "p" },
    { id: "git", hosts: ["git.example.com", "GIT2.example.com"], pool: "p" },
    { id: "git-again", hosts: ["git.example.com"], pool: "p" },
    { id: "internal", hosts: ["db.example.com"], pool: "p", listeners: ["internal"] },
  ]);
  const id = (sni: string | undefined, listener = "web") => table.match(sni, listener)?.id;

  it("exact names first, then the longest suffix, then \"*\"; ties go to the first route", () => {
    assert.equal(id("git.example.com"), "git");
    assert.equal(id("git2.example.com"), "git"); // patterns are normalised to lowercase
    assert.equal(id("x.apps.example.com"), "apps");
    assert.equal(id("x.eu.apps.example.com"), "deep");
    assert.equal(id("apps.example.com"), undefined); // "*.suffix" is strict subdomains
    assert.equal(id("www.example.com", "edge"), "any");
  });

  it("listeners limit where a route applies", () => {
    assert.equal(id("db.example.com"), undefined);
    assert.equal(id("db.example.com", "internal"), "internal");
    assert.equal(id("www.example.com"), undefined);
  });

  it("a ClientHello without SNI (or with a name that is no host) only meets \"*\"", () => {
    assert.equal(id(undefined), undefined);
    assert.equal(id(undefined, "edge"), "any");
    assert.equal(id("bad name!", "edge"), "any");
    assert.equal(id("bad name!"), undefined);
  });

  it("an empty table matches nothing", () => {
    assert.equal(new PassthroughTable([]).match("a.example", "web"), undefined);
  });
});
