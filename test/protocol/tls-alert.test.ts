import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { TlsAlert, tlsAlertRecord } from "../../src/protocol/tls-alert.ts";

describe("tlsAlertRecord", () => {
  it("encodes a fatal alert record", () => {
    assert.deepEqual([...tlsAlertRecord(TlsAlert.accessDenied)], [21, 3, 3, 0, 2, 2, 49]);
    assert.deepEqual([...tlsAlertRecord(TlsAlert.unrecognizedName)], [21, 3, 3, 0, 2, 2, 112]);
  });
  it("rejects a description that is not a byte", () => {
    assert.throws(() => tlsAlertRecord(256), RangeError);
    assert.throws(() => tlsAlertRecord(-1), RangeError);
  });
});
