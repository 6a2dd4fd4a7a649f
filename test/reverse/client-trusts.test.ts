import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/parse.ts";
import { generateCa } from "../../src/pki/ca_generate.ts";
import { clientTrustExpiry, loadClientTrusts } from "../../src/reverse/client-trusts.ts";

const certificates = [{ cert: "proxy.pem", key: "proxy.key" }];
const config = (clientCertificates: Record<string, unknown>) =>
  parseConfig({
    listeners: [
      { name: "secure", mode: "explicit", listen: "127.0.0.1:3129", tls: { certificates, clientCertificates } },
      { name: "plain", mode: "explicit", listen: "127.0.0.1:3128" },
    ],
  });

describe("loadClientTrusts", () => {
  it("loads each HTTPS proxy listener's CA file, keeps it while files and settings stay, and shows when its CA expires", async () => {
    const ca = await generateCa({ commonName: "Corp Client CA", validityDays: 30 });
    const files: Record<string, string> = { "clients-ca.pem": ca.certPem };
    const read = (path: string) => {
      const text = files[path];
      if (text === undefined) throw Object.assign(new Error("no such file"), { code: "ENOENT" });
      return text;
    };
    const c = config({ caFile: "clients-ca.pem" });
    const first = await loadClientTrusts(c, read);
    assert.deepEqual([...first.keys()], ["secure"]);
    const loaded = first.get("secure")!;
    assert.equal(loaded.policy.required, true);
    assert.equal(loaded.policy.user, "cn");
    assert.equal(loaded.policy.trust.caPem.length, 1);
    const { cas, crls } = clientTrustExpiry(c, first);
    assert.deepEqual(cas, [{ use: "client-ca", listener: "secure", file: "clients-ca.pem", notAfter: loaded.caNotAfter }]);
    assert.deepEqual(crls, []);
    assert.ok(loaded.caNotAfter && loaded.caNotAfter.getTime() > Date.now() + 29 * 86_400_000);
    // the same files and settings: the same trust (with its verdicts); another setting or file: a new one
    assert.equal((await loadClientTrusts(c, read, first)).get("secure"), loaded);
    assert.notEqual((await loadClientTrusts(config({ caFile: "clients-ca.pem", user: "email" }), read, first)).get("secure"), loaded);
    files["clients-ca.pem"] = (await generateCa({ commonName: "Corp Client CA 2" })).certPem;
    assert.notEqual((await loadClientTrusts(c, read, first)).get("secure"), loaded);
  });

  it("loads a reverse listener's too, with forwardCertificate in the policy (a change of it is a new one)", async () => {
    const ca = await generateCa({ commonName: "App Client CA", validityDays: 30 });
    const web = (forwardCertificate: boolean) =>
      parseConfig({
        listeners: [{ name: "web", mode: "reverse", listen: "127.0.0.1:8443", tls: { certificates, clientCertificates: { caFile: "ca.pem", forwardCertificate } } }],
        reverse: { pools: { p: { backends: ["http://127.0.0.1:8080"] } }, routes: [{ id: "r", hosts: ["*"], pool: "p" }] },
      });
    const first = await loadClientTrusts(web(false), () => ca.certPem);
    assert.equal(first.get("web")?.policy.forwardCertificate, false);
    const next = await loadClientTrusts(web(true), () => ca.certPem, first);
    assert.equal(next.get("web")?.policy.forwardCertificate, true);
    assert.deepEqual(clientTrustExpiry(web(true), next).cas.map((e) => [e.use, e.listener, e.file]), [["client-ca", "web", "ca.pem"]]);
  });

  it("names the listener, the setting and the file of a problem", async () => {
    await assert.rejects(loadClientTrusts(config({ caFile: "missing.pem" }), () => {
      throw Object.assign(new Error("no such file"), { code: "ENOENT" });
    }), { message: 'cannot read listeners "secure" tls.clientCertificates.caFile "missing.pem": ENOENT' });
    await assert.rejects(
      loadClientTrusts(config({ caFile: "ca.pem" }), () => "not a PEM file"),
      (e: Error) => e.message.startsWith('listeners "secure" tls.clientCertificates: '),
    );
  });

  it("with onError: reports the problem and gives the listener a trust that refuses everyone", async () => {
    const problems: string[] = [];
    const out = await loadClientTrusts(config({ caFile: "ca.pem", required: false }), () => "not a PEM file", undefined, (e) => problems.push(e.message));
    assert.equal(problems.length, 1);
    const policy = out.get("secure")!.policy;
    assert.equal(policy.required, true);
    const verdict = await policy.trust.verify([new Uint8Array([1])]);
    assert.equal(verdict.ok, false);
    assert.equal(verdict.ok ? "" : verdict.reason, problems[0]);
  });
});
