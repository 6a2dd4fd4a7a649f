import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CaError, loadCa } from "../../src/pki/ca.ts";
import { createLeafIssuer } from "../../src/pki/leaf_issuer.ts";

const dir = mkdtempSync(join(tmpdir(), "tollgate-pki-ca-checks-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const openssl = (...args: string[]): string => execFileSync("openssl", args, { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const read = (name: string): string => readFileSync(join(dir, name), "utf8");
const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
const CA_EXT = ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign"];

/** A self-signed CA `name`.pem / `name`.key with extra `-addext` values. */
function root(name: string, ...addext: string[]): void {
  openssl("req", "-x509", ...EC, "-keyout", `${name}.key`, "-out", `${name}.pem`, "-days", "30", "-subj", `/CN=${name}`,
    ...[...CA_EXT, ...addext].flatMap((e) => ["-addext", e]));
}
/** A CA `name` signed by `issuer`, with extra extension lines; `subject` defaults to `/CN=name`. */
function sub(name: string, issuer: string, extra: readonly string[] = [], subject = `/CN=${name}`): void {
  writeFileSync(join(dir, `${name}.ext`), [...CA_EXT, ...extra].join("\n") + "\n");
  openssl("req", ...EC, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject);
  openssl("x509", "-req", "-in", `${name}.csr`, "-CA", `${issuer}.pem`, "-CAkey", `${issuer}.key`, "-set_serial", String(Date.now()), "-out", `${name}.pem`, "-days", "20", "-extfile", `${name}.ext`);
}
/** openssl's verdict on a leaf of `ca` (chain served as the gateway does), trusting `anchor`. */
async function leafVerdict(ca: Awaited<ReturnType<typeof loadCa>>, anchor: string): Promise<string> {
  const leaf = await createLeafIssuer(ca).issue(["www.example.com"]);
  writeFileSync(join(dir, "v-leaf.pem"), leaf.certPem);
  writeFileSync(join(dir, "v-chain.pem"), leaf.chainPem.slice(leaf.certPem.length) || "\n");
  const args = ["verify", "-purpose", "sslserver", "-CAfile", `${anchor}.pem`, ...(leaf.chainPem.length > leaf.certPem.length ? ["-untrusted", "v-chain.pem"] : []), "v-leaf.pem"];
  try {
    return openssl(...args).trim().endsWith(": OK") ? "OK" : "not OK";
  } catch (e) {
    return String((e as { stderr?: string }).stderr ?? e);
  }
}
/** openssl's verdict on a server leaf that openssl itself signs with self-signed `ca` (no loadCa involved). */
function opensslLeafVerdict(ca: string): string {
  writeFileSync(join(dir, "leaf.ext"), "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:www.example.com\n");
  openssl("req", ...EC, "-keyout", "o-leaf.key", "-out", "o-leaf.csr", "-subj", "/CN=www.example.com");
  openssl("x509", "-req", "-in", "o-leaf.csr", "-CA", `${ca}.pem`, "-CAkey", `${ca}.key`, "-set_serial", "9", "-out", "o-leaf.pem", "-days", "1", "-extfile", "leaf.ext");
  try {
    return openssl("verify", "-purpose", "sslserver", "-CAfile", `${ca}.pem`, "o-leaf.pem").trim();
  } catch (e) {
    return String((e as { stderr?: string }).stderr ?? e);
  }
}
const refused = (pattern: RegExp) => (e: unknown): boolean => e instanceof CaError && pattern.test(e.message);

describe("loadCa: extendedKeyUsage", () => {
  it("refuses a CA whose extendedKeyUsage lacks serverAuth", async () => {
    root("eku", "extendedKeyUsage=clientAuth,emailProtection");
    await assert.rejects(loadCa({ certPem: read("eku.pem"), keyPem: read("eku.key") }),
      refused(/^CA certificate "CN=eku" has an extendedKeyUsage without serverAuth: TLS clients would reject every leaf it signs$/));
    assert.match(opensslLeafVerdict("eku"), /unsuitable certificate purpose/, "what a client says of its leaves");
  });

  it("refuses one with anyExtendedKeyUsage alone: openssl finds its leaves unsuitable too", async () => {
    root("ekuany", "extendedKeyUsage=anyExtendedKeyUsage");
    await assert.rejects(loadCa({ certPem: read("ekuany.pem"), keyPem: read("ekuany.key") }),
      refused(/^CA certificate "CN=ekuany" has an extendedKeyUsage without serverAuth \(anyExtendedKeyUsage is not enough for OpenSSL-based clients\)/));
    assert.match(opensslLeafVerdict("ekuany"), /unsuitable certificate purpose/, "what a client says of its leaves");
  });

  it("accepts one with serverAuth (among others), and its leaves verify", async () => {
    for (const [name, eku] of [["ekuserver", "serverAuth,clientAuth"], ["ekuboth", "anyExtendedKeyUsage,serverAuth"]] as const) {
      root(name, `extendedKeyUsage=${eku}`);
      const ca = await loadCa({ certPem: read(`${name}.pem`), keyPem: read(`${name}.key`) });
      assert.equal(await leafVerdict(ca, name), "OK", name);
    }
  });

  it("refuses a chain certificate whose extendedKeyUsage lacks serverAuth", async () => {
    root("ekuroot");
    sub("ekumid", "ekuroot", ["extendedKeyUsage=clientAuth"]);
    sub("ekusub", "ekumid");
    await assert.rejects(loadCa({ certPem: read("ekusub.pem"), keyPem: read("ekusub.key"), chainPem: read("ekumid.pem") }),
      refused(/^CA chain certificate "1" "CN=ekumid" has an extendedKeyUsage without serverAuth/));
  });
});

describe("loadCa: ca.chain leads from the CA to its root", () => {
  root("root");
  root("unrelated");
  sub("mid", "root");
  sub("sub", "mid");
  sub("impostor", "root", [], "/CN=mid"); // mid's name, another key
  const load = (chainPem: string) => loadCa({ certPem: read("sub.pem"), keyPem: read("sub.key"), chainPem });

  it("accepts the issuer, then its issuer, and leaves verify with the chain it serves", async () => {
    assert.equal(await leafVerdict(await load(read("mid.pem")), "root"), "OK");
    assert.equal(await leafVerdict(await load(read("mid.pem") + read("root.pem")), "root"), "OK");
    // the certPem form: the CA first, its intermediates after it
    assert.equal(await leafVerdict(await loadCa({ certPem: read("sub.pem") + read("mid.pem"), keyPem: read("sub.key") }), "root"), "OK");
  });

  it("refuses a chain that does not issue the CA, naming what is wrong", async () => {
    await assert.rejects(load(read("unrelated.pem")),
      refused(/^CA chain certificate "1" \("CN=unrelated"\) is not the issuer of "CN=sub", which is "CN=mid": ca\.chain must hold/));
    await assert.rejects(load(read("root.pem")), refused(/^CA chain certificate "1" \("CN=root"\) is not the issuer of "CN=sub"/), "a skipped level");
    await assert.rejects(load(read("root.pem") + read("mid.pem")), refused(/"1" \("CN=root"\) is not the issuer/), "out of order");
    await assert.rejects(load(read("mid.pem") + read("root.pem") + read("unrelated.pem")), refused(/"3" \("CN=unrelated"\) is not the issuer of "CN=root"/), "an extra one");
    await assert.rejects(load(read("impostor.pem")), refused(/^CA chain certificate "1" \("CN=mid"\) has the name but not the key that signed "CN=sub"$/));
    await assert.rejects(load(read("sub.pem")), refused(/"1" \("CN=sub"\) is not the issuer of "CN=sub"/));
  });

  it("a self-signed CA may bring a cross-certificate of itself (same name and key) from another root", async () => {
    root("cross");
    openssl("req", "-new", "-key", "cross.key", "-out", "cross.csr", "-subj", "/CN=cross");
    writeFileSync(join(dir, "ca.ext"), CA_EXT.join("\n") + "\n");
    openssl("x509", "-req", "-in", "cross.csr", "-CA", "unrelated.pem", "-CAkey", "unrelated.key", "-set_serial", "7", "-out", "crossed.pem", "-days", "20", "-extfile", "ca.ext");
    const ca = await loadCa({ certPem: read("cross.pem"), keyPem: read("cross.key"), chainPem: read("crossed.pem") });
    assert.equal(await leafVerdict(ca, "unrelated"), "OK");
  });
});
