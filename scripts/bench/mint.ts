/**
 * Leaf minting benchmark: cold mint latency, cache hit cost, and the `@peculiar/x509`
 * generator path for comparison.
 *
 *   bun scripts/bench/mint.ts [--hosts 500] [--rsa]
 *   deno run -A scripts/bench/mint.ts [--hosts 500] [--rsa]
 *
 * @module
 */
import process from "node:process";
import { argValue, runtimeName, timeEach } from "./_cli.ts";
import { x509 } from "../../src/pki/_x509.ts";
import { createLeafCache, createLeafIssuer, generateCa, loadCa } from "../../src/pki/mod.ts";
import type { CertificateAuthority, LeafIssuer } from "../../src/pki/mod.ts";

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
}

const rows: string[][] = [];
function row(what: string, samples: readonly number[], unit: "ms" | "µs" = "ms"): void {
  const k = unit === "µs" ? 1000 : 1;
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  const f = (v: number): string => (v * k).toFixed(unit === "µs" ? 2 : 3);
  rows.push([what, String(samples.length), f(percentile(samples, 50)), f(percentile(samples, 99)), f(mean), unit]);
}

let run = 0;
const host = (i: number): string => `h${i}-r${run}.bench.example.com`;

async function benchCa(label: string, ca: CertificateAuthority, hosts: number): Promise<void> {
  run++;
  const issuer: LeafIssuer = createLeafIssuer(ca);
  await timeEach(50, (i) => issuer.issue([`warm${i}.example.com`])); // JIT warm-up, key generation
  row(`${label}: cold mint, issuer.issue`, await timeEach(hosts, (i) => issuer.issue([host(i)])));
  run++;
  row(`${label}: cold mint, 2 DNS + 1 IP SANs`, await timeEach(hosts, (i) => issuer.issue([host(i), `www.${host(i)}`, "10.1.2.3"])));
  const tbs = crypto.getRandomValues(new Uint8Array(420));
  row(`${label}: CA signature alone (signTbs)`, await timeEach(hosts, () => ca.signTbs(tbs)));

  run++;
  const cache = createLeafCache(issuer, { maxEntries: hosts * 2 });
  row(`${label}: cold mint, cache.get`, await timeEach(hosts, (i) => cache.get(host(i))));
  const hitN = 20_000;
  const hitSamples: number[] = [];
  for (let batch = 0; batch < 20; batch++) {
    const start = performance.now();
    for (let i = 0; i < hitN / 20; i++) await cache.get(host(i % hosts));
    hitSamples.push((performance.now() - start) / (hitN / 20));
  }
  row(`${label}: cached hit, cache.get`, hitSamples.sort((a, b) => a - b), "µs");
}

/** The straightforward `@peculiar/x509` path, with extensions and key precomputed where the API allows. */
async function benchLibraryPath(hosts: number): Promise<void> {
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const caKeys = await crypto.subtle.generateKey(alg, true, ["sign", "verify"]) as CryptoKeyPair;
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({ name: "CN=Bench CA", keys: caKeys, signingAlgorithm: alg });
  const leafKeys = await crypto.subtle.generateKey(alg, true, ["sign", "verify"]) as CryptoKeyPair;
  const publicKey = await x509.PublicKey.create(leafKeys.publicKey);
  const fixed = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
    await x509.SubjectKeyIdentifierExtension.create(publicKey),
  ];
  const mint = async (name: string): Promise<string> => {
    const cert = await x509.X509CertificateGenerator.create({
      subject: [{ CN: [name] }],
      issuer: caCert.subjectName,
      publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: alg,
      notBefore: new Date(Date.now() - 3_600_000),
      notAfter: new Date(Date.now() + 7 * 86_400_000),
      extensions: [...fixed, new x509.SubjectAlternativeNameExtension([{ type: "dns", value: name }])],
    });
    return cert.toString("pem") + "\n";
  };
  await timeEach(50, (i) => mint(`warm${i}.example.com`));
  run++;
  row("reference: X509CertificateGenerator.create", await timeEach(hosts, (i) => mint(host(i))));
}

const hosts = argValue("--hosts", 500);
const started = performance.now();
const ecCa = await loadCa(await generateCa());
await benchCa("ECDSA P-256 CA", ecCa, hosts);
if (process.argv.includes("--rsa")) {
  const rsaCa = await loadCa(await generateCa({ keyAlgorithm: "rsa-3072" }));
  await benchCa("RSA-3072 CA", rsaCa, Math.min(hosts, 200));
}
await benchLibraryPath(Math.min(hosts, 300));

const header = ["what", "n", "p50", "p99", "mean", "unit"];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
const line = (r: readonly string[]): string =>
  r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ");
console.log(`leaf mint benchmark — ${runtimeName()}, ${hosts} unique hosts, ${((performance.now() - started) / 1000).toFixed(1)} s`);
console.log(line(header));
console.log(widths.map((w) => "-".repeat(w)).join("  "));
for (const r of rows) console.log(line(r));
