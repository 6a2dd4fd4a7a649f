import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { constructed, integer, tlv } from "../../../src/auth/ldap/ber.ts";
import { MAX_SEARCH_MESSAGE_BYTES, readSearchAnswer, searchRequest } from "../../../src/auth/ldap/search-message.ts";

const hex = (s: string) => Uint8Array.from(s.replace(/\s+/g, "").match(/../g)!.map((b) => parseInt(b, 16)));
const ascii = (s: string) => [...new TextEncoder().encode(s)].map((b) => b.toString(16).padStart(2, "0")).join("");
const enc = new TextEncoder();

describe("LDAP search messages", () => {
  it("encodes a base-object search of one entry, and a subtree search by equality, as RFC 4511 lays them out", () => {
    const base = searchRequest(2, { base: "dc=x", filter: "any", want: "memberOf", timeLimitSeconds: 5 });
    assert.deepEqual(base, hex(`3033 020102 632e 0404${ascii("dc=x")} 0a0100 0a0100 020102 020105 010100 870b${ascii("objectClass")} 300a 0408${ascii("memberOf")}`));
    const sub = searchRequest(2, { base: "dc=x", filter: { attribute: "uid", value: "a" }, want: "memberOf", timeLimitSeconds: 5 });
    assert.deepEqual(sub, hex(`3030 020102 632b 0404${ascii("dc=x")} 0a0102 0a0100 020102 020105 010100 a308 0403${ascii("uid")} 0401${ascii("a")} 300a 0408${ascii("memberOf")}`));
  });

  it("reads an entry, a reference and the done, fed a byte at a time", () => {
    const entry = constructed(0x30, [integer(2), constructed(0x64, [
      tlv(0x04, enc.encode("uid=a,dc=x")),
      constructed(0x30, [constructed(0x30, [tlv(0x04, enc.encode("memberOf")), constructed(0x31, [tlv(0x04, enc.encode("cn=g1,dc=x")), tlv(0x04, enc.encode("cn=g2,dc=x"))])])]),
    ])]);
    for (let i = 0; i < entry.length; i++) assert.equal(readSearchAnswer(entry.subarray(0, i)), "incomplete", `after ${i} bytes`);
    const got = readSearchAnswer(entry);
    assert.ok(got !== "incomplete" && got.answer.kind === "entry");
    assert.equal(got.answer.dn, "uid=a,dc=x");
    assert.deepEqual([...got.answer.attributes], [["memberof", ["cn=g1,dc=x", "cn=g2,dc=x"]]]);
    const ref = readSearchAnswer(constructed(0x30, [integer(2), constructed(0x73, [tlv(0x04, enc.encode("ldap://b/"))])]));
    assert.ok(ref !== "incomplete" && ref.answer.kind === "reference");
    const done = readSearchAnswer(hex(`300f 020102 650a 0a0120 0400 0403${ascii("nop")}`));
    assert.ok(done !== "incomplete");
    assert.deepEqual(done.answer, { kind: "done", messageId: 2, result: { resultCode: 32, diagnosticMessage: "nop" } });
  });

  it("gathers an attribute that comes several times (in any case) into one list, in order, even when a message is all repeats", () => {
    const attr = (type: string, ...values: string[]) => constructed(0x30, [tlv(0x04, enc.encode(type)), constructed(0x31, values.map((v) => tlv(0x04, enc.encode(v))))]);
    const entry = (attrs: Uint8Array[]) => constructed(0x30, [integer(2), constructed(0x64, [tlv(0x04, enc.encode("uid=a")), constructed(0x30, attrs)])]);
    const got = readSearchAnswer(entry([attr("memberOf", "g1"), attr("cn", "a"), attr("MEMBEROF", "g2", "g3"), attr("memberof")]));
    assert.ok(got !== "incomplete" && got.answer.kind === "entry");
    assert.deepEqual([...got.answer.attributes], [["memberof", ["g1", "g2", "g3"]], ["cn", ["a"]]]);
    // a hostile directory's 28,000 repeats in one message (read in time linear in them)
    const repeats = Array.from({ length: 28_000 }, () => attr("x", ""));
    const many = readSearchAnswer(entry(repeats));
    assert.ok(many !== "incomplete" && many.answer.kind === "entry");
    assert.equal(many.answer.attributes.get("x")?.length, 28_000);
  });

  it("throws on what is not a search answer, malformed entries, bytes that are not UTF-8, and messages past the limit", () => {
    assert.throws(() => readSearchAnswer(hex("300c 020102 6107 0a0100 0400 0400")), /expected a search answer, got tag 0x61/);
    assert.throws(() => readSearchAnswer(hex("3007 020102 6402 0400")), /without a name and attributes/);
    assert.throws(() => readSearchAnswer(hex("300d 020102 6408 0400 3004 3002 0400")), /malformed attribute/);
    assert.throws(() => readSearchAnswer(hex("3012 020102 640d 0400 3009 3007 0400 3103 010100")), /not an OCTET STRING/);
    assert.throws(() => readSearchAnswer(hex("3012 020102 640d 0401ff 3008 3006 0400 3102 0400")), /encoded|UTF-8|decode/i);
    assert.throws(() => readSearchAnswer(hex(`3083 ${(MAX_SEARCH_MESSAGE_BYTES + 1).toString(16).padStart(6, "0")}`)), /limit/);
    assert.throws(() => readSearchAnswer(hex(`3013 020100 780e 0a0134 0400 0407${ascii("restart")}`)), /closing the connection \(result 52: restart\)/);
  });
});
