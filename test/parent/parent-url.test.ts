import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parentUrlError, parseParentUrl } from "../../src/parent/parent-url.ts";
import { basicAuthorization } from "../../src/parent/tunnel.ts";

describe("parent proxy URL", () => {
  it("takes http://host:port with a name, an IPv4 or an IPv6 address", () => {
    assert.deepEqual(parseParentUrl("http://Proxy.Example.:3128/"), { host: { kind: "dns", name: "proxy.example" }, port: 3128, authority: "proxy.example:3128" });
    assert.deepEqual(parseParentUrl("HTTP://10.0.0.8:8080"), { host: { kind: "ipv4", address: "10.0.0.8" }, port: 8080, authority: "10.0.0.8:8080" });
    assert.deepEqual(parseParentUrl("http://[::1]:1"), { host: { kind: "ipv6", address: "::1" }, port: 1, authority: "[::1]:1" });
  });

  it("refuses anything else, saying why", () => {
    for (
      const [text, why] of [
        ["10.0.0.8:3128", "not a URL"],
        ["socks5://10.0.0.8:1080", 'scheme "socks5" is not http'],
        ["http://:3128", "host:port with a port 1-65535 is required"],
        ["http://10.0.0.8:0", "host:port with a port 1-65535 is required"],
        ["http://10.0.0.8:65536", "host:port with a port 1-65535 is required"],
        ["http://", "no host"],
        ["http://10.0.0.8:3128?x", "no path, query or fragment"],
        ["http://bad_host!:3128", "host:port with a port 1-65535 is required"],
      ] as const
    ) {
      assert.equal(parentUrlError(text), `expected an "http://host:port" URL, got ${JSON.stringify(text)} (${why})`, text);
    }
    assert.equal(parentUrlError("http://a.example:3128"), undefined);
  });

  it("encodes Basic credentials as UTF-8 (RFC 7617), colons allowed in the password", () => {
    assert.equal(basicAuthorization("Aladdin", "open sesame"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    assert.equal(basicAuthorization("gw", "pä:ss"), `Basic ${Buffer.from("gw:pä:ss", "utf8").toString("base64")}`);
  });
});
