import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { decodePem, encodePem, MAX_PEM_LENGTH } from "../../src/pki/pem.ts";

describe("encodePem", () => {
  it("wraps base64 at 64 characters and ends with a newline", () => {
    const der = Uint8Array.from({ length: 100 }, (_, i) => i);
    const pem = encodePem(der, "CERTIFICATE");
    const lines = pem.split("\n");
    assert.equal(lines[0], "-----BEGIN CERTIFICATE-----");
    assert.equal(lines[1]?.length, 64);
    assert.equal(lines.at(-2), "-----END CERTIFICATE-----");
    assert.ok(pem.endsWith("-----\n"));
    assert.equal(encodePem(Uint8Array.of(1, 2, 3), "X"), "-----BEGIN X-----\nAQID\n-----END X-----\n");
  });
});

describe("decodePem", () => {
  it("round-trips several blocks and ignores text around them", () => {
    const a = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff);
    const b = Uint8Array.of(9, 8, 7);
    const text = `subject=CN = x\n${encodePem(a, "CERTIFICATE")}junk\r\n${encodePem(b, "PRIVATE KEY").replaceAll("\n", "\r\n")}`;
    const blocks = decodePem(text);
    assert.equal(blocks.length, 2);
    assert.equal(blocks[0]?.label, "CERTIFICATE");
    assert.deepEqual(blocks[0]?.der, a);
    assert.equal(blocks[1]?.label, "PRIVATE KEY");
    assert.deepEqual(blocks[1]?.der, b);
    assert.deepEqual(decodePem("no pem here"), []);
  });

  it("rejects mismatched labels, bad base64 and oversized input", () => {
    assert.throws(() => decodePem("-----BEGIN A-----\nAQID\n-----END B-----\n"), SyntaxError);
    assert.throws(() => decodePem("-----BEGIN A-----\nAQI=D\n-----END A-----\n"), SyntaxError);
    assert.throws(() => decodePem("x".repeat(MAX_PEM_LENGTH + 1)), RangeError);
  });
});
