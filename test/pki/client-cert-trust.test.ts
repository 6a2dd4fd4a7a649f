import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Extension, JsonGeneralNames, X509Certificate } from "@peculiar/x509";
import { x509 } from "../../src/pki/_x509.ts";
import {
  type ClientCertificateTrust,
  ClientCertificateTrustError,
  type ClientCertificateTrustOptions,
  type ClientCertificateVerdict,
  loadClientCertificateTrust,
} from "../../src/pki/client-cert-trust.ts";
import { bitString, ecdsaSignatureToDer, oid, sequence, time, unsignedInteger } from "../../src/pki/_der.ts";
import { encodePem } from "../../src/pki/pem.ts";

// A fixed clock: every certificate is dated around it, and tests move it on purpose.
const NOW = Date.UTC(2031, 4, 1, 12);
const DAY = 86_400_000;
const EC_KEY = { name: "ECDSA", namedCurve: "P-256" } as const;
const RSA_KEY = { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: Uint8Array.of(1, 0, 1), hash: "SHA-256" } as const;
const generate = async (params: EcKeyGenParams | RsaHashedKeyGenParams): Promise<CryptoKeyPair> =>
  await crypto.subtle.generateKey(params, true, ["sign", "verify"]) as CryptoKeyPair;

// Keys are made once: certificates are cheap, key generation (RSA above all) is not.
const keys = {
  root: await generate(EC_KEY),
  inter: await generate(EC_KEY),
  leaf: await generate(EC_KEY),
  other: await generate(EC_KEY),
  rsa: await generate(RSA_KEY),
};

interface Made {
  readonly cert: X509Certificate;
  readonly der: Uint8Array<ArrayBuffer>;
  readonly pem: string;
  readonly keys: CryptoKeyPair;
}

interface MakeOptions {
  readonly subject: string;
  readonly keys: CryptoKeyPair;
  /** The issuing certificate; self-signed without. */
  readonly issuer?: Made;
  /** Signing key instead of the issuer's (a forged signature). */
  readonly signingKeys?: CryptoKeyPair;
  /** basicConstraints: `true` for a CA, a number for a CA with that pathLen; absent: none. */
  readonly ca?: boolean | number;
  readonly keyUsage?: number;
  readonly eku?: readonly string[];
  readonly san?: JsonGeneralNames;
  readonly notBefore?: number;
  readonly notAfter?: number;
  readonly serial?: string;
  readonly extensions?: readonly Extension[];
}

const signingAlgorithm = (pair: CryptoKeyPair): Algorithm | EcdsaParams =>
  pair.privateKey.algorithm.name === "ECDSA" ? { name: "ECDSA", hash: "SHA-256" } : RSA_KEY;

async function make(o: MakeOptions): Promise<Made> {
  const extensions: Extension[] = [];
  if (o.ca !== undefined) {
    extensions.push(new x509.BasicConstraintsExtension(o.ca !== false, typeof o.ca === "number" ? o.ca : undefined, true));
  }
  if (o.keyUsage !== undefined) extensions.push(new x509.KeyUsagesExtension(o.keyUsage, true));
  if (o.eku !== undefined) extensions.push(new x509.ExtendedKeyUsageExtension([...o.eku]));
  if (o.san !== undefined) extensions.push(new x509.SubjectAlternativeNameExtension(o.san));
  extensions.push(...(o.extensions ?? []));
  const signer = o.signingKeys ?? o.issuer?.keys ?? o.keys;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: o.serial ?? Array.from(crypto.getRandomValues(new Uint8Array(8)), (b, i) => (i === 0 ? b & 0x7f | 0x10 : b).toString(16).padStart(2, "0")).join(""),
    subject: o.subject,
    issuer: o.issuer?.cert.subjectName ?? o.subject,
    notBefore: new Date(o.notBefore ?? NOW - 30 * DAY),
    notAfter: new Date(o.notAfter ?? NOW + 365 * DAY),
    publicKey: o.keys.publicKey,
    signingKey: signer.privateKey,
    signingAlgorithm: signingAlgorithm(signer),
    extensions,
  });
  const der = new Uint8Array(cert.rawData);
  return { cert, der, pem: encodePem(der, "CERTIFICATE"), keys: o.keys };
}

const CA_USAGE = x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign;
const LEAF_USAGE = x509.KeyUsageFlags.digitalSignature;
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";

const root = await make({ subject: "CN=Test Root, O=Tollgate", keys: keys.root, ca: true, keyUsage: CA_USAGE, notAfter: NOW + 3650 * DAY });
const rsaRoot = await make({ subject: "CN=RSA Root", keys: keys.rsa, ca: true, keyUsage: CA_USAGE, notAfter: NOW + 3650 * DAY });
const inter = await make({ subject: "CN=Test Intermediate", keys: keys.inter, issuer: root, ca: true, keyUsage: CA_USAGE });
const leafOf = (issuer: Made, more: Partial<MakeOptions> = {}): Promise<Made> =>
  make({ subject: "CN=alice", keys: keys.leaf, issuer, keyUsage: LEAF_USAGE, eku: [CLIENT_AUTH], ...more });
const alice = await leafOf(root, {
  subject: "CN=alice, O=Example, E=alice@subject.example",
  serial: "0a1b2c3d",
  san: [
    { type: "email", value: "alice@example.com" },
    { type: "dns", value: "alice.example.com" },
    { type: "email", value: "alice@subject.example" },
    { type: "upn", value: "alice@corp.example" },
  ],
});
const bob = await leafOf(inter, { subject: "CN=bob" });

let clock = NOW;
const now = (): number => clock;
const load = (options: ClientCertificateTrustOptions): Promise<ClientCertificateTrust> => {
  clock = NOW;
  return loadClientCertificateTrust({ source: '"clients.pem"', ...options }, now);
};
const trust = await load({ caPem: root.pem + rsaRoot.pem });

async function refused(verdict: Promise<ClientCertificateVerdict>, pattern: RegExp): Promise<string> {
  const v = await verdict;
  assert.equal(v.ok, false, `expected a refusal matching ${pattern}`);
  if (v.ok) throw new Error("unreachable");
  assert.match(v.reason, pattern);
  return v.reason;
}
async function accepted(verdict: Promise<ClientCertificateVerdict>): Promise<void> {
  const v = await verdict;
  assert.ok(v.ok, v.ok ? "" : v.reason);
}
async function loadError(options: ClientCertificateTrustOptions, pattern: RegExp): Promise<void> {
  await assert.rejects(load(options), (e: unknown) => {
    assert.ok(e instanceof ClientCertificateTrustError, String(e));
    assert.equal(e.name, "ClientCertificateTrustError");
    assert.match(e.message, /^"clients\.pem": /);
    assert.match(e.message, pattern);
    return true;
  });
}
async function crlOf(issuer: Made, o: { entries?: { serialNumber: string; revocationDate: Date }[]; thisUpdate?: number; nextUpdate?: number | null; signingKeys?: CryptoKeyPair } = {}): Promise<string> {
  const signer = o.signingKeys ?? issuer.keys;
  const crl = await x509.X509CrlGenerator.create({
    issuer: issuer.cert.subjectName,
    thisUpdate: new Date(o.thisUpdate ?? NOW - DAY),
    ...(o.nextUpdate === null ? {} : { nextUpdate: new Date(o.nextUpdate ?? NOW + 7 * DAY) }),
    entries: o.entries ?? [],
    signingAlgorithm: signingAlgorithm(signer),
    signingKey: signer.privateKey,
  });
  return encodePem(new Uint8Array(crl.rawData), "X509 CRL");
}

describe("loadClientCertificateTrust", () => {
  it("loads every CA as an anchor and gives each back as PEM", async () => {
    assert.deepEqual(trust.caPem, [root.pem, rsaRoot.pem]);
    assert.equal(trust.crlNextUpdate, null);
    const again = await load({ caPem: `# openssl comment\n${root.pem}\n${root.pem}` });
    assert.deepEqual(again.caPem, [root.pem], "a repeated CA counts once, text between blocks is ignored");
  });

  it("refuses a CA file with a certificate that is not a CA", async () => {
    await loadError({ caPem: root.pem + alice.pem }, /CA certificate 2 of 2: certificate "CN=alice.*" is not a CA \(basicConstraints cA is not true\)/);
    const noSign = await make({ subject: "CN=No Sign", keys: keys.other, ca: true, keyUsage: x509.KeyUsageFlags.cRLSign });
    await loadError({ caPem: noSign.pem }, /"CN=No Sign" is not a CA \(keyUsage lacks keyCertSign\)/);
  });

  it("refuses garbage, other PEM blocks, truncated blocks, no certificate at all", async () => {
    await loadError({ caPem: "this is not PEM" }, /the CA file has no certificate/);
    await loadError({ caPem: "" }, /no certificate/);
    await loadError({ caPem: "-----BEGIN CERTIFICATE-----\n%%%%\n-----END CERTIFICATE-----\n" }, /incomplete or malformed PEM block/);
    await loadError({ caPem: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n" }, /CA certificate is not a valid X\.509 certificate/);
    await loadError({ caPem: root.pem + "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n" }, /PEM block 2 of the CA file is a "PRIVATE KEY", expected "CERTIFICATE"/);
    await loadError({ caPem: root.pem + root.pem.slice(0, 100) }, /incomplete or malformed PEM block/);
    await loadError({ caPem: "x".repeat(16 * 1024 * 1024 + 1) }, /the CA file is larger than 16 MiB/);
  });

  it("refuses more than 100 CA certificates", async () => {
    const many = await Promise.all(Array.from({ length: 101 }, (_, i) => make({ subject: `CN=CA ${i}`, keys: keys.other, ca: true })));
    await loadError({ caPem: many.map((m) => m.pem).join("") }, /more than 100 certificates/);
  });

  it("loads a file with an expired CA beside a valid one (refusing what it issued), not one with only expired CAs", async () => {
    const old = await make({ subject: "CN=Old Root", keys: keys.other, ca: true, notBefore: NOW - 400 * DAY, notAfter: NOW - DAY });
    await loadError({ caPem: old.pem }, new RegExp(`every CA certificate of the file has expired \\(the last at ${new Date(NOW - DAY).toISOString()}\\)`));
    const both = await load({ caPem: old.pem + root.pem });
    await accepted(both.verify([alice.der]));
  });

  it("refuses a CA file whose CA it could never verify against, and a CRL file that yields no CRL", async () => {
    const constrained = await make({ subject: "CN=Constrained", keys: keys.other, ca: true, extensions: [new x509.Extension("2.5.29.30", true, Uint8Array.of(0x30, 0x0f, 0xa0, 0x0d, 0x30, 0x0b, 0x82, 0x09, ...new TextEncoder().encode("localhost")))] });
    await loadError({ caPem: constrained.pem }, /has name constraints, which are not supported/);
    // a DER CRL read as text, or a file emptied by a failed refresh, must not turn revocation off
    await loadError({ caPem: root.pem, crlPem: "" }, /the CRL file holds no PEM CRL/);
    await loadError({ caPem: root.pem, crlPem: "0\x82\x01\x0e0\x81\xb5" }, /the CRL file holds no PEM CRL/);
  });

  it("refuses a CRL not signed by a configured CA, from an unknown issuer, or of the wrong kind", async () => {
    const forged = await crlOf(root, { signingKeys: keys.other });
    await loadError({ caPem: root.pem, crlPem: forged }, /CRL \(from "CN=Test Root, O=Tollgate"\): its signature does not verify with the CA's key/);
    await loadError({ caPem: root.pem, crlPem: await crlOf(inter) }, /CRL \(from "CN=Test Intermediate"\) is not from one of the CA certificates/);
    await loadError({ caPem: root.pem, crlPem: root.pem }, /PEM block 1 of the CRL file is a "CERTIFICATE", expected "X509 CRL"/);
    await loadError({ caPem: root.pem, crlPem: "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n" }, /CRL is not a valid X\.509 CRL/);
    const noCrlSign = await make({ subject: "CN=No CRL Sign", keys: keys.other, ca: true, keyUsage: x509.KeyUsageFlags.keyCertSign });
    await loadError({ caPem: noCrlSign.pem, crlPem: await crlOf(noCrlSign) }, /the CA's keyUsage lacks cRLSign/);
  });

  it("keeps the later of two CRLs from one CA, and reports the earliest nextUpdate", async () => {
    const revoked = [{ serialNumber: alice.cert.serialNumber, revocationDate: new Date(NOW - DAY) }];
    const older = await crlOf(root, { thisUpdate: NOW - 2 * DAY, entries: revoked, nextUpdate: NOW + DAY });
    const newer = await crlOf(root, { thisUpdate: NOW - DAY, nextUpdate: NOW + 5 * DAY });
    const rsaCrl = await crlOf(rsaRoot, { nextUpdate: NOW + 3 * DAY });
    for (const crlPem of [older + newer + rsaCrl, newer + rsaCrl + older]) {
      const t = await load({ caPem: root.pem + rsaRoot.pem, crlPem });
      assert.equal(t.crlNextUpdate?.getTime(), NOW + 3 * DAY);
      await accepted(t.verify([alice.der]));
    }
  });

  it("loads a CRL past its nextUpdate, then refuses what it covers and says why", async () => {
    const stale = await crlOf(root, { thisUpdate: NOW - 10 * DAY, nextUpdate: NOW - DAY });
    const t = await load({ caPem: root.pem, crlPem: stale });
    assert.equal(t.crlNextUpdate?.getTime(), NOW - DAY);
    await refused(t.verify([alice.der]), new RegExp(`^the CRL from "CN=Test Root, O=Tollgate" expired at ${new Date(NOW - DAY).toISOString()}$`));
  });

  it("reads a CRL with thousands of entries (beyond the parser's default node limit)", async () => {
    // Built by hand: X509CrlGenerator checks entries for repeats in quadratic time.
    const hexBytes = (h: string): Uint8Array<ArrayBuffer> => Uint8Array.from(h.match(/../g) ?? [], (b) => parseInt(b, 16));
    const revokedAt = time(new Date(NOW - DAY));
    const serials = [...Array.from({ length: 4000 }, (_, i) => (0x100000 + i).toString(16).padStart(8, "0")), alice.cert.serialNumber];
    const ecdsaSha256 = sequence(oid("1.2.840.10045.4.3.2"));
    const tbs = sequence(
      unsignedInteger(Uint8Array.of(1)),
      ecdsaSha256,
      new Uint8Array(root.cert.subjectName.toArrayBuffer()),
      time(new Date(NOW - DAY)),
      time(new Date(NOW + DAY)),
      sequence(...serials.map((serial) => sequence(unsignedInteger(hexBytes(serial)), revokedAt))),
    );
    const signature = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, keys.root.privateKey, tbs));
    const crlPem = encodePem(sequence(tbs, ecdsaSha256, bitString(ecdsaSignatureToDer(signature))), "X509 CRL");
    const t = await load({ caPem: root.pem, crlPem });
    await refused(t.verify([alice.der]), /was revoked/);
    await accepted(t.verify([(await leafOf(root)).der]));
  });
});

describe("ClientCertificateTrust.verify", () => {
  it("accepts a leaf issued by an anchor and describes it", async () => {
    const v = await trust.verify([alice.der]);
    assert.ok(v.ok, v.ok ? "" : v.reason);
    const sha256 = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", alice.der)), (b) => b.toString(16).padStart(2, "0")).join("");
    assert.deepEqual(v.certificate, {
      subject: "CN=alice, O=Example, E=alice@subject.example",
      issuer: "CN=Test Root, O=Tollgate",
      serial: "0a1b2c3d",
      sha256,
      notAfter: new Date(NOW + 365 * DAY),
      commonName: "alice",
      emails: ["alice@example.com", "alice@subject.example"],
      upns: ["alice@corp.example"],
    });
  });

  it("accepts an ECDSA leaf under an RSA anchor, and an RSA leaf under an ECDSA anchor", async () => {
    await accepted(trust.verify([(await leafOf(rsaRoot)).der]));
    const rsaLeaf = await make({ subject: "CN=carol", keys: keys.rsa, issuer: root, eku: [CLIENT_AUTH] });
    const v = await trust.verify([rsaLeaf.der]);
    assert.ok(v.ok && v.certificate.commonName === "carol" && v.certificate.emails.length === 0 && v.certificate.upns.length === 0);
  });

  it("accepts a leaf via a presented intermediate, in any order, among unrelated certificates and anchor copies", async () => {
    const stranger = await make({ subject: "CN=Stranger", keys: keys.other, ca: true });
    await accepted(trust.verify([bob.der, inter.der]));
    await accepted(trust.verify([bob.der, stranger.der, root.der, alice.der, inter.der]));
  });

  it("refuses a leaf whose intermediate was not presented", async () => {
    await refused(trust.verify([bob.der]), /^certificate "CN=bob" is issued by "CN=Test Intermediate", which is not a trusted CA and was not presented by the client$/);
  });

  it("refuses a self-signed leaf that carries an anchor's name (signature mismatch)", async () => {
    const impostor = await make({ subject: "CN=Test Root, O=Tollgate", keys: keys.leaf, eku: [CLIENT_AUTH] });
    await refused(trust.verify([impostor.der]), /signature of certificate "CN=Test Root, O=Tollgate" does not verify with the key of "CN=Test Root, O=Tollgate"/);
    const forged = await leafOf(root, { signingKeys: keys.other });
    await refused(trust.verify([forged.der]), /signature of certificate "CN=alice" does not verify/);
    const fakeInter = await make({ subject: "CN=Test Intermediate", keys: keys.inter, issuer: root, signingKeys: keys.other, ca: true });
    await refused(trust.verify([bob.der, fakeInter.der]), /signature of certificate "CN=Test Intermediate" does not verify/);
  });

  it("refuses an expired and a not-yet-valid leaf", async () => {
    const expired = await leafOf(root, { notBefore: NOW - 10 * DAY, notAfter: NOW - DAY });
    await refused(trust.verify([expired.der]), new RegExp(`^certificate "CN=alice" expired at ${new Date(NOW - DAY).toISOString()}$`));
    const early = await leafOf(root, { notBefore: NOW + DAY });
    await refused(trust.verify([early.der]), new RegExp(`^certificate "CN=alice" is not valid before ${new Date(NOW + DAY).toISOString()}$`));
  });

  it("refuses a path through an expired intermediate", async () => {
    const old = await make({ subject: "CN=Old Intermediate", keys: keys.inter, issuer: root, ca: true, notBefore: NOW - 100 * DAY, notAfter: NOW - DAY });
    await refused(trust.verify([(await leafOf(old)).der, old.der]), /^certificate "CN=Old Intermediate" expired at/);
  });

  it("refuses a CA certificate as client certificate, and an anchor itself", async () => {
    const subCa = await make({ subject: "CN=Sub CA", keys: keys.leaf, issuer: root, ca: true });
    await refused(trust.verify([subCa.der]), /^certificate "CN=Sub CA" is a CA certificate, not a client certificate$/);
    await refused(trust.verify([root.der]), /^certificate "CN=Test Root, O=Tollgate" is a trusted CA, not a client certificate$/);
  });

  it("refuses a leaf for server authentication only; accepts anyExtendedKeyUsage", async () => {
    await refused(trust.verify([(await leafOf(root, { eku: [SERVER_AUTH] })).der]), /is not for client authentication \(extKeyUsage lacks clientAuth\)/);
    await accepted(trust.verify([(await leafOf(root, { eku: [SERVER_AUTH, "2.5.29.37.0"] })).der]));
  });

  it("refuses a leaf whose keyUsage lacks digitalSignature", async () => {
    const leaf = await leafOf(root, { keyUsage: x509.KeyUsageFlags.keyEncipherment });
    await refused(trust.verify([leaf.der]), /^certificate "CN=alice" is not for signing \(keyUsage lacks digitalSignature\)$/);
  });

  it("honours the anchor's pathLenConstraint", async () => {
    const tight = await make({ subject: "CN=Tight Root", keys: keys.other, ca: 0, keyUsage: CA_USAGE });
    const mid = await make({ subject: "CN=Tight Intermediate", keys: keys.inter, issuer: tight, ca: true });
    const t = await load({ caPem: tight.pem });
    await accepted(t.verify([(await leafOf(tight)).der]));
    await refused(t.verify([(await leafOf(mid)).der, mid.der]), /exceeds the path length constraint \(0\) of CA "CN=Tight Root"/);
  });

  it("refuses a presented issuer that is not a CA, and more than 4 intermediates", async () => {
    const notCa = await make({ subject: "CN=Not A CA", keys: keys.inter, issuer: root });
    await refused(trust.verify([(await leafOf(notCa)).der, notCa.der]), /certificate "CN=Not A CA" is not a CA/);
    const chain: Made[] = [];
    for (let i = 0; i < 5; i++) chain.push(await make({ subject: `CN=Level ${i}`, keys: keys.inter, issuer: chain[i - 1] ?? root, ca: true }));
    const deep = await leafOf(chain[4] ?? root);
    await refused(trust.verify([deep.der, ...chain.map((c) => c.der)]), /more than 4 intermediate CAs/);
    const four = await leafOf(chain[3] ?? root);
    await accepted(trust.verify([four.der, ...chain.slice(0, 4).map((c) => c.der).reverse()]));
  });

  it("refuses unknown critical extensions and name constraints, naming them", async () => {
    const odd = new x509.Extension("1.2.3.4.5", true, Uint8Array.of(5, 0));
    await refused(trust.verify([(await leafOf(root, { extensions: [odd] })).der]), /^certificate "CN=alice" has an unknown critical extension 1\.2\.3\.4\.5$/);
    await accepted(trust.verify([(await leafOf(root, { extensions: [new x509.Extension("1.2.3.4.5", false, Uint8Array.of(5, 0))] })).der]));
    const oddInter = await make({ subject: "CN=Odd Intermediate", keys: keys.inter, issuer: root, ca: true, extensions: [odd] });
    await refused(trust.verify([(await leafOf(oddInter)).der, oddInter.der]), /"CN=Odd Intermediate" has an unknown critical extension 1\.2\.3\.4\.5/);
    // permittedSubtrees: dNSName example.com
    const nc = new x509.Extension("2.5.29.30", true, Uint8Array.of(0x30, 0x0f, 0xa0, 0x0d, 0x30, 0x0b, 0x82, 0x09, ...new TextEncoder().encode("localhost")));
    const constrained = await make({ subject: "CN=Constrained", keys: keys.inter, issuer: root, ca: true, extensions: [nc] });
    await refused(trust.verify([(await leafOf(constrained)).der, constrained.der]), /^CA "CN=Constrained" has name constraints, which are not supported$/);
  });

  it("checks CRLs: revoked (a listed serial, whatever its date), no CRL for an intermediate's issuer", async () => {
    const revokedAt = new Date(NOW - DAY);
    const later = await leafOf(root, { subject: "CN=dave" });
    const crlPem = await crlOf(root, {
      entries: [
        { serialNumber: alice.cert.serialNumber, revocationDate: revokedAt },
        { serialNumber: later.cert.serialNumber, revocationDate: new Date(NOW + DAY) },
      ],
    });
    const t = await load({ caPem: root.pem + rsaRoot.pem, crlPem });
    await refused(t.verify([alice.der]), new RegExp(`^certificate "CN=alice, O=Example, E=alice@subject\\.example" \\(serial 0a1b2c3d\\) was revoked at ${revokedAt.toISOString()}$`));
    await refused(t.verify([later.der]), /"CN=dave" \(serial [0-9a-f]+\) was revoked/);
    await refused(t.verify([bob.der, inter.der]), /^no CRL from "CN=Test Intermediate"$/);
    await refused(t.verify([(await leafOf(rsaRoot)).der]), /^no CRL from "CN=RSA Root"$/);
    // Without CRLs, no revocation checking at all.
    await accepted(trust.verify([bob.der, inter.der]));
  });

  it("refuses an empty chain and an unreadable leaf, never throwing", async () => {
    await refused(trust.verify([]), /^no client certificate$/);
    await refused(trust.verify([Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x01)]), /^the client certificate cannot be read: /);
    await refused(trust.verify([new Uint8Array(0)]), /^the client certificate cannot be read: /);
    // An unreadable extra is ignored.
    await accepted(trust.verify([bob.der, Uint8Array.of(1, 2, 3), inter.der]));
  });

  it("caches verdicts, and a cached acceptance ends at the leaf's notAfter", async () => {
    const short = await leafOf(root, { notAfter: NOW + 30_000 });
    const t = await load({ caPem: root.pem });
    const first = await t.verify([short.der]);
    assert.ok(first.ok);
    assert.equal(await t.verify([Uint8Array.from(short.der)]), first, "the same verdict object, from the cache");
    clock = NOW + 30_001;
    const expired = await t.verify([short.der]);
    await refused(Promise.resolve(expired), /expired at/);
    assert.equal(await t.verify([short.der]), expired, "an expired leaf's refusal is cached too");

    const refusal = await t.verify([bob.der]);
    assert.equal(await t.verify([bob.der]), refusal, "refusals are cached too");
    const other = await t.verify([alice.der]);
    clock += 60_001;
    const again = await t.verify([alice.der]);
    assert.notEqual(again, other, "recomputed after 60 s");
    assert.deepEqual(again, other);
  });
});
