import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { x509 } from "../../src/pki/_x509.ts";
import { certificateNames, subjectAltNames } from "../../src/pki/cert-names.ts";

/** A self-signed certificate (DER) whose subjectAltName holds `names` (DNS names, or IPs when they parse as one). */
async function certificateWith(names: readonly string[]): Promise<Uint8Array> {
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = await crypto.subtle.generateKey(alg, true, ["sign", "verify"]);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: "CN=upstream.test",
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    keys,
    signingAlgorithm: alg,
    extensions: [new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: /^[\d.]+$|:/.test(value) && value !== "010.1.2.3" ? "ip" as const : "dns" as const, value })))],
  });
  return new Uint8Array(cert.rawData);
}

describe("certificateNames (the names a minted leaf mirrors)", () => {
  it("leaves out names no leaf can carry, keeps the rest in order", async () => {
    const der = await certificateWith(["ok.example", "legacy-.example.com", "-lead.example", "010.1.2.3", "192.0.2.7", "www.ok.example"]);
    assert.equal(subjectAltNames(der).length, 6, "all read");
    assert.deepEqual(await certificateNames(der), ["ok.example", "192.0.2.7", "www.ok.example"]);
  });

  it("leaves out names the given predicate refuses (those outside the CA's name constraints) before counting", async () => {
    const der = await certificateWith(["www.corp.example", "static.cdn.example", "10.0.0.1", ...Array.from({ length: 1000 }, (_, i) => `n${i}.cdn.example`), "api.corp.example"]);
    const got = await certificateNames(der, (name) => name.kind === "ip" || name.value.endsWith(".corp.example"));
    assert.deepEqual(got, ["www.corp.example", "10.0.0.1", "api.corp.example"]);
  });

  it("at most 1000 names, the first ones", async () => {
    const names = Array.from({ length: 1005 }, (_, i) => `n${i}.example`);
    const got = await certificateNames(await certificateWith(names));
    assert.equal(got.length, 1000);
    assert.equal(got.at(-1), "n999.example");
  });
});
