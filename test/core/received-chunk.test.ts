import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { markReceived, releaseWritten } from "../../src/core/received-chunk.ts";

describe("received chunks", () => {
  it("frees a marked chunk written whole: its buffer is detached", () => {
    const chunk = markReceived(new Uint8Array(4096).fill(7));
    const buffer = chunk.buffer;
    releaseWritten(chunk);
    assert.equal(buffer.byteLength, 0);
    assert.equal(chunk.byteLength, 0);
  });

  it("frees a marked view that starts at offset 0 of a larger buffer (a short read)", () => {
    const chunk = markReceived(new Uint8Array(65536).subarray(0, 100));
    releaseWritten(chunk);
    assert.equal(chunk.buffer.byteLength, 0);
  });

  it("leaves alone unmarked chunks, parts of a marked chunk, and views not at offset 0", () => {
    const plain = new Uint8Array([1, 2, 3]);
    releaseWritten(plain);
    assert.deepEqual([...plain], [1, 2, 3]);

    const marked = markReceived(new Uint8Array([1, 2, 3, 4]));
    releaseWritten(marked.subarray(0, 2)); // only a part was written: the rest may be pushed back
    releaseWritten(marked.subarray(2));
    assert.deepEqual([...marked], [1, 2, 3, 4]);

    const inner = new Uint8Array([9, 9, 9, 9]).subarray(1);
    markReceived(inner); // not from offset 0: may share its buffer, never marked
    releaseWritten(inner);
    assert.deepEqual([...inner], [9, 9, 9]);
  });

  it("releases once: a second release, or one of another view of the same length, is harmless", () => {
    const chunk = markReceived(new Uint8Array(8));
    const twin = new Uint8Array(chunk.buffer, 0, 8);
    releaseWritten(chunk);
    releaseWritten(chunk);
    releaseWritten(twin);
    assert.equal(twin.byteLength, 0);
  });
});
