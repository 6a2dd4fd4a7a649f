import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomSerial, randomSerialHex, SERIAL_BYTES } from "../../src/pki/serial.ts";

describe("randomSerial", () => {
  it("returns 16 random bytes with the first bit cleared", () => {
    const seen = new Set<string>();
    let highBitsOfSecondByte = 0;
    for (let i = 0; i < 500; i++) {
      const s = randomSerial();
      assert.equal(s.length, SERIAL_BYTES);
      assert.ok((s[0] ?? 0) < 0x80);
      highBitsOfSecondByte |= s[1] ?? 0;
      seen.add(Array.from(s).join(","));
    }
    assert.equal(seen.size, 500);
    assert.equal(highBitsOfSecondByte, 0xff, "other bits are random");
  });

  it("formats hex without leading zero bytes", () => {
    for (let i = 0; i < 500; i++) {
      const hex = randomSerialHex();
      assert.match(hex, /^[0-9a-f]+$/);
      assert.ok(hex.length % 2 === 0 && hex.length <= 32);
      assert.ok(!hex.startsWith("00"));
      assert.ok(parseInt(hex.slice(0, 2), 16) < 0x80 || hex.length < 32);
    }
  });
});
