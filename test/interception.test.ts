import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfigText } from "../src/config/parse.ts";
import type { TlsClientSession } from "../src/core/tls.ts";
import { mintLeaf } from "../src/flows/decrypt-session.ts";
import { type Interception, startInterception } from "../src/interception.ts";
import { createGatewayMetrics } from "../src/metrics/gateway-metrics.ts";
import { Registry } from "../src/metrics/registry.ts";
import { generateCa, type GeneratedCa } from "../src/pki/ca_generate.ts";
import { loadCa } from "../src/pki/ca.ts";
import { subjectAltNames } from "../src/pki/cert-names.ts";
import { createLeafIssuer } from "../src/pki/leaf_issuer.ts";
import { decodePem } from "../src/pki/pem.ts";

const dir = mkdtempSync(join(tmpdir(), "tollgate-interception-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The interception side a gateway builds for `ca` and the `interception` settings. */
async function interceptionFor(ca: GeneratedCa, interception: Record<string, unknown> = {}): Promise<Interception> {
  const files: Record<string, string> = { "/t/ca.pem": ca.certPem, "/t/ca.key": ca.keyPem };
  const config = parseConfigText(JSON.stringify({
    listeners: [{ name: "e", mode: "explicit", listen: "127.0.0.1:0" }],
    ca: { cert: "/t/ca.pem", key: "/t/ca.key" },
    interception,
  }), "/t/config.json");
  const readText = (path: string): string => {
    const text = files[path];
    if (text === undefined) throw Object.assign(new Error(`no file ${path}`), { code: "ENOENT" });
    return text;
  };
  return await startInterception(config, config.ca!, readText, createGatewayMetrics(new Registry()), 1);
}

/** `openssl verify` of the first certificate of `chainPem` against `caPem` as a strict TLS client: "OK" or its complaint. */
function verify(caPem: string, chainPem: string, ...extra: string[]): string {
  writeFileSync(join(dir, "ca.pem"), caPem);
  writeFileSync(join(dir, "leaf.pem"), /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/.exec(chainPem)![0]);
  try {
    const out = execFileSync("openssl", ["verify", "-purpose", "sslserver", "-CAfile", "ca.pem", ...extra, "leaf.pem"], { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return /: OK\s*$/.test(out) ? "OK" : out;
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    return `${err.stdout ?? ""}${err.stderr ?? ""}`;
  }
}

const constrained = await generateCa({ nameConstraints: { permitted: ["corp.example"] } });
const ic = await interceptionFor(constrained, { mirrorUpstreamSans: true });

describe("startInterception under a name-constrained CA", () => {
  it("mirrors only the upstream names the CA may certify, so the leaf verifies", async () => {
    // the real server's certificate (validated for www.corp.example) also names a CDN host
    const upstream = await createLeafIssuer(await loadCa(await generateCa())).issue(["www.corp.example", "static.cdn-provider.example", "api.corp.example"]);
    const session = { peerCertificateDer: decodePem(upstream.certPem)[0]!.der } as unknown as TlsClientSession;
    const leaf = await mintLeaf(ic.context, { kind: "dns", name: "www.corp.example" }, session, true);
    assert.deepEqual(subjectAltNames(decodePem(leaf.chainPem)[0]!.der), ["www.corp.example", "api.corp.example"]);
    assert.equal(verify(constrained.certPem, leaf.chainPem, "-verify_hostname", "www.corp.example"), "OK");
  });

  it("refuses a leaf for a host outside the constraints, naming them", async () => {
    await assert.rejects(ic.context.leaf("www.other.example"), (e: unknown) =>
      e instanceof TypeError && /do not allow "www\.other\.example": not within the permitted DNS names "corp\.example"$/.test(e.message));
  });

  it("a leaf for an IPv4 address (DNS subtrees do not bind it) verifies", async () => {
    const leaf = await ic.context.leaf("10.0.0.1");
    assert.equal(verify(constrained.certPem, leaf.chainPem, "-verify_ip", "10.0.0.1"), "OK");
  });
});

describe("startInterception: interception.leafCacheSize", () => {
  it("bounds the cached leaves only: with 2, three first handshakes to three new hosts at once all get a leaf", async () => {
    const small = await interceptionFor(await generateCa(), { leafCacheSize: 2 });
    const results = await Promise.allSettled(["a.example", "b.example", "c.example"].map((h) => small.context.leaf(h)));
    assert.deepEqual(results.map((r) => (r.status === "fulfilled" ? r.value.chainPem.startsWith("-----BEGIN CERTIFICATE-----") : String(r.reason))), [true, true, true]);
  });
});
