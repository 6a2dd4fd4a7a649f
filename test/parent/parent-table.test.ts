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
    assert.deepEqual(table.get("open"), { name: "open", host: { kind: "ipv4", address: "10.0.0.9" }, port: 8080, authority: "10.0.0.9:8080" });
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
