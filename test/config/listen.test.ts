import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { listenAddressError, parseListenAddress, parseUpstreamAddress, upstreamAddressError } from "../../src/config/listen.ts";

describe("parseListenAddress", () => {
  it("parses host:port forms", () => {
    assert.deepEqual(parseListenAddress("127.0.0.1:3128"), { hostname: "127.0.0.1", port: 3128 });
    assert.deepEqual(parseListenAddress("0.0.0.0:0"), { hostname: "0.0.0.0", port: 0 });
    assert.deepEqual(parseListenAddress("LocalHost:65535"), { hostname: "localhost", port: 65535 });
    assert.deepEqual(parseListenAddress("[::1]:3128"), { hostname: "::1", port: 3128 });
    assert.deepEqual(parseListenAddress("[0:0:0:0:0:0:0:0]:80"), { hostname: "::", port: 80 });
  });

  it("rejects malformed addresses with a readable message", () => {
    const bad = (text: string) => `expected "host:port" (IPv6 as "[::1]:port"), got ${JSON.stringify(text)}`;
    for (const text of ["", "3128", "localhost", ":3128", "exa mple:80", "[::1]3128", "[::1", "[1.2.3.4]:80", "256.1.1.1:80", "1.2.3:80"]) {
      assert.equal(listenAddressError(text), bad(text), text);
    }
    assert.equal(listenAddressError("127.0.0.1:"), 'expected a port 0-65535 after the host, got "127.0.0.1:"');
    assert.equal(listenAddressError("127.0.0.1:99999"), 'expected a port 0-65535 after the host, got "127.0.0.1:99999"');
    assert.equal(listenAddressError("127.0.0.1:-1"), 'expected a port 0-65535 after the host, got "127.0.0.1:-1"');
    assert.equal(listenAddressError("::1:80"), 'expected an IPv6 address in brackets ("[::1]:port"), got "::1:80"');
    assert.throws(() => parseListenAddress("nope"), SyntaxError);
    assert.equal(listenAddressError("[::1]:1"), undefined);
  });
});

describe("parseUpstreamAddress", () => {
  it("parses host:port with a port 1-65535", () => {
    assert.deepEqual(parseUpstreamAddress("Origin.Example:443"), { hostname: "origin.example", port: 443 });
    assert.deepEqual(parseUpstreamAddress("[2001:db8::1]:8443"), { hostname: "2001:db8::1", port: 8443 });
    assert.deepEqual(parseUpstreamAddress("192.0.2.1:1"), { hostname: "192.0.2.1", port: 1 });
  });

  it("rejects port 0 and malformed addresses", () => {
    assert.equal(upstreamAddressError("origin.example:0"), 'expected a port 1-65535 after the host, got "origin.example:0"');
    assert.equal(upstreamAddressError("origin.example:65536"), 'expected a port 1-65535 after the host, got "origin.example:65536"');
    assert.equal(upstreamAddressError("origin.example"), 'expected "host:port" (IPv6 as "[::1]:port"), got "origin.example"');
    assert.throws(() => parseUpstreamAddress("x:0"), SyntaxError);
    assert.equal(upstreamAddressError("a.test:80"), undefined);
  });

  it("rejects a host no flow could be sent to (the transparent noSni upstream is dialled as a flow's host)", () => {
    for (const text of ["foo.123:443", "a.0x7f:443", "xn--a.example:443"]) {
      assert.match(upstreamAddressError(text) ?? "", /^expected "host:port" with a host the gateway can dial, got /, text);
    }
    assert.equal(upstreamAddressError("xn--bcher-kva.example:443"), undefined);
  });
});
