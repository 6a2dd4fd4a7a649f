/**
 * Client-certificate verification benchmark (`clientCertificates` of HTTPS proxy and reverse
 * listeners): what checking a client's certificate costs a new connection, cold and from the
 * verdict cache, with and without a large CRL, each further request on a connection, and a
 * reload's recheck of each open connection (files unchanged, and a new CRL), against the one
 * thing it cannot avoid (a bare ECDSA P-256 signature check with WebCrypto,
 * measured in the same run).
 *
 *   bun scripts/bench/client-cert.ts [--certs 300] [--revoked 2000]
 *   deno run -A scripts/bench/client-cert.ts [--certs 300] [--revoked 2000]
 *
 * @module
 */
import { argValue, runtimeName, timeEach } from "./_cli.ts";
import { median } from "./_report.ts";
import { x509 } from "../../src/pki/_x509.ts";
import { encodePem } from "../../src/pki/pem.ts";
import { type ClientCertificateTrust, loadClientCertificateTrust } from "../../src/pki/client-cert-trust.ts";
import type { ClientCertificatePolicy } from "../../src/auth/certificate-sign-in.ts";
import { ConnectionCertificate } from "../../src/auth/connection-certificate.ts";

const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
const certs = argValue("--certs", 300);
const revoked = argValue("--revoked", 2_000); // X509CrlGenerator checks entries for repeats in quadratic time: keep it modest
const day = 86_400_000;
const caKeys = await crypto.subtle.generateKey(alg, false, ["sign", "verify"]) as CryptoKeyPair;
const ca = await x509.X509CertificateGenerator.createSelfSigned({
  name: "CN=Bench Client CA",
  keys: caKeys,
  signingAlgorithm: alg,
  notBefore: new Date(Date.now() - day),
  notAfter: new Date(Date.now() + 30 * day),
  extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
});
const leafKeys = await crypto.subtle.generateKey(alg, false, ["sign", "verify"]) as CryptoKeyPair;
const leaves: Uint8Array[] = [];
for (let i = 0; i < certs * 2 + 50; i++) {
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: (0x10000000 + i).toString(16),
    subject: `CN=user${i}`,
    issuer: ca.subject,
    publicKey: leafKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: alg,
    notBefore: new Date(Date.now() - day),
    notAfter: new Date(Date.now() + 7 * day),
    extensions: [new x509.BasicConstraintsExtension(false), new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])],
  });
  leaves.push(new Uint8Array(leaf.rawData));
}
const crl = await x509.X509CrlGenerator.create({
  issuer: ca.subject,
  thisUpdate: new Date(Date.now() - day),
  nextUpdate: new Date(Date.now() + 7 * day),
  entries: Array.from({ length: revoked }, (_, i) => ({ serialNumber: (0x20000000 + i).toString(16), revocationDate: new Date(Date.now() - day) })),
  signingAlgorithm: alg,
  signingKey: caKeys.privateKey,
});
const caPem = ca.toString("pem");
const plain = await loadClientCertificateTrust({ caPem });
const withCrl = await loadClientCertificateTrust({ caPem, crlPem: encodePem(new Uint8Array(crl.rawData), "X509 CRL") });

// the baseline: one bare signature check of a leaf (what no verifier can skip)
const first = new x509.X509Certificate(leaves[0] as Uint8Array<ArrayBuffer>);
const bare = () => first.verify({ publicKey: ca.publicKey, signatureOnly: true });
await timeEach(50, bare);
await timeEach(50, (i) => plain.verify([leaves[certs * 2 + i] as Uint8Array])); // warm-up
const baseline = median(await timeEach(certs, bare));
const cold = median(await timeEach(certs, (i) => plain.verify([leaves[i] as Uint8Array])));
const cached = median(await timeEach(certs, (i) => plain.verify([leaves[i] as Uint8Array])));
// a new connection with a known certificate: the same bytes in a new array, hashed for the cache
const copies = leaves.slice(0, certs).map((der) => Uint8Array.from(der));
const cachedNew = median(await timeEach(certs, (i) => plain.verify([copies[i] as Uint8Array])));
const coldCrl = median(await timeEach(certs, (i) => withCrl.verify([leaves[certs + i] as Uint8Array])));

// a reload's recheck of each open connection: settings left alone (a comparison and the
// expiry), and a new CRL (a new trust, its cache empty: each certificate verified anew)
const settings = (trust: ClientCertificateTrust): ClientCertificatePolicy => ({ trust, required: true, user: "cn" });
let inForce = settings(plain);
const open = leaves.slice(0, certs).map((der) => new ConnectionCertificate(der, true, () => inForce, () => []));
for (const c of open) await c.signIn();
const recheckSame = median(await timeEach(certs, (i) => (open[i] as ConnectionCertificate).revocation()));
inForce = settings(await loadClientCertificateTrust({ caPem, crlPem: encodePem(new Uint8Array(crl.rawData), "X509 CRL") }));
const recheckNew = median(await timeEach(certs, (i) => (open[i] as ConnectionCertificate).revocation()));

const rows: [string, number][] = [
  ["baseline: one ECDSA P-256 signature check", baseline],
  ["verify, cold (no CRL)", cold],
  [`verify, cold (CRL of ${revoked} entries)`, coldCrl],
  ["verify, cached verdict, new connection", cachedNew],
  ["verify, cached verdict, same connection", cached],
  ["reload recheck per open connection, unchanged", recheckSame],
  ["reload recheck per open connection, new CRL", recheckNew],
];
console.log(`client certificate verification — ${runtimeName()}, ${certs} certificates, medians`);
for (const [what, ms] of rows) console.log(`${what.padEnd(46)} ${(ms * 1000).toFixed(1).padStart(9)} µs  ${(ms / baseline).toFixed(2).padStart(6)}× baseline`);
