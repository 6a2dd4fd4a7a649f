import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parentUrlError, parseParentUrl } from "../../src/parent/parent-url.ts";
import { basicAuthorization } from "../../src/parent/tunnel.ts";

describe("parent proxy URL", () => {
  it("takes http://host:port with a name, an IPv4 or an IPv6 address", () => {
    assert.deepEqual(parseParentUrl("http://Proxy.Example.:3128/"), { protocol: "http", host: { kind: "dns", name: "proxy.example" }, port: 3128, authority: "proxy.example:3128" });
    assert.deepEqual(parseParentUrl("HTTP://10.0.0.8:8080"), { protocol: "http", host: { kind: "ipv4", address: "10.0.0.8" }, port: 8080, authority: "10.0.0.8:8080" });
    assert.deepEqual(parseParentUrl("http://[::1]:1"), { protocol: "http", host: { kind: "ipv6", address: "::1" }, port: 1, authority: "[::1]:1" });
  });

  it("takes socks5://host:port, and socks5h:// as the same (names always go to the parent)", () => {
    assert.deepEqual(parseParentUrl("socks5://Edge.Example:1080"), { protocol: "socks5", host: { kind: "dns", name: "edge.example" }, port: 1080, authority: "edge.example:1080" });
    assert.deepEqual(parseParentUrl("SOCKS5H://[2001:db8::1]:1080"), { protocol: "socks5", host: { kind: "ipv6", address: "2001:db8::1" }, port: 1080, authority: "[2001:db8::1]:1080" });
  });

  it("refuses anything else, saying why", () => {
    for (
      const [text, why] of [
        ["10.0.0.8:3128", "not a URL"],
        ["socks4://10.0.0.8:1080", "SOCKS4 is not supported; use socks5"],
        ["https://10.0.0.8:3128", "TLS to the parent proxy is not supported; use http"],
        ["ftp://10.0.0.8:21", 'scheme "ftp" is not http or socks5'],
        ["socks5://u:p@10.0.0.8:1080", 'no credentials in the URL: use "username" and "passwordFile"'],
        ["http://:3128", "host:port with a port 1-65535 is required"],
        ["http://10.0.0.8:0", "host:port with a port 1-65535 is required"],
        ["http://10.0.0.8:65536", "host:port with a port 1-65535 is required"],
        ["http://", "no host"],
        ["http://10.0.0.8:3128?x", "no path, query or fragment"],
        ["http://bad_host!:3128", "host:port with a port 1-65535 is required"],
      ] as const
    ) {
      assert.equal(parentUrlError(text), `expected an "http://host:port" or "socks5://host:port" URL, got ${JSON.stringify(text)} (${why})`, text);
    }
    assert.equal(parentUrlError("http://a.example:3128"), undefined);
  });

  it("encodes Basic credentials as UTF-8 (RFC 7617), colons allowed in the password", () => {
    assert.equal(basicAuthorization("Aladdin", "open sesame"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    assert.equal(basicAuthorization("gw", "pä:ss"), `Basic ${Buffer.from("gw:pä:ss", "utf8").toString("base64")}`);
  });
});
