import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { x509 } from "../../src/pki/_x509.ts";
import { loadCa } from "../../src/pki/ca.ts";
import { generateCa } from "../../src/pki/ca_generate.ts";
import { createLeafIssuer, type Leaf, MAX_LEAF_NAMES } from "../../src/pki/leaf_issuer.ts";
import { decodePem } from "../../src/pki/pem.ts";
import { assertValidSerial, withSerialBytes } from "./support/serial.ts";

const dir = mkdtempSync(join(tmpdir(), "tollgate-pki-leaf-"));
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
const generated = await generateCa();
const caFile = file(generated.certPem);
function verify(leaf: Leaf, ...extra: string[]): boolean {
  try {
    return /: OK\s*$/.test(openssl("verify", "-CAfile", caFile, ...extra, file(leaf.certPem)));
  } catch {
    return false;
  }
}
const hex = (b: ArrayBuffer | Uint8Array): string =>
  Array.from(b instanceof Uint8Array ? b : new Uint8Array(b), (x) => x.toString(16).padStart(2, "0")).join("");

const ca = await loadCa(generated);
const caCert = new x509.X509Certificate(generated.certPem);
const issuer = createLeafIssuer(ca);

describe("createLeafIssuer: DNS leaf", () => {
  it("has every expected field and extension", async () => {
    const before = Date.now();
    const leaf = await issuer.issue(["www.example.com", "example.com"]);
    const cert = new x509.X509Certificate(leaf.certPem);
    assert.equal(cert.subject, "CN=www.example.com");
    assert.equal(cert.issuer, caCert.subject);
    assert.ok(await cert.verify({ publicKey: caCert.publicKey, signatureOnly: true }), "signed by the CA");
    assert.equal(cert.signatureAlgorithm.name, "ECDSA");
    assert.deepEqual(cert.publicKey.algorithm, { name: "ECDSA", namedCurve: "P-256" });

    assert.deepEqual(Array.from(cert.extensions, (e) => [e.type, e.critical]), [
      ["2.5.29.19", true],
      ["2.5.29.15", true],
      ["2.5.29.37", false],
      ["2.5.29.35", false],
      ["2.5.29.14", false],
      ["2.5.29.17", false],
    ]);
    const basic = cert.getExtension(x509.BasicConstraintsExtension);
    assert.equal(basic?.ca, false);
    assert.equal(basic?.pathLength, undefined);
    assert.equal(cert.getExtension(x509.KeyUsagesExtension)?.usages, x509.KeyUsageFlags.digitalSignature);
    assert.deepEqual(Array.from(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? []), [x509.ExtendedKeyUsage.serverAuth]);
    assert.equal(cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId, hex(ca.keyIdentifier));
    assert.equal(cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId, hex(await cert.publicKey.getKeyIdentifier()));
    assert.deepEqual(cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON(), [
      { type: "dns", value: "www.example.com" },
      { type: "dns", value: "example.com" },
    ]);

    assert.equal(cert.serialNumber, leaf.serialNumber);
    assertValidSerial(leaf.certPem);
    assert.equal(cert.notBefore.getTime(), leaf.notBefore.getTime());
    assert.equal(cert.notAfter.getTime(), leaf.notAfter.getTime());
    assert.ok(Math.abs(leaf.notBefore.getTime() - (before - 3_600_000)) < 2_000, "backdated one hour");
    assert.ok(Math.abs(leaf.notAfter.getTime() - (before + 7 * 86_400_000)) < 2_000, "valid seven days");
    assert.deepEqual(leaf.names, ["www.example.com", "example.com"]);

    assert.ok(verify(leaf, "-verify_hostname", "example.com", "-purpose", "sslserver"));
    assert.ok(!verify(leaf, "-verify_hostname", "other.example.com"));
    const text = openssl("x509", "-noout", "-text", "-in", file(leaf.certPem));
    assert.match(text, /Subject Alternative Name: \n\s+DNS:www\.example\.com, DNS:example\.com\n/);
    assert.match(text, /Basic Constraints: critical\s+CA:FALSE/);
    assert.match(text, /Key Usage: critical\s+Digital Signature\n/);
    assert.match(text, /Extended Key Usage: \n\s+TLS Web Server Authentication\n/);
  });

  it("pads a serial whose first random byte is zero and reports it without the pad", async () => {
    const bytes = [0x00, 0xc3, ...Array.from({ length: 14 }, (_, i) => 0xf0 - i)];
    const leaf = await withSerialBytes(bytes, () => issuer.issue(["zero-serial.example.com"]));
    assert.deepEqual(Array.from(assertValidSerial(leaf.certPem)), bytes);
    assert.equal(leaf.serialNumber, new x509.X509Certificate(leaf.certPem).serialNumber);
    assert.ok(leaf.serialNumber.startsWith("c3"));
    assert.ok(verify(leaf, "-verify_hostname", "zero-serial.example.com"));
  });

  it("returns PEMs ending with a newline and a chain of leaf + intermediates", async () => {
    const leaf = await issuer.issue(["chain.example.com"]);
    assert.ok(leaf.certPem.endsWith("-----END CERTIFICATE-----\n"));
    assert.ok(leaf.keyPem.startsWith("-----BEGIN PRIVATE KEY-----\n") && leaf.keyPem.endsWith("-----END PRIVATE KEY-----\n"));
    assert.equal(leaf.chainPem, leaf.certPem, "a root CA adds nothing to the chain");
    assert.equal(decodePem(leaf.chainPem).length, 1);
  });

  it("issues a private key that matches the certificate", async () => {
    const leaf = await issuer.issue(["key.example.com"]);
    const [block] = decodePem(leaf.keyPem);
    assert.ok(block !== undefined);
    const alg = { name: "ECDSA", namedCurve: "P-256" };
    const priv = await crypto.subtle.importKey("pkcs8", block.der, alg, false, ["sign"]);
    const pub = await new x509.X509Certificate(leaf.certPem).publicKey.export(alg, ["verify"]);
    const data = crypto.getRandomValues(new Uint8Array(64));
    const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, priv, data);
    assert.ok(await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, pub, sig, data));
    const certPub = openssl("x509", "-noout", "-pubkey", "-in", file(leaf.certPem));
    assert.equal(openssl("pkey", "-pubout", "-in", file(leaf.keyPem)), certPub);
  });

  it("shares one key across leaves and replaces it on rotateKey", async () => {
    const a = await issuer.issue(["a.example.com"]);
    const b = await issuer.issue(["b.example.com"]);
    assert.equal(a.keyPem, b.keyPem);
    assert.notEqual(a.serialNumber, b.serialNumber);
    await issuer.rotateKey();
    const c = await issuer.issue(["c.example.com"]);
    assert.notEqual(c.keyPem, a.keyPem);
    const spki = (l: Leaf): string => hex(new x509.X509Certificate(l.certPem).publicKey.rawData);
    assert.notEqual(spki(c), spki(a));
    assert.ok(verify(a) && verify(c), "leaves from before and after rotation both verify");
  });

  it("normalises and de-duplicates names, and accepts wildcards", async () => {
    const leaf = await issuer.issue(["Shop.Example.COM.", "shop.example.com", "*.shop.example.com"]);
    assert.deepEqual(leaf.names, ["shop.example.com", "*.shop.example.com"]);
    assert.equal(new x509.X509Certificate(leaf.certPem).subject, "CN=shop.example.com");
    assert.ok(verify(leaf, "-verify_hostname", "cdn.shop.example.com"));
  });

  it("leaves the subject empty and marks the SAN critical when the first name exceeds 64 characters", async () => {
    const long = `${"a".repeat(60)}.${"b".repeat(20)}.example.com`;
    const leaf = await issuer.issue([long]);
    const cert = new x509.X509Certificate(leaf.certPem);
    assert.equal(cert.subject, "");
    assert.equal(cert.getExtension(x509.SubjectAlternativeNameExtension)?.critical, true);
    assert.ok(verify(leaf, "-verify_hostname", long));
  });
});

describe("createLeafIssuer: IP leaves", () => {
  it("puts IPv4 and IPv6 literals in iPAddress SANs", async () => {
    const v4 = await issuer.issue(["192.0.2.10"]);
    assert.equal(new x509.X509Certificate(v4.certPem).subject, "CN=192.0.2.10");
    assert.match(openssl("x509", "-noout", "-text", "-in", file(v4.certPem)), /Subject Alternative Name: \n\s+IP Address:192\.0\.2\.10\n/);
    assert.ok(verify(v4, "-verify_ip", "192.0.2.10"));
    assert.ok(!verify(v4, "-verify_ip", "192.0.2.11"));

    const v6 = await issuer.issue(["[2001:DB8::1]", "10.0.0.1", "host.example"]);
    assert.deepEqual(v6.names, ["2001:db8::1", "10.0.0.1", "host.example"]);
    assert.match(openssl("x509", "-noout", "-text", "-in", file(v6.certPem)),
      /Subject Alternative Name: \n\s+IP Address:2001:DB8:0:0:0:0:0:1, IP Address:10\.0\.0\.1, DNS:host\.example\n/);
    assert.ok(verify(v6, "-verify_ip", "2001:db8::1"));
    assert.deepEqual(new x509.X509Certificate(v6.certPem).getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON()[0],
      { type: "ip", value: "2001:db8::1" });
  });
});

describe("createLeafIssuer: a CA with DNS name constraints", () => {
  it("an IP leaf verifies: DNS subtrees do not bind addresses (RFC 5280 §4.2.1.10), so its address is in the SAN only", async () => {
    const constrained = await generateCa({ nameConstraints: { permitted: ["corp.example"] } });
    const leaf = await createLeafIssuer(await loadCa(constrained)).issue(["10.0.0.1"]);
    assert.equal(new x509.X509Certificate(leaf.certPem).subject, "");
    assert.match(openssl("x509", "-noout", "-text", "-in", file(leaf.certPem)), /Subject Alternative Name: critical\n\s+IP Address:10\.0\.0\.1\n/);
    const out = (() => {
      try {
        return openssl("verify", "-purpose", "sslserver", "-CAfile", file(constrained.certPem), "-verify_ip", "10.0.0.1", file(leaf.certPem));
      } catch (e) {
        return String((e as { stderr?: string }).stderr ?? e);
      }
    })();
    assert.match(out, /: OK\s*$/, out);
    const named = await createLeafIssuer(await loadCa(constrained)).issue(["www.corp.example"]);
    assert.match(openssl("verify", "-purpose", "sslserver", "-CAfile", file(constrained.certPem), "-verify_hostname", "www.corp.example", file(named.certPem)), /: OK\s*$/);
  });

  it("refuses a leaf with a name outside the constraints, first or not, with a TypeError naming them", async () => {
    const constrained = await generateCa({ nameConstraints: { permitted: ["corp.example"], excluded: ["hr.corp.example"] } });
    const nc = createLeafIssuer(await loadCa(constrained));
    const refused = (name: string, why: string) => (e: unknown) =>
      e instanceof TypeError && e.message.startsWith(`The name constraints of "CN=Tollgate Interception CA `) &&
      e.message.endsWith(`do not allow "${name}": ${why}`);
    await assert.rejects(nc.issue(["outside.example"]), refused("outside.example", `not within the permitted DNS names "corp.example"`));
    await assert.rejects(nc.issue(["www.corp.example", "HR.corp.example"]), refused("hr.corp.example", `within the excluded DNS names "hr.corp.example"`));
    assert.deepEqual((await nc.issue(["www.corp.example", "10.0.0.1"])).names, ["www.corp.example", "10.0.0.1"]);
  });
});

describe("createLeafIssuer: validity and input checks", () => {
  it("uses the injected clock, custom validity and backdate", async () => {
    const now = Date.UTC(2030, 5, 1, 12, 0, 0, 500);
    const leaf = await createLeafIssuer(ca, { now: () => now, validityDays: 30, backdateSeconds: 60 }).issue(["t.example.com"]);
    assert.equal(leaf.notBefore.toISOString(), "2030-06-01T11:59:00.000Z");
    assert.equal(leaf.notAfter.toISOString(), "2030-07-01T12:00:00.000Z");
  });

  it("never outlives the CA", async () => {
    const shortCa = await loadCa(await generateCa({ validityDays: 2 }));
    const leaf = await createLeafIssuer(shortCa).issue(["short.example.com"]);
    assert.equal(leaf.notAfter.getTime(), shortCa.notAfter.getTime());
    const late = createLeafIssuer(shortCa, { now: () => shortCa.notAfter.getTime() + 1000 });
    await assert.rejects(late.issue(["late.example.com"]), (e: unknown) => e instanceof RangeError && /expired/.test(e.message));
  });

  it("rejects invalid options and names", async () => {
    assert.throws(() => createLeafIssuer(ca, { validityDays: 31 }), RangeError);
    assert.throws(() => createLeafIssuer(ca, { validityDays: 0 }), RangeError);
    assert.throws(() => createLeafIssuer(ca, { validityDays: Number.NaN }), RangeError);
    assert.throws(() => createLeafIssuer(ca, { backdateSeconds: -1 }), RangeError);
    await assert.rejects(issuer.issue([]), RangeError);
    await assert.rejects(issuer.issue(["bad name.example"]), TypeError);
    await assert.rejects(issuer.issue(["ok.example", "1.2.3.999"]), TypeError);
    await assert.rejects(issuer.issue(["fe80::1%eth0"]), TypeError);
    const many = Array.from({ length: MAX_LEAF_NAMES + 1 }, (_, i) => `n${i}.example.com`);
    await assert.rejects(issuer.issue(many), RangeError);
    assert.equal((await issuer.issue(many.slice(1))).names.length, MAX_LEAF_NAMES);
  });

  it("mints concurrently with one key generation", async () => {
    const fresh = createLeafIssuer(ca);
    const leaves = await Promise.all(Array.from({ length: 20 }, (_, i) => fresh.issue([`c${i}.example.com`])));
    assert.equal(new Set(leaves.map((l) => l.keyPem)).size, 1);
    assert.equal(new Set(leaves.map((l) => l.serialNumber)).size, 20);
  });
});
