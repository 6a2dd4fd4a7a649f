import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { x509 } from "../../src/pki/_x509.ts";
import { CaError, loadCa } from "../../src/pki/ca.ts";
import { generateCa } from "../../src/pki/ca_generate.ts";
import { createLeafIssuer } from "../../src/pki/leaf_issuer.ts";
import { decodePem, encodePem } from "../../src/pki/pem.ts";
import { assertValidSerial, serialOctets, withSerialBytes } from "./support/serial.ts";

const dir = mkdtempSync(join(tmpdir(), "tollgate-pki-ca-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let fileCount = 0;
function file(content: string): string {
  const path = join(dir, `f${fileCount++}.pem`);
  writeFileSync(path, content);
  return path;
}
function openssl(...args: string[]): string {
  return execFileSync("openssl", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}
function verify(caPem: string, leafPem: string, ...extra: string[]): boolean {
  try {
    openssl("verify", "-CAfile", file(caPem), ...extra, file(leafPem));
    return true;
  } catch {
    return false;
  }
}
async function rejects(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof CaError && pattern.test(e.message));
}

const generated = await generateCa();
const other = await generateCa();

describe("generateCa", () => {
  it("produces a self-signed ECDSA P-256 CA with the required extensions", async () => {
    const before = Date.now();
    const { certPem, keyPem } = await generateCa();
    assert.ok(certPem.endsWith("-----END CERTIFICATE-----\n"));
    assert.ok(keyPem.startsWith("-----BEGIN PRIVATE KEY-----\n") && keyPem.endsWith("-----END PRIVATE KEY-----\n"));
    const cert = new x509.X509Certificate(certPem);
    assert.equal(cert.subject, cert.issuer);
    assert.ok(await cert.verify({ signatureOnly: true }));
    assert.equal(cert.signatureAlgorithm.name, "ECDSA");
    assert.equal(cert.publicKey.algorithm.name, "ECDSA");

    const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
    assert.ok(ski !== null && !ski.critical);
    assert.equal(ski.keyId, Array.from(new Uint8Array(await cert.publicKey.getKeyIdentifier()), (b) => b.toString(16).padStart(2, "0")).join(""));
    assert.equal(cert.subject, `CN=Tollgate Interception CA ${ski.keyId.slice(0, 8)}`);

    const basic = cert.getExtension(x509.BasicConstraintsExtension);
    assert.ok(basic !== null);
    assert.equal(basic.critical, true);
    assert.equal(basic.ca, true);
    assert.equal(basic.pathLength, 0);
    const usage = cert.getExtension(x509.KeyUsagesExtension);
    assert.ok(usage !== null);
    assert.equal(usage.critical, true);
    assert.equal(usage.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension);
    assert.equal(aki?.keyId, ski.keyId);
    assert.equal(cert.extensions.length, 4);

    assertValidSerial(certPem);
    assert.notEqual(cert.serialNumber, new x509.X509Certificate(other.certPem).serialNumber);
    const nb = cert.notBefore.getTime();
    assert.ok(nb <= before - 3_599_000 && nb >= before - 3_601_000, "notBefore is backdated one hour");
    const days = (cert.notAfter.getTime() - nb - 3_600_000) / 86_400_000;
    assert.ok(Math.abs(days - 3650) < 0.001, `validity ${days} days`);

    const text = openssl("x509", "-noout", "-text", "-in", file(certPem));
    assert.match(text, /Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    assert.match(text, /Key Usage: critical\s+Certificate Sign, CRL Sign/);
  });

  it("pads a serial whose first random byte is zero and whose next is 0x80 or above", async () => {
    const bytes = [0x00, 0x9a, ...Array.from({ length: 14 }, (_, i) => i + 1)];
    const { certPem } = await withSerialBytes(bytes, () => generateCa());
    assert.deepEqual(Array.from(assertValidSerial(certPem)), bytes, "one zero pad, then the magnitude");
    const small = await withSerialBytes([0, 0, 0x12, ...new Array<number>(13).fill(0)], () => generateCa());
    assert.equal(serialOctets(small.certPem)[0], 0x12, "leading zero bytes are dropped");
    assertValidSerial(small.certPem);
  });

  it("honours commonName and validityDays, and validates options", async () => {
    const { certPem } = await generateCa({ commonName: "Acme, Inc. \"Proxy\" CA", validityDays: 30 });
    const cert = new x509.X509Certificate(certPem);
    assert.deepEqual(cert.subjectName.getField("CN"), ["Acme, Inc. \"Proxy\" CA"]);
    assert.ok(Math.abs((cert.notAfter.getTime() - cert.notBefore.getTime()) / 86_400_000 - 30 - 1 / 24) < 0.001);
    await assert.rejects(generateCa({ validityDays: 0 }), RangeError);
    await assert.rejects(generateCa({ validityDays: 1.5 }), RangeError);
    await assert.rejects(generateCa({ commonName: "x".repeat(65) }), RangeError);
    await assert.rejects(generateCa({ nameConstraints: {} }), TypeError);
    await assert.rejects(generateCa({ nameConstraints: { permitted: ["bad name"] } }), TypeError);
  });

  it("adds critical DNS name constraints that openssl enforces", async () => {
    const g = await generateCa({ nameConstraints: { permitted: ["example.com", ".example.net"], excluded: ["secret.example.com"] } });
    const cert = new x509.X509Certificate(g.certPem);
    const nc = cert.getExtension("2.5.29.30");
    assert.ok(nc !== null && nc.critical);
    const text = openssl("x509", "-noout", "-text", "-in", file(g.certPem));
    assert.match(text, /Name Constraints: critical\s+Permitted:\s+DNS:example\.com\s+DNS:\.example\.net\s+Excluded:\s+DNS:secret\.example\.com/);
    const issuer = createLeafIssuer(await loadCa(g));
    const ok = async (name: string): Promise<boolean> => verify(g.certPem, (await issuer.issue([name])).certPem);
    assert.equal(await ok("example.com"), true);
    assert.equal(await ok("www.example.com"), true);
    assert.equal(await ok("a.example.net"), true);
    // names outside: no leaf at all (openssl would reject it: name-constraints.test.ts)
    for (const name of ["example.net", "secret.example.com", "evil.org"]) {
      await assert.rejects(issuer.issue([name]), (e: unknown) => e instanceof TypeError && /name constraints of "CN=Tollgate Interception CA [0-9a-f]{8}" do not allow/.test(e.message), name);
    }
  });

  it("generates a working RSA-3072 CA", async () => {
    const g = await generateCa({ keyAlgorithm: "rsa-3072" });
    const cert = new x509.X509Certificate(g.certPem);
    assert.equal(cert.signatureAlgorithm.name, "RSASSA-PKCS1-v1_5");
    assert.match(openssl("x509", "-noout", "-text", "-in", file(g.certPem)), /Public-Key: \(3072 bit\)[\s\S]*sha256WithRSAEncryption/);
    const ca = await loadCa(g);
    assert.equal(ca.keyDescription, "RSA");
    const leaf = await createLeafIssuer(ca).issue(["rsa.example.com"]);
    assert.ok(verify(g.certPem, leaf.certPem, "-verify_hostname", "rsa.example.com"));
    assert.match(openssl("x509", "-noout", "-text", "-in", file(leaf.certPem)), /Signature Algorithm: sha256WithRSAEncryption/);
  });
});

describe("loadCa", () => {
  it("round-trips a generated CA", async () => {
    const ca = await loadCa(generated);
    const cert = new x509.X509Certificate(generated.certPem);
    assert.equal(ca.certPem, generated.certPem);
    assert.equal(ca.chainPem, "");
    assert.equal(ca.issuerChainPem, "");
    assert.equal(ca.certificate.subject, cert.subject);
    assert.equal(ca.notAfter.getTime(), cert.notAfter.getTime());
    assert.equal(ca.keyDescription, "ECDSA P-256");
    const hex = Array.from(ca.keyIdentifier, (b) => b.toString(16).padStart(2, "0")).join("");
    assert.equal(hex, cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId);
    assert.deepEqual(new x509.Name(ca.subjectDer).toString(), cert.subject);
    assert.ok(!("privateKey" in ca), "the private key is not exposed");
  });

  it("rejects a key that does not match the certificate, without leaking key material", async () => {
    const error = await loadCa({ certPem: generated.certPem, keyPem: other.keyPem }).then(() => null, (e: unknown) => e);
    assert.ok(error instanceof CaError);
    assert.match(error.message, /does not match the certificate's public key/);
    const keyBody = other.keyPem.split("\n").slice(1, -2).join("");
    for (let i = 0; i + 16 <= keyBody.length; i += 8) assert.ok(!error.message.includes(keyBody.slice(i, i + 16)));
    assert.ok(!String(error.stack).includes(keyBody.slice(0, 16)));
  });

  it("rejects a key of another type", async () => {
    const rsaKey = openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024");
    await rejects(loadCa({ certPem: generated.certPem, keyPem: rsaKey }), /key type "RSA" does not match the certificate key type "ECDSA P-256"/);
  });

  it("rejects a certificate that is not a CA", async () => {
    const leaf = await createLeafIssuer(await loadCa(generated)).issue(["leaf.example.com"]);
    await rejects(loadCa({ certPem: leaf.certPem, keyPem: leaf.keyPem }), /is not a CA: basicConstraints CA:TRUE is missing/);
  });

  it("rejects a CA certificate without keyCertSign", async () => {
    const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]) as CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      name: "CN=No Sign",
      keys,
      signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
      extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)],
    });
    const keyPem = encodePem(new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey)), "PRIVATE KEY");
    await rejects(loadCa({ certPem: cert.toString("pem"), keyPem }), /keyUsage lacks keyCertSign/);
  });

  it("rejects an expired or not yet valid CA", async () => {
    const past = Date.now() - 10 * 86_400_000;
    const expired = await generateCa({ now: () => past, validityDays: 1 });
    await rejects(loadCa(expired), /expired on "/);
    await rejects(loadCa({ ...generated, now: () => Date.now() - 2 * 3_600_000 }), /is not valid before "/);
  });

  it("rejects malformed or unsupported PEM input with clear messages", async () => {
    const relabel = (pem: string, label: string): string => pem.replaceAll("PRIVATE KEY", label);
    await rejects(loadCa({ certPem: "", keyPem: generated.keyPem }), /has no certificate/);
    await rejects(loadCa({ certPem: generated.keyPem, keyPem: generated.keyPem }), /contains a "PRIVATE KEY" block/);
    await rejects(loadCa({ certPem: encodePem(Uint8Array.of(1, 2, 3), "CERTIFICATE"), keyPem: generated.keyPem }), /not a valid X\.509 certificate/);
    await rejects(loadCa({ certPem: generated.certPem, keyPem: relabel(generated.keyPem, "EC PRIVATE KEY") }), /"EC PRIVATE KEY" format; convert it to PKCS#8/);
    await rejects(loadCa({ certPem: generated.certPem, keyPem: relabel(generated.keyPem, "ENCRYPTED PRIVATE KEY") }), /Encrypted CA private keys/);
    await rejects(loadCa({ certPem: generated.certPem, keyPem: "" }), /has no PEM block/);
    await rejects(loadCa({ certPem: generated.certPem, keyPem: encodePem(Uint8Array.of(1), "PRIVATE KEY") }), /not a valid PKCS#8 key/);
    await rejects(loadCa({ ...generated, chainPem: "-----BEGIN X-----\nAQID\n-----END X-----\n" }), /CA chain PEM contains a "X" block/);
  });

  it("loads an openssl-made ECDSA P-384 CA and signs verifiable leaves with SHA-384", async () => {
    const keyPem = openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384");
    const certPem = openssl("req", "-x509", "-new", "-key", file(keyPem), "-subj", "/O=Example/CN=Corp Proxy CA", "-days", "30",
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign");
    const ca = await loadCa({ certPem, keyPem });
    assert.equal(ca.keyDescription, "ECDSA P-384");
    const leaf = await createLeafIssuer(ca).issue(["p384.example.com"]);
    assert.ok(verify(certPem, leaf.certPem, "-verify_hostname", "p384.example.com"));
    assert.match(openssl("x509", "-noout", "-text", "-in", file(leaf.certPem)), /Issuer: O ?= ?Example, CN ?= ?Corp Proxy CA[\s\S]*ecdsa-with-SHA384/);
  });

  it("serves an intermediate CA with its chain", async () => {
    const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
    const rootKeys = await crypto.subtle.generateKey(alg, true, ["sign", "verify"]) as CryptoKeyPair;
    const root = await x509.X509CertificateGenerator.createSelfSigned({
      name: "CN=Test Root", keys: rootKeys, signingAlgorithm: alg,
      extensions: [new x509.BasicConstraintsExtension(true, 1, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
    });
    const midKeys = await crypto.subtle.generateKey(alg, true, ["sign", "verify"]) as CryptoKeyPair;
    const mid = await x509.X509CertificateGenerator.create({
      subject: "CN=Test Intermediate", issuer: root.subject, publicKey: midKeys.publicKey, signingKey: rootKeys.privateKey,
      signingAlgorithm: alg, notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000),
      extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
    });
    const midPem = mid.toString("pem") + "\n";
    const keyPem = encodePem(new Uint8Array(await crypto.subtle.exportKey("pkcs8", midKeys.privateKey)), "PRIVATE KEY");
    const ca = await loadCa({ certPem: midPem, keyPem });
    assert.equal(ca.issuerChainPem, midPem, "a non-self-signed CA travels in the chain");
    const leaf = await createLeafIssuer(ca).issue(["chain.example.com"]);
    const blocks = decodePem(leaf.chainPem);
    assert.equal(blocks.length, 2);
    assert.equal(leaf.chainPem, leaf.certPem + midPem);
    const rootPem = root.toString("pem") + "\n";
    assert.ok(!verify(rootPem, leaf.certPem), "the leaf alone does not chain to the root");
    assert.ok(verify(rootPem, leaf.certPem, "-untrusted", file(midPem)));
    // The ca.pem + extra chain form: certificates after the first in certPem are intermediates.
    const bundled = await loadCa({ certPem: midPem + rootPem, keyPem });
    assert.equal(bundled.chainPem, rootPem);
  });
});
