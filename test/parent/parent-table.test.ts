import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/parse.ts";
import { parentTable } from "../../src/parent/parent-table.ts";
import { basicAuthorization } from "../../src/parent/tunnel.ts";

const config = parseConfig({
  parents: {
    corp: { url: "http://proxy.corp.example:3128", username: "gw", passwordFile: "/secrets/corp" },
    open: { url: "http://10.0.0.9:8080" },
  },
});

describe("parentTable", () => {
  it("reads each password file, without its one trailing newline", () => {
    const read: string[] = [];
    const table = parentTable(config, (path) => {
      read.push(path);
      return "s3cret\n\n";
    });
    assert.deepEqual(read, ["/secrets/corp"]);
    assert.equal(table.get("corp")?.authorization, basicAuthorization("gw", "s3cret\n"));
    assert.deepEqual(table.get("open"), {
      name: "open",
      host: { kind: "ipv4", address: "10.0.0.9" },
      port: 8080,
      authority: "10.0.0.9:8080",
      ejectMs: 30_000,
      health: { downUntil: 0, lastError: null },
    });
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
