import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { CertificateStore, certificateNameError, mintPatternError, type ServedCertificate } from "../../src/reverse/cert-store.ts";

const cert = (source: string, names: string[]): ServedCertificate => ({ chainPem: `CHAIN ${source}`, keyPem: `KEY ${source}`, names, source, notAfter: new Date(0) });
const A = cert("a", ["a.example.test", "www.a.example.test"]);
const W = cert("wild", ["*.example.test"]);
const B = cert("b", ["b.example.test", "a.example.test"]);

function picked(store: CertificateStore, sni: string | undefined): string {
  const s = store.select(sni);
  return s.kind === "certificate" ? `${s.certificate.source}/${s.match}` : s.kind === "mint" ? `mint ${s.name}` : "refuse";
}

describe("reverse certificate selection by SNI", () => {
  const store = new CertificateStore([A, W, B], 2, "default", ["*.internal.test", "svc.corp.test"]);

  it("an exact name first (the first certificate naming it wins), then a one-label wildcard", () => {
    assert.equal(picked(store, "a.example.test"), "a/exact");
    assert.equal(picked(store, "www.a.example.test"), "a/exact");
    assert.equal(picked(store, "b.example.test"), "b/exact");
    assert.equal(picked(store, "shop.example.test"), "wild/wildcard");
    assert.equal(picked(store, "SHOP.Example.Test"), "wild/wildcard");
  });

  it("a wildcard covers exactly one label, as the certificate does", () => {
    assert.equal(picked(store, "x.y.example.test"), "b/default");
    assert.equal(picked(store, "example.test"), "b/default");
  });

  it("mints for names matching a mint pattern, when no configured certificate names them", () => {
    assert.equal(picked(store, "db.internal.test"), "mint db.internal.test");
    assert.equal(picked(store, "a.b.internal.test"), "mint a.b.internal.test");
    assert.equal(picked(store, "svc.corp.test"), "mint svc.corp.test");
    assert.equal(picked(store, "internal.test"), "b/default");
  });

  it("unknown names and a missing SNI get the default certificate, or a refusal", () => {
    assert.equal(picked(store, "nowhere.test"), "b/default");
    assert.equal(picked(store, undefined), "b/default");
    const strict = new CertificateStore([A], 0, "refuse");
    assert.equal(picked(strict, "a.example.test"), "a/exact");
    assert.equal(picked(strict, "nowhere.test"), "refuse");
    assert.equal(picked(strict, undefined), "refuse");
    const s = strict.select("nowhere.test");
    assert.match(s.kind === "refuse" ? s.reason : "", /No certificate for SNI "nowhere\.test"/);
    assert.equal(picked(new CertificateStore([], 0, "default", ["*.internal.test"]), "x.test"), "refuse");
  });

  it("validates names and patterns", () => {
    assert.equal(certificateNameError("*.example.test"), undefined);
    assert.equal(certificateNameError("192.0.2.1"), undefined);
    assert.match(certificateNameError(".example.test") ?? "", /expected a server name/);
    assert.match(certificateNameError("*") ?? "", /expected a server name/);
    assert.match(mintPatternError("10.0.0.0/8") ?? "", /expected a host name/);
    assert.throws(() => new CertificateStore([A], 3, "default"), RangeError);
  });
});
