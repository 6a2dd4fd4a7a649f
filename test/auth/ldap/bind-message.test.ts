import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { bindRequest, escapeDnValue, MAX_LDAP_MESSAGE_BYTES, readBindResult, unbindRequest } from "../../../src/auth/ldap/bind-message.ts";

const hex = (s: string) => Uint8Array.from(s.replace(/\s+/g, "").match(/../g)!.map((b) => parseInt(b, 16)));
const ascii = (s: string) => [...new TextEncoder().encode(s)].map((b) => b.toString(16).padStart(2, "0")).join("");

describe("LDAP simple bind messages", () => {
  it("encodes a BindRequest as RFC 4511 lays it out", () => {
    // SEQUENCE { 1, [APPLICATION 0] { 3, "cn=admin", [0] "pw" } }
    assert.deepEqual(bindRequest(1, "cn=admin", "pw"), hex(`3016 020101 6011 020103 0408${ascii("cn=admin")} 8002${ascii("pw")}`));
    assert.deepEqual(unbindRequest(2), hex("3005 020102 4200"));
  });

  it("uses long-form lengths past 127 bytes", () => {
    const long = "x".repeat(300);
    const msg = bindRequest(200, `uid=${long}`, "p");
    assert.deepEqual([...msg.subarray(0, 4)], [0x30, 0x82, (msg.length - 4) >> 8, (msg.length - 4) & 0xff]);
    assert.deepEqual([...msg.subarray(4, 8)], [0x02, 0x02, 0x00, 0xc8], "200 needs a leading zero byte");
  });

  it("reads a BindResponse fed a byte at a time", () => {
    const success = hex("300c 020101 6107 0a0100 0400 0400");
    for (let i = 0; i < success.length; i++) assert.equal(readBindResult(success.subarray(0, i)), "incomplete", `after ${i} bytes`);
    const got = readBindResult(success);
    assert.notEqual(got, "incomplete");
    if (got === "incomplete") return;
    assert.deepEqual(got.result, { messageId: 1, resultCode: 0, diagnosticMessage: "" });
    assert.equal(got.size, success.length);
    const invalid = readBindResult(hex(`301c 020101 6117 0a0131 0400 0410${ascii("80090308: bad pw")}`));
    assert.notEqual(invalid, "incomplete");
    if (invalid !== "incomplete") assert.deepEqual(invalid.result, { messageId: 1, resultCode: 49, diagnosticMessage: "80090308: bad pw" });
  });

  it("throws on what is not a bind answer, or not BER LDAP allows", () => {
    assert.throws(() => readBindResult(hex("3080 020101")), /indefinite length/);
    assert.throws(() => readBindResult(hex("3085 0000000001")), /5-byte length/);
    assert.throws(() => readBindResult(hex(`3083 ${(MAX_LDAP_MESSAGE_BYTES + 1).toString(16).padStart(6, "0")}`)), /limit/);
    assert.throws(() => readBindResult(hex("0401 00")), /expected a message/);
    assert.throws(() => readBindResult(hex("3007 020101 6402 0400")), /expected a BindResponse, got tag 0x64/);
    assert.throws(() => readBindResult(hex(`3013 020100 780e 0a0134 0400 0407${ascii("restart")}`)), /closing the connection \(result 52: restart\)/);
    assert.throws(() => readBindResult(hex("3008 020101 6103 0a0100")), /without a result code and message/);
    assert.throws(() => readBindResult(hex("3008 020101 6103 0a0500")), /a 7-byte element \(limit 3\)/);
  });

  it("escapes user names for a DN (RFC 4514)", () => {
    assert.equal(escapeDnValue("alice"), "alice");
    assert.equal(escapeDnValue("a,ou=admins"), "a\\,ou\\=admins");
    assert.equal(escapeDnValue('x+y"<>;\\'), 'x\\+y\\"\\<\\>\\;\\\\');
    assert.equal(escapeDnValue("#x "), "\\#x\\ ");
    assert.equal(escapeDnValue(" "), "\\ ");
    assert.equal(escapeDnValue("a\x00b"), "a\\00b");
    assert.equal(escapeDnValue("jo@corp.example"), "jo@corp.example");
  });
});
