import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { concatBytes, decodeLatin1, encodeLatin1, equalBytes, indexOfBytes } from "../../src/core/bytes.ts";

describe("concatBytes", () => {
  it("joins in order", () => {
    assert.deepEqual(concatBytes([new Uint8Array([1]), new Uint8Array([]), new Uint8Array([2, 3])]), new Uint8Array([1, 2, 3]));
  });
  it("returns an empty array for no chunks", () => {
    assert.equal(concatBytes([]).length, 0);
  });
});

describe("indexOfBytes", () => {
  const hay = encodeLatin1("ab\r\n\r\ncd\r\n\r\n");
  const crlf2 = encodeLatin1("\r\n\r\n");
  it("finds the first occurrence", () => {
    assert.equal(indexOfBytes(hay, crlf2), 2);
  });
  it("honours fromIndex", () => {
    assert.equal(indexOfBytes(hay, crlf2, 3), 8);
    assert.equal(indexOfBytes(hay, crlf2, 9), -1);
  });
  it("handles partial matches and needle longer than haystack", () => {
    assert.equal(indexOfBytes(encodeLatin1("\r\n\r\r\n\r\n"), crlf2), 3);
    assert.equal(indexOfBytes(encodeLatin1("\r\n"), crlf2), -1);
  });
  it("empty needle matches at fromIndex", () => {
    assert.equal(indexOfBytes(hay, new Uint8Array(0), 4), 4);
  });
  it("agrees with string indexOf", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("a", "b", "\r", "\n") }), fc.string({ unit: fc.constantFrom("a", "\r", "\n"), minLength: 1, maxLength: 4 }), (h, n) => {
        assert.equal(indexOfBytes(encodeLatin1(h), encodeLatin1(n)), h.indexOf(n));
      }),
      { numRuns: 200 },
    );
  });
});

describe("latin1", () => {
  it("round-trips every byte value", () => {
    const all = new Uint8Array(256).map((_, i) => i);
    const text = decodeLatin1(all);
    assert.equal(text.length, 256);
    assert.equal(text.charCodeAt(0xe9), 0xe9);
    assert.deepEqual(encodeLatin1(text), all);
  });
  it("decodes large inputs", () => {
    const big = new Uint8Array(100_000).fill(0x41);
    assert.equal(decodeLatin1(big), "A".repeat(100_000));
  });
  it("decodes a view from its own offset, across decoding steps", () => {
    const all = Uint8Array.from({ length: 20_003 }, (_, i) => (i * 7) & 0xff);
    const view = all.subarray(3);
    let expected = "";
    for (const b of view) expected += String.fromCharCode(b);
    assert.equal(decodeLatin1(view), expected);
  });
  it("decodes ASCII and a single high byte alike at every length and position", () => {
    const base = Uint8Array.from({ length: 70 }, (_, i) => 0x20 + ((i * 11) % 0x5f));
    for (let n = 0; n <= 64; n++) {
      const view = base.subarray(3, 3 + n);
      assert.equal(decodeLatin1(view), String.fromCharCode(...view));
      for (const at of n === 0 ? [] : [0, n >> 1, n - 1]) {
        for (const high of [0x80, 0x9f, 0xc3, 0xef, 0xff]) {
          const bytes = view.slice();
          bytes[at] = high;
          assert.equal(decodeLatin1(bytes), String.fromCharCode(...bytes), `${n} ${at} ${high}`);
        }
      }
    }
    const bom = new Uint8Array([0xef, 0xbb, 0xbf, ...new Uint8Array(20).fill(0x41)]);
    assert.equal(decodeLatin1(bom), `\u00ef\u00bb\u00bf${"A".repeat(20)}`);
    // valid UTF-8 (é, U+FFFD itself, an astral character) still decodes byte by byte
    for (const seq of [[0xc3, 0xa9], [0xef, 0xbf, 0xbd], [0xf0, 0x9f, 0x98, 0x80], [0xc3, 0xa9, 0x80]]) {
      const bytes = new Uint8Array([...new Uint8Array(20).fill(0x42), ...seq, 0x43]);
      assert.equal(decodeLatin1(bytes), String.fromCharCode(...bytes), seq.join(" "));
    }
  });
  it("refuses characters above 0xFF", () => {
    assert.throws(() => encodeLatin1("caf\u00e9 \u20ac"), RangeError);
  });
  it("equalBytes compares contents", () => {
    assert.ok(equalBytes(encodeLatin1("ab"), new Uint8Array([0x61, 0x62])));
    assert.ok(!equalBytes(encodeLatin1("ab"), encodeLatin1("ac")));
    assert.ok(!equalBytes(encodeLatin1("ab"), encodeLatin1("abc")));
  });
});
