import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { bearerToken, isDirectHost, tokensEqual } from "../../src/admin/auth.ts";
import { HttpError, readJsonBody } from "../../src/admin/http.ts";

describe("tokensEqual", () => {
  it("is true only for the same text", async () => {
    assert.equal(await tokensEqual("abc", "abc"), true);
    for (const other of ["abd", "ab", "abcd", "", "ABC"]) assert.equal(await tokensEqual(other, "abc"), false, other);
  });
});

describe("bearerToken", () => {
  it("extracts the token of a Bearer header only", () => {
    assert.equal(bearerToken("Bearer abc"), "abc");
    assert.equal(bearerToken("bearer  abc "), "abc");
    assert.equal(bearerToken("Basic abc"), undefined);
    assert.equal(bearerToken("Bearer a b"), undefined);
    assert.equal(bearerToken("Bearer"), undefined);
    assert.equal(bearerToken(undefined), undefined);
  });
});

describe("isDirectHost", () => {
  const none = new Set<string>();
  it("accepts IP literals and localhost, with or without a port", () => {
    for (const h of ["127.0.0.1", "127.0.0.1:9090", "[::1]:9090", "[::1]", "localhost", "LocalHost:1", "10.0.0.5:80"]) assert.equal(isDirectHost(h, none), true, h);
  });
  it("refuses other names, empty and odd values", () => {
    for (const h of ["evil.example", "evil.example:9090", "localhost.evil.example", "", "[evil]", "127.0.0.1.nip.io"]) assert.equal(isDirectHost(h, none), false, h);
    assert.equal(isDirectHost(undefined, none), false);
    assert.equal(isDirectHost("gw.lan:9090", new Set(["gw.lan"])), true);
  });
});

describe("readJsonBody", () => {
  const req = (body: string, headers: Record<string, string> = {}) => new Request("http://x/", { method: "POST", body, headers });
  const status = async (p: Promise<unknown>) => {
    try {
      await p;
      return 0;
    } catch (e) {
      assert.ok(e instanceof HttpError);
      return e.status;
    }
  };
  it("parses JSON within the limit", async () => {
    assert.deepEqual(await readJsonBody(req('{"a": [1]}'), 100), { a: [1] });
  });
  it("refuses oversize (413), malformed, empty and non-UTF-8 bodies (400)", async () => {
    assert.equal(await status(readJsonBody(req("[" + "1,".repeat(100) + "1]"), 100)), 413);
    assert.equal(await status(readJsonBody(req("{}", { "content-length": "101" }), 100)), 413);
    assert.equal(await status(readJsonBody(req("{"), 100)), 400);
    assert.equal(await status(readJsonBody(req("  "), 100)), 400);
    assert.equal(await status(readJsonBody(new Request("http://x/", { method: "POST", body: new Uint8Array([0x22, 0xff, 0x22]) }), 100)), 400);
  });
});
