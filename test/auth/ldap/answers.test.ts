import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { LdapAnswers } from "../../../src/auth/ldap/answers.ts";
import { readTlv } from "../../../src/auth/ldap/ber.ts";

/** Reads whole TLVs, as the message readers do, giving their values as text. */
const tlvText = (bytes: Uint8Array) => {
  const t = readTlv(bytes, 1 << 20);
  return t === undefined ? "incomplete" as const : { size: t.size, text: new TextDecoder().decode(t.value) };
};

function answersOf(chunks: Uint8Array[]): LdapAnswers {
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      for (const chunk of chunks) c.enqueue(chunk);
      c.close();
    },
  });
  return new LdapAnswers(stream.getReader());
}

const message = (text: string) => {
  const body = new TextEncoder().encode(text);
  const len = body.length < 0x80 ? [body.length] : [0x82, body.length >> 8, body.length & 0xff];
  return Uint8Array.from([0x04, ...len, ...body]);
};

describe("LdapAnswers", () => {
  it("gives messages in order, split a byte at a time or several in one chunk, and says when the connection ends first", async () => {
    const big = "x".repeat(5000);
    const all = Uint8Array.from([...message("one"), ...message(big), ...message("three")]);
    const byteAtATime = answersOf([...all].map((b) => Uint8Array.of(b)));
    assert.equal(await byteAtATime.next(tlvText, (p) => p.text), "one");
    assert.equal(await byteAtATime.next(tlvText, (p) => p.text), big);
    assert.equal(await byteAtATime.next(tlvText, (p) => p.text), "three");
    await assert.rejects(byteAtATime.next(tlvText, (p) => p.text), /closed the connection without an answer/);
    const together = answersOf([all]);
    assert.deepEqual([await together.next(tlvText, (p) => p.text), (await together.next(tlvText, (p) => p.text)).length, await together.next(tlvText, (p) => p.text)], ["one", 5000, "three"]);
  });
});
