import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { clientContext } from "../../../src/runtime/bun/tls-client-context.ts";
import { makeTestPki } from "../../e2e/support/certs.ts";
import type { TestPki } from "../../e2e/support/certs.ts";
import { runtimeName } from "../../helpers/runtime.ts";

describe("Bun client TLS contexts", { skip: runtimeName === "bun" ? undefined : "Bun's native contexts only" }, () => {
  let pki: TestPki;
  let caPem: string;
  before(() => {
    pki = makeTestPki();
    caPem = readFileSync(pki.caFile, "utf8");
  });

  it("makes a native context once per extra-CA list and minimum version", () => {
    const list = [caPem];
    const a = clientContext({ extraCaPem: list, minVersion: "TLSv1.2" });
    assert.equal(typeof a, "object", "this Bun hands out native contexts");
    assert.equal(clientContext({ extraCaPem: list, minVersion: "TLSv1.2" }), a);
    const v13 = clientContext({ extraCaPem: list, minVersion: "TLSv1.3" });
    assert.notEqual(v13, a);
    assert.equal(clientContext({ extraCaPem: list, minVersion: "TLSv1.3" }), v13);
    // another list (a reloaded config) gets its own, even with the same certificates
    assert.notEqual(clientContext({ extraCaPem: [caPem], minVersion: "TLSv1.2" }), a);
  });

  it("shares one context between no list and an empty one", () => {
    const none = clientContext({ minVersion: "TLSv1.2" });
    assert.equal(typeof none, "object");
    assert.equal(clientContext({ extraCaPem: [], minVersion: "TLSv1.2" }), none);
  });

  it("keeps a client certificate's context apart from the plain one", () => {
    const list = [caPem];
    const plain = clientContext({ extraCaPem: list, minVersion: "TLSv1.2" });
    const withCert = clientContext({ extraCaPem: list, minVersion: "TLSv1.2", clientCertPem: pki.certPem, clientKeyPem: pki.keyPem });
    assert.equal(typeof withCert, "object");
    assert.notEqual(withCert, plain);
    assert.equal(clientContext({ extraCaPem: list, minVersion: "TLSv1.2", clientCertPem: pki.certPem, clientKeyPem: pki.keyPem }), withCert);
    // a certificate without its key is no client certificate
    assert.equal(clientContext({ extraCaPem: list, minVersion: "TLSv1.2", clientCertPem: pki.certPem }), plain);
  });

  it("throws for a key that is not a key, and caches nothing for it", () => {
    const list = [caPem];
    const bad = { extraCaPem: list, minVersion: "TLSv1.2" as const, clientCertPem: pki.certPem, clientKeyPem: "not a key" };
    assert.throws(() => clientContext(bad));
    assert.throws(() => clientContext(bad));
  });

  it("keeps at most 16 contexts per list, dropping the oldest", () => {
    const list = [caPem];
    const first = clientContext({ extraCaPem: list, minVersion: "TLSv1.2" });
    // 16 more distinct client certificates: the same one, told apart by text after its PEM block
    for (let i = 0; i < 16; i++) {
      clientContext({ extraCaPem: list, minVersion: "TLSv1.2", clientCertPem: `${pki.certPem}\n# ${i}\n`, clientKeyPem: pki.keyPem });
    }
    assert.notEqual(clientContext({ extraCaPem: list, minVersion: "TLSv1.2" }), first, "the first was evicted and made anew");
  });
});
