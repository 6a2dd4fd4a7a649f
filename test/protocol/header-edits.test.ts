import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { HeaderList } from "../../src/protocol/http-headers.ts";
import { applyHeaderEdits, editableHeaderError, headerValueError, isNoop, NO_EDITS } from "../../src/protocol/header-edits.ts";

describe("reverse header edits", () => {
  it("removes, then sets (replacing every line), then adds", () => {
    const h = new HeaderList([["X-Debug", "1"], ["Cache-Control", "a"], ["cache-control", "b"], ["X-Keep", "k"]]);
    const out = applyHeaderEdits(h, { remove: ["x-debug"], set: [["Cache-Control", "no-store"]], add: [["X-Keep", "k2"], ["X-New", "n"]] });
    assert.deepEqual(out.entries.map(([n, v]) => `${n}: ${v}`), ["Cache-Control: no-store", "X-Keep: k", "X-Keep: k2", "X-New: n"]);
    assert.equal(isNoop(NO_EDITS), true);
  });

  it("refuses framing, connection and Host fields, and values with line breaks", () => {
    for (const name of ["Content-Length", "transfer-encoding", "Host", "Connection", "Upgrade", "TE"]) assert.match(editableHeaderError(name) ?? "", /cannot be edited/, name);
    assert.match(editableHeaderError("bad name") ?? "", /HTTP token/);
    assert.equal(editableHeaderError("X-Frame-Options"), undefined);
    assert.match(headerValueError("a\r\nInjected: 1") ?? "", /no line breaks/);
    assert.match(headerValueError(" padded") ?? "", /visible ASCII/);
    assert.equal(headerValueError("max-age=63072000; includeSubDomains"), undefined);
    assert.equal(headerValueError(""), undefined);
  });
});
