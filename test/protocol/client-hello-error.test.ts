import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ClientHelloError } from "../../src/protocol/client-hello-error.ts";

describe("ClientHelloError", () => {
  it("is a SyntaxError with a reason and an offset", () => {
    const e = new ClientHelloError("not-tls", 'First byte "0x47" is not a TLS handshake record', 0);
    assert.ok(e instanceof SyntaxError);
    assert.equal(e.name, "ClientHelloError");
    assert.equal(e.reason, "not-tls");
    assert.equal(e.offset, 0);
    assert.match(String(e), /^ClientHelloError: First byte/);
  });

  it("defaults the offset to -1 for errors raised outside the reader, and keeps a cause", () => {
    const cause = new Error("closed");
    const e = new ClientHelloError("truncated", "Connection closed before a complete ClientHello", undefined, { cause });
    assert.equal(e.offset, -1);
    assert.equal(e.cause, cause);
  });
});
