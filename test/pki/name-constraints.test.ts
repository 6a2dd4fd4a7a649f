import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sequence, tlv } from "../../src/pki/_der.ts";
import { parseSubjectName } from "../../src/pki/_names.ts";
import { x509 } from "../../src/pki/_x509.ts";
import { CaError, loadCa } from "../../src/pki/ca.ts";
import { createLeafIssuer } from "../../src/pki/leaf_issuer.ts";
import { constraintViolation, parseNameConstraints } from "../../src/pki/name-constraints.ts";
import { decodePem } from "../../src/pki/pem.ts";

const dir = mkdtempSync(join(tmpdir(), "tollgate-pki-nc-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const openssl = (...args: string[]): string => execFileSync("openssl", args, { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const enc = new TextEncoder();
/** Writes `text` to `name` in the test's directory; returns the name. */
const writeConfig = (name: string, text: string): string => (writeFileSync(join(dir, name), text), name);

/** A NameConstraints value from [tag, bytes] bases: 0x82 dNSName, 0x87 iPAddress, 0x81 rfc822Name. */
function constraintsDer(permitted: readonly [number, Uint8Array<ArrayBuffer>][], excluded: readonly [number, Uint8Array<ArrayBuffer>][] = []): Uint8Array<ArrayBuffer> {
  const subtrees = (tag: number, bases: readonly [number, Uint8Array<ArrayBuffer>][]) =>
    bases.length === 0 ? [] : [tlv(tag, ...bases.map(([t, v]) => sequence(tlv(t, v))))];
  return sequence(...subtrees(0xa0, permitted), ...subtrees(0xa1, excluded));
}
const dns = (name: string): [number, Uint8Array<ArrayBuffer>] => [0x82, enc.encode(name)];
const ip = (...bytes: number[]): [number, Uint8Array<ArrayBuffer>] => [0x87, Uint8Array.from(bytes)];
const allows = (der: Uint8Array<ArrayBuffer>, name: string): boolean => constraintViolation(parseNameConstraints(der), parseSubjectName(name)) === undefined;

describe("name constraints (RFC 5280 §4.2.1.10)", () => {
  it("a dNSName covers the name and its subdomains; with a leading dot only the subdomains", () => {
    const nc = constraintsDer([dns("Corp.Example"), dns(".svc.example")]);
    for (const name of ["corp.example", "www.corp.example", "a.b.corp.example", "api.svc.example", "*.corp.example"]) assert.ok(allows(nc, name), name);
    for (const name of ["xcorp.example", "corp.example.evil", "svc.example", "example", "other.example"]) assert.ok(!allows(nc, name), name);
  });

  it("an excluded subtree wins over a permitted one, also for a wildcard that would stand for an excluded host", () => {
    const nc = constraintsDer([dns("corp.example")], [dns("secret.corp.example"), dns(".lab.corp.example")]);
    assert.ok(allows(nc, "www.corp.example"));
    for (const name of ["secret.corp.example", "a.secret.corp.example", "x.lab.corp.example", "*.corp.example", "*.lab.corp.example"]) {
      assert.ok(!allows(nc, name), name);
    }
    assert.ok(allows(nc, "*.www.corp.example"), "a wildcard one level away from the excluded name");
  });

  it("an iPAddress subtree is address and mask, for its own address family", () => {
    const nc = constraintsDer([ip(10, 0, 0, 0, 255, 0, 0, 0), ip(0xfd, 0, ...new Array<number>(14).fill(0), 0xff, 0xff, ...new Array<number>(14).fill(0))], [ip(10, 9, 0, 0, 255, 255, 0, 0)]);
    for (const name of ["10.1.2.3", "10.255.0.1", "fd00::1", "[fd00:1234::2]"]) assert.ok(allows(nc, name), name);
    for (const name of ["11.0.0.1", "10.9.8.7", "fd01::1", "::ffff:10.1.2.3", "2001:db8::1"]) assert.ok(!allows(nc, name), name);
  });

  it("each name form is bound by its own subtrees only; other forms are ignored", () => {
    const onlyDns = constraintsDer([dns("corp.example")]);
    assert.ok(allows(onlyDns, "10.0.0.1") && allows(onlyDns, "::1"), "DNS subtrees do not bind addresses");
    const onlyIp = constraintsDer([ip(10, 0, 0, 0, 255, 0, 0, 0)]);
    assert.ok(allows(onlyIp, "anything.example"), "IP subtrees do not bind DNS names");
    const email = constraintsDer([[0x81, enc.encode("corp.example")]], [[0x86, enc.encode("bad.example")]]);
    assert.ok(allows(email, "other.example") && allows(email, "bad.example"));
  });

  it("names the subtrees a name is refused for", () => {
    const nc = parseNameConstraints(constraintsDer([dns("corp.example"), ip(10, 0, 0, 0, 255, 0, 0, 0)], [dns("secret.corp.example"), ip(10, 9, 0, 0, 255, 255, 0, 0)]));
    assert.equal(constraintViolation(nc, parseSubjectName("evil.example")), `not within the permitted DNS names "corp.example"`);
    assert.equal(constraintViolation(nc, parseSubjectName("secret.corp.example")), `within the excluded DNS names "secret.corp.example"`);
    assert.equal(constraintViolation(nc, parseSubjectName("10.9.0.1")), `within the excluded IP addresses "10.9.0.0/16"`);
    assert.equal(constraintViolation(nc, parseSubjectName("192.0.2.1")), `not within the permitted IP addresses "10.0.0.0/8"`);
    const v6 = constraintsDer([ip(0xfd, 0, ...new Array<number>(14).fill(0), 0xff, ...new Array<number>(15).fill(0))]);
    assert.equal(constraintViolation(parseNameConstraints(v6), parseSubjectName("2001:db8::1")), `not within the permitted IP addresses "fd00::/8"`);
  });

  it("a malformed extension is a SyntaxError, and loadCa refuses its CA", async () => {
    assert.throws(() => parseNameConstraints(Uint8Array.of(0x30, 0x03, 0xa0, 0x01)), SyntaxError);
    assert.throws(() => parseNameConstraints(sequence(tlv(0xa2, sequence(tlv(0x82, enc.encode("x.example")))))), SyntaxError);
    const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
    const keys = await crypto.subtle.generateKey(alg, true, ["sign", "verify"]) as CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      name: "CN=Broken NC", keys, signingAlgorithm: alg,
      extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.Extension("2.5.29.30", true, Uint8Array.of(0x30, 0x02, 0xa0, 0x05))],
    });
    const keyPem = `-----BEGIN PRIVATE KEY-----\n${btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey))))}\n-----END PRIVATE KEY-----\n`;
    await assert.rejects(loadCa({ certPem: cert.toString("pem"), keyPem }), (e: unknown) => e instanceof CaError && /"CN=Broken NC" has a malformed nameConstraints extension/.test(e.message));
  });
});

describe("name constraints of a loaded CA agree with openssl", () => {
  it("every name the CA allows verifies, every name it refuses fails with a subtree violation", async () => {
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "3", "-subj", "/CN=NC Test CA",
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign",
      "-addext", "nameConstraints=critical,permitted;DNS:corp.example,permitted;DNS:.svc.example,permitted;IP:10.0.0.0/255.0.0.0,permitted;IP:fd00::/ffff:ff00::,permitted;email:corp.example,excluded;DNS:secret.corp.example,excluded;IP:10.9.0.0/255.255.0.0");
    const certPem = readFileSync(join(dir, "ca.pem"), "utf8");
    const keyPem = readFileSync(join(dir, "ca.key"), "utf8");
    const ca = await loadCa({ certPem, keyPem });
    const caKey = await crypto.subtle.importKey("pkcs8", decodePem(keyPem)[0]!.der, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
    const leafKeys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]) as CryptoKeyPair;
    const names = ["corp.example", "www.corp.example", "a.b.corp.example", "xcorp.example", "corp.example.evil", "svc.example", "api.svc.example",
      "secret.corp.example", "x.secret.corp.example", "other.example", "*.svc.example", "10.1.2.3", "10.9.1.1", "11.0.0.1", "fd00::1", "fd00:100::1", "2001:db8::1"];
    const verdicts: Record<string, boolean> = {};
    for (const name of names) {
      const parsed = parseSubjectName(name);
      // minted without the issuer (which refuses names outside), so openssl judges every one
      const leaf = await x509.X509CertificateGenerator.create({
        subject: "O=Leaf", issuer: ca.certificate.subject, publicKey: leafKeys.publicKey, signingKey: caKey, signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
        notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000),
        extensions: [new x509.SubjectAlternativeNameExtension([{ type: parsed.kind, value: parsed.value }])],
      });
      writeFileSync(join(dir, "leaf.pem"), leaf.toString("pem"));
      let out: string;
      try {
        out = openssl("verify", "-CAfile", "ca.pem", "leaf.pem");
      } catch (e) {
        const err = e as { stdout?: string; stderr?: string };
        out = `${err.stdout ?? ""}${err.stderr ?? ""}`;
      }
      assert.match(out, /: OK\s*$|subtree violation/, `${name}: ${out}`);
      verdicts[name] = /: OK\s*$/.test(out);
    }
    const ours = Object.fromEntries(names.map((name) => [name, ca.nameConstraintViolation(parseSubjectName(name)) === undefined]));
    assert.deepEqual(ours, verdicts);
    assert.deepEqual(names.filter((n) => verdicts[n]), ["corp.example", "www.corp.example", "a.b.corp.example", "api.svc.example", "*.svc.example", "10.1.2.3", "fd00::1"]);
  });

  it("under a directoryName constraint, leaves have an empty subject (names in a critical SAN) and verify", async () => {
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "dn-ca.key", "-out", "dn-ca.pem", "-days", "3", "-subj", "/O=Corp/CN=Corp Interception CA",
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign",
      "-addext", "nameConstraints=critical,permitted;dirName:dn_sect,permitted;DNS:corp.example,permitted;IP:10.0.0.0/255.0.0.0",
      "-config", writeConfig("dn.cnf", "[req]\ndistinguished_name=dn\n[dn]\n[dn_sect]\nO=Corp\n"));
    const ca = await loadCa({ certPem: readFileSync(join(dir, "dn-ca.pem"), "utf8"), keyPem: readFileSync(join(dir, "dn-ca.key"), "utf8") });
    assert.equal(ca.subjectConstrained, true);
    const issuer = createLeafIssuer(ca, { validityDays: 1 });
    for (const name of ["www.corp.example", "10.1.2.3"]) {
      const leaf = await issuer.issue([name]);
      const cert = new x509.X509Certificate(leaf.certPem);
      assert.equal(cert.subject, "", name);
      assert.equal(cert.getExtension(x509.SubjectAlternativeNameExtension)?.critical, true, name);
      writeFileSync(join(dir, "dn-leaf.pem"), leaf.chainPem);
      const flag = name.startsWith("10.") ? "-verify_ip" : "-verify_hostname";
      assert.match(openssl("verify", "-CAfile", "dn-ca.pem", flag, name, "dn-leaf.pem"), /: OK\s*$/, name);
    }
    const plain = await loadCa({ certPem: readFileSync(join(dir, "ca.pem"), "utf8"), keyPem: readFileSync(join(dir, "ca.key"), "utf8") });
    assert.equal(plain.subjectConstrained, false, "DNS and IP subtrees alone leave the CN in place");
  });
});
