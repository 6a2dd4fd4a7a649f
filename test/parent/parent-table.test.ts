import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/parse.ts";
import { parentTable } from "../../src/parent/parent-table.ts";
import { basicAuthorization } from "../../src/parent/tunnel.ts";

const config = parseConfig({
  parents: {
    corp: { url: "http://proxy.corp.example:3128", username: "gw", passwordFile: "/secrets/corp" },
    open: { url: "http://10.0.0.9:8080" },
    edge: { url: "socks5://edge.example:1080", username: "gw", passwordFile: "/secrets/edge" },
  },
});

describe("parentTable", () => {
  it("reads each password file, without its one trailing newline", () => {
    const read: string[] = [];
    const table = parentTable(config, (path) => {
      read.push(path);
      return "s3cret\n\n";
    });
    assert.deepEqual(read, ["/secrets/corp", "/secrets/edge"]);
    assert.equal(table.get("corp")?.authorization, basicAuthorization("gw", "s3cret\n"));
    assert.equal(table.get("corp")?.credentials, undefined);
    assert.deepEqual(table.get("open"), {
      name: "open",
      host: { kind: "ipv4", address: "10.0.0.9" },
      port: 8080,
      authority: "10.0.0.9:8080",
      protocol: "http",
      ejectMs: 30_000,
      health: { downUntil: 0, lastError: null },
    });
  });

  it("gives a SOCKS5 parent its credentials as such (RFC 1929), and refuses a password over 255 bytes", () => {
    const table = parentTable(config, () => "pä ss\n");
    assert.equal(table.get("edge")?.protocol, "socks5");
    assert.deepEqual(table.get("edge")?.credentials, { username: "gw", password: "pä ss" });
    assert.equal(table.get("edge")?.authorization, undefined);
    assert.throws(() => parentTable(config, (path) => (path === "/secrets/edge" ? "x".repeat(256) : "pw")), {
      message: 'parents.edge.passwordFile "/secrets/edge": a SOCKS5 password is at most 255 bytes',
    });
  });

  it("a reload that changes nothing of a parent gives the same object; a new password, address or setting a new one", () => {
    const first = parentTable(config, () => "pw");
    const same = parentTable(config, () => "pw", first);
    for (const name of ["corp", "open", "edge"]) assert.equal(same.get(name), first.get(name), name);
    const rotated = parentTable(config, () => "new", first);
    assert.notEqual(rotated.get("corp"), first.get("corp"));
    assert.equal(rotated.get("open"), first.get("open"), "a parent without a password file is untouched");
    const slower = parseConfig({ parents: { open: { url: "http://10.0.0.9:8080", ejectMs: 5000 } } });
    assert.notEqual(parentTable(slower, () => "pw", first).get("open"), first.get("open"));
  });

  it("keeps a parent's health over a reload while its address stays", () => {
    const first = parentTable(config, () => "pw");
    first.get("corp")!.health.downUntil = 123;
    first.get("open")!.health.downUntil = 456;
    const moved = parseConfig({ parents: { corp: { url: "http://proxy.corp.example:3128", username: "gw", passwordFile: "/secrets/corp" }, open: { url: "http://10.0.0.10:8080" } } });
    const next = parentTable(moved, () => "pw", first);
    assert.equal(next.get("corp")!.health, first.get("corp")!.health);
    assert.equal(next.get("open")!.health.downUntil, 0, "a parent at another address starts afresh");
  });

  it("fails naming the parent and the file when a password cannot be read", () => {
    assert.throws(
      () => parentTable(config, () => {
        throw Object.assign(new Error("no such file"), { code: "ENOENT" });
      }),
      /^Error: cannot read parents\.corp\.passwordFile "\/secrets\/corp": ENOENT$/,
    );
  });
});
