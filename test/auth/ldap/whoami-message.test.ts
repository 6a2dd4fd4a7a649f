import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readWhoAmI, whoAmIRequest } from "../../../src/auth/ldap/whoami-message.ts";

const hex = (s: string) => Uint8Array.from(s.replace(/\s+/g, "").match(/../g)!.map((b) => parseInt(b, 16)));
const ascii = (s: string) => [...new TextEncoder().encode(s)].map((b) => b.toString(16).padStart(2, "0")).join("");

describe("LDAP \"Who am I?\" messages (RFC 4532)", () => {
  it("encodes the ExtendedRequest with the operation's OID", () => {
    assert.deepEqual(whoAmIRequest(2), hex(`301e 020102 7719 8017${ascii("1.3.6.1.4.1.4203.1.11.3")}`));
  });

  it("reads the identity, fed a byte at a time; none sent is anonymous", () => {
    const answer = hex(`301a 020102 7815 0a0100 0400 0400 8b0c${ascii("u:CORP\\alice")}`);
    for (let i = 0; i < answer.length; i++) assert.equal(readWhoAmI(answer.subarray(0, i)), "incomplete");
    const got = readWhoAmI(answer);
    assert.ok(got !== "incomplete");
    assert.deepEqual(got.result, { messageId: 2, resultCode: 0, diagnosticMessage: "", authzId: "u:CORP\\alice" });
    const anonymous = readWhoAmI(hex("300c 020102 7807 0a0100 0400 0400"));
    assert.ok(anonymous !== "incomplete");
    assert.equal(anonymous.result.authzId, "");
    const refused = readWhoAmI(hex(`3010 020102 780b 0a0102 0400 0404${ascii("nope")}`));
    assert.ok(refused !== "incomplete");
    assert.equal(refused.result.resultCode, 2);
  });

  it("throws on another operation and on an identity that is not UTF-8", () => {
    assert.throws(() => readWhoAmI(hex("300c 020102 6107 0a0100 0400 0400")), /expected an ExtendedResponse, got tag 0x61/);
    assert.throws(() => readWhoAmI(hex("300f 020102 780a 0a0100 0400 0400 8b01ff")), /encoded|UTF-8|decode/i);
  });
});
