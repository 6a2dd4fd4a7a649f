import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseHostsFile } from "../../src/dns/hosts-file.ts";

describe("parseHostsFile", () => {
  it("reads address and names, comments, blank lines, tabs and CRLF", () => {
    const text = "# the machine\r\n127.0.0.1\tlocalhost\r\n\r\n::1 localhost ip6-localhost # loopback\n10.0.0.5   Build.LAN.  build\n";
    assert.deepEqual(parseHostsFile(text), {
      localhost: ["127.0.0.1", "::1"],
      "ip6-localhost": ["::1"],
      "build.lan": ["10.0.0.5"],
      build: ["10.0.0.5"],
    });
  });

  it("skips lines it cannot use instead of refusing the file (zone ids, bad names, no names)", () => {
    const text = "fe80::1%lo0 localhost\n10.0.0.1\nnot-an-ip name\n10.0.0.2 bad_name! good\n0:0:0:0:0:0:0:1 canonical\n";
    assert.deepEqual(parseHostsFile(text), { good: ["10.0.0.2"], canonical: ["::1"] });
  });

  it("a name on several lines has each address once, in file order", () => {
    assert.deepEqual(parseHostsFile("10.0.0.1 a\n10.0.0.2 a\n10.0.0.1 a\n"), { a: ["10.0.0.1", "10.0.0.2"] });
  });
});
