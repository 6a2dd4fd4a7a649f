import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ecdsaSignatureToDer,
  oid,
  readChildren,
  readTlv,
  sequence,
  TAG,
  time,
  tlv,
  unsignedInteger,
} from "../../src/pki/_der.ts";

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const bytes = (h: string): Uint8Array<ArrayBuffer> => Uint8Array.from(h.match(/../g) ?? [], (x) => parseInt(x, 16));

describe("DER writer", () => {
  it("encodes short and long lengths", () => {
    assert.equal(hex(tlv(0x04, new Uint8Array(3))), "0403000000");
    assert.equal(hex(tlv(0x04, new Uint8Array(127)).subarray(0, 2)), "047f");
    assert.equal(hex(tlv(0x04, new Uint8Array(200)).subarray(0, 3)), "0481c8");
    assert.equal(hex(tlv(0x04, new Uint8Array(300)).subarray(0, 4)), "0482012c");
    assert.equal(tlv(0x04, new Uint8Array(70000)).length, 70000 + 5);
  });

  it("encodes OIDs", () => {
    assert.equal(hex(oid("2.5.29.17")), "0603551d11");
    assert.equal(hex(oid("1.2.840.10045.4.3.2")), "06082a8648ce3d040302");
    assert.equal(hex(oid("1.2.840.113549.1.1.11")), "06092a864886f70d01010b");
    assert.throws(() => oid("1.x"), SyntaxError);
    assert.throws(() => oid("3.1"), SyntaxError);
  });

  it("encodes positive integers minimally", () => {
    assert.equal(hex(unsignedInteger(bytes("00007f"))), "02017f");
    assert.equal(hex(unsignedInteger(bytes("80"))), "02020080");
    assert.equal(hex(unsignedInteger(bytes("000080"))), "02020080");
    assert.equal(hex(unsignedInteger(bytes("0000"))), "020100");
    assert.equal(hex(unsignedInteger(new Uint8Array(0))), "020100");
  });

  it("uses UTCTime before 2050 and GeneralizedTime from 2050, dropping milliseconds", () => {
    const utc = time(new Date(Date.UTC(2049, 11, 31, 23, 59, 59, 999)));
    assert.equal(utc[0], TAG.utcTime);
    assert.equal(new TextDecoder().decode(utc.subarray(2)), "491231235959Z");
    const gen = time(new Date(Date.UTC(2050, 0, 2, 3, 4, 5)));
    assert.equal(gen[0], TAG.generalizedTime);
    assert.equal(new TextDecoder().decode(gen.subarray(2)), "20500102030405Z");
    assert.equal(new TextDecoder().decode(time(new Date(Date.UTC(1999, 0, 1))).subarray(2)), "990101000000Z");
  });

  it("converts P1363 ECDSA signatures to DER with sign padding", () => {
    const raw = new Uint8Array(64);
    raw[0] = 0x80; // r has its high bit set: needs a 0x00 pad
    raw[32] = 0x00;
    raw[33] = 0x01; // s has leading zeros: stripped
    const der = ecdsaSignatureToDer(raw);
    const top = readTlv(der, 0);
    const [r, s] = readChildren(der, top);
    assert.ok(r !== undefined && s !== undefined);
    assert.equal(r.end - r.valueStart, 33);
    assert.equal(der[r.valueStart], 0);
    assert.equal(s.end - s.valueStart, 31);
    assert.throws(() => ecdsaSignatureToDer(new Uint8Array(63)), SyntaxError);
  });
});

describe("DER reader", () => {
  it("walks nested TLVs", () => {
    const der = sequence(tlv(0x02, Uint8Array.of(5)), sequence(tlv(0x04, new Uint8Array(200))));
    const top = readTlv(der, 0);
    assert.equal(top.end, der.length);
    const kids = readChildren(der, top);
    assert.deepEqual(kids.map((k) => k.tag), [0x02, 0x30]);
    assert.equal(readChildren(der, kids[1]!)[0]!.end - readChildren(der, kids[1]!)[0]!.valueStart, 200);
  });

  it("throws SyntaxError on truncated input", () => {
    assert.throws(() => readTlv(Uint8Array.of(0x30), 0), SyntaxError);
    assert.throws(() => readTlv(Uint8Array.of(0x30, 0x05, 0x00), 0), SyntaxError);
    assert.throws(() => readTlv(Uint8Array.of(0x30, 0x82, 0x01), 0), SyntaxError);
    assert.throws(() => readTlv(Uint8Array.of(0x30, 0x80), 0), SyntaxError);
    assert.throws(() => readTlv(Uint8Array.of(0x1f, 0x01, 0x00), 0), SyntaxError);
  });
});
