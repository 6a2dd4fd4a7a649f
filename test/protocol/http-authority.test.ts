import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseHostPort } from "../../src/protocol/http-authority.ts";

describe("parseHostPort", () => {
  it("parses names, IPv4 and bracketed IPv6", () => {
    assert.deepEqual(parseHostPort("Example.COM:8080"), { host: "Example.COM", port: 8080 });
    assert.deepEqual(parseHostPort("10.0.0.1:1"), { host: "10.0.0.1", port: 1 });
    assert.deepEqual(parseHostPort("[::1]:443"), { host: "::1", port: 443 });
    assert.deepEqual(parseHostPort("[2001:db8::1]:65535"), { host: "2001:db8::1", port: 65535 });
    assert.deepEqual(parseHostPort("under_score.example:80"), { host: "under_score.example", port: 80 });
  });
  it("uses the default port when given, requires a port otherwise", () => {
    assert.deepEqual(parseHostPort("example.com", 80), { host: "example.com", port: 80 });
    assert.deepEqual(parseHostPort("[::1]", 443), { host: "::1", port: 443 });
    assert.equal(parseHostPort("example.com"), undefined);
  });
  it("refuses anything else", () => {
    for (const bad of [
      "", ":443", "example.com:", "example.com:0", "example.com:65536", "example.com:+80", "example.com:8a",
      "example.com:123456", "user@example.com:443", "ex%41mple.com:443", "::1:443", "[::1]443", "[::1", "[zz::1]:443",
      "[::1%eth0]:443", "[1.2.3.4]:443", "exa mple.com:443", "example.com:443:1", "ex\u00e9mple.com:443", `${"a".repeat(256)}:443`,
    ]) {
      assert.equal(parseHostPort(bad), undefined, bad);
    }
  });
});
