import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { rootCertificates } from "node:tls";
import { makeTestPki, type TestPki } from "../../e2e/support/certs.ts";
import { runtimeName } from "../../helpers/runtime.ts";

const child = new URL("./support/default-trust-child.ts", import.meta.url).pathname;
const deno = new URL("../../../node_modules/.bin/deno", import.meta.url).pathname;

/** Runs one scenario in a fresh Deno process (the default store is built once per process). */
function scenario(name: "fresh" | "late", pki: TestPki, other: TestPki): Record<string, unknown> {
  const out = execFileSync(deno, ["run", "-A", child, name, pki.dir, other.dir], { encoding: "utf8", timeout: 60_000 });
  return JSON.parse(out.trim().split("\n").at(-1)!) as Record<string, unknown>;
}

describe("Deno upstream trust: configured CAs in the default store (default-trust.ts)", { skip: runtimeName === "deno" ? undefined : "Deno's node:tls only", timeout: 120_000 }, () => {
  let pki: TestPki;
  let other: TestPki;
  const bundles = () => readdirSync(tmpdir()).filter((f) => f.startsWith("tollgate-trust-"));
  let bundlesBefore: string[];

  before(() => {
    pki = makeTestPki(["origin.test"]);
    other = makeTestPki(["origin.test"]);
    bundlesBefore = bundles();
  });
  after(() => {
    rmSync(pki.dir, { recursive: true, force: true });
    rmSync(other.dir, { recursive: true, force: true });
  });

  it("prepared before first use: the configured CA verifies without a per-connection list; others still do not", () => {
    const r = scenario("fresh", pki, other);
    assert.equal(r["state"], "prepared");
    assert.equal(r["caForExtra"], "default store", "a covered set connects without ca");
    assert.equal(r["extraVerifies"], null, "a chain to the configured CA verifies against the default store");
    assert.match(String(r["otherWithDefaultStore"]), /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UnknownIssuer|unable/i, "an unconfigured CA is not trusted");
    assert.equal(r["caForOther"], rootCertificates.length + 1, "an uncovered set gets the roots plus itself");
    assert.equal(r["otherWithItsCa"], null, "…and verifies with them");
    assert.equal(r["caForNone"], rootCertificates.length, "no extra CA: the roots alone, not the store that holds the prepared CA");
    assert.match(String(r["extraWithNone"]), /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UnknownIssuer|unable/i, "…so a connection given no extra CA does not trust it");
    assert.equal(r["caForReformatted"], "default store", "the same certificate in another PEM layout is covered");
    assert.equal(r["caForExtraAndOther"], rootCertificates.length + 2, "a set only partly covered gets the full list");
    assert.equal(r["envRestored"], true, "NODE_EXTRA_CA_CERTS is put back");
    assert.deepEqual(bundles(), bundlesBefore, "the temporary bundle is removed");
  });

  it("Deno's own TLS sees the prepared CA too, so it is used only where the store holds no CA the connection was not given", () => {
    const r = scenario("fresh", pki, other);
    assert.equal(r["nativeExtraWithNone"], null, "Deno.startTls trusts the prepared CA with no caCerts: the store is shared");
    assert.equal(r["nativeOtherWithItsCa"], null, "caCerts add to the store");
    assert.equal(r["withinBefore"], true, "nothing offered to the store yet");
    assert.equal(r["withinExtra"], true);
    assert.equal(r["withinExtraAndOther"], true, "more CAs than the store holds: caCerts add them");
    assert.equal(r["withinNone"], false, "a set without the prepared CA (a reload dropped it) goes to node:tls");
    assert.equal(r["withinOther"], false);
    assert.equal(r["withinAnotherTrust"], false, "the store is the process's, not one DefaultTrust's");
  });

  it("a store already built without them: prepare says so and every set falls back to the full list", () => {
    const r = scenario("late", pki, other);
    assert.notEqual(r["early"], null, "the early handshake did not trust the CA");
    assert.equal(r["state"], "unavailable");
    assert.equal(r["caForExtra"], rootCertificates.length + 1);
    assert.equal(r["extraVerifies"], null, "still verified, with the full list");
    assert.equal(r["envRestored"], true);
  });
});
