import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { certificateValidity, decodePem, generateCa } from "../../src/pki/mod.ts";

describe("certificateValidity", () => {
  it("reads notBefore and notAfter of a certificate; throws on what is not one", async () => {
    const before = Date.now();
    const ca = await generateCa({ commonName: "Validity test CA", validityDays: 10 });
    const { notBefore, notAfter } = certificateValidity(decodePem(ca.certPem)[0]!.der);
    assert.ok(notBefore.getTime() <= before);
    const days = (notAfter.getTime() - before) / 86_400_000;
    assert.ok(days > 9.9 && days < 10.1, `${days} days`);
    assert.throws(() => certificateValidity(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01])));
  });
});
