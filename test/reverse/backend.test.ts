import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { backendUrlError, parseBackendUrl } from "../../src/reverse/backend.ts";

describe("reverse backend URLs", () => {
  it("parses scheme, host and port, with the scheme's default port", () => {
    const b = parseBackendUrl("HTTPS://App.Internal:8443/");
    assert.equal(b.scheme, "https");
    assert.deepEqual(b.host, { kind: "dns", name: "app.internal" });
    assert.equal(b.port, 8443);
    assert.equal(b.authority, "app.internal:8443");
    assert.equal(parseBackendUrl("http://10.0.0.1").port, 80);
    assert.equal(parseBackendUrl("http://10.0.0.1").authority, "10.0.0.1");
    assert.equal(parseBackendUrl("https://[::1]:9443").authority, "[::1]:9443");
    assert.deepEqual(parseBackendUrl("https://[::1]").host, { kind: "ipv6", address: "::1" });
  });

  it("refuses anything but a bare http(s) origin", () => {
    for (const bad of ["ftp://a", "a:80", "http://", "http://a/path", "http://a?x=1", "http://u@a", "http://a:0", "http://a:65536", "http://a b"]) {
      assert.match(backendUrlError(bad) ?? "", /expected an "http:\/\/host:port"/, bad);
    }
    assert.match(backendUrlError("http://a/path") ?? "", /no path/);
  });
});
