import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { HttpParseError } from "../../src/protocol/http-errors.ts";

describe("HttpParseError", () => {
  it("carries a status and message", () => {
    const e = new HttpParseError(431, "Request head exceeds 65536 bytes");
    assert.ok(e instanceof Error);
    assert.equal(e.name, "HttpParseError");
    assert.equal(e.status, 431);
    assert.equal(e.message, "Request head exceeds 65536 bytes");
  });
  it("keeps a cause", () => {
    const cause = new TypeError("x");
    assert.equal(new HttpParseError(400, "Bad", { cause }).cause, cause);
  });
});
