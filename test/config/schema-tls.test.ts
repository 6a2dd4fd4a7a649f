import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/parse.ts";
import { configProblems as problems } from "../helpers/config-problems.ts";

describe("config: ca", () => {
  it("is absent by default and keeps the paths as written", () => {
    assert.equal(parseConfig({}).ca, undefined);
    assert.deepEqual(parseConfig({ ca: { cert: "ca/ca.pem", key: "/etc/tollgate/ca.key" } }).ca, {
      cert: "ca/ca.pem",
      key: "/etc/tollgate/ca.key",
    });
    const withChain = parseConfig({ ca: { cert: "a.pem", key: "a.key", chain: "chain.pem" } });
    assert.deepEqual(withChain.ca, { cert: "a.pem", key: "a.key", chain: "chain.pem" });
    assert.ok(Object.isFrozen(withChain.ca));
  });

  it("reports missing, empty, mistyped and unknown fields", () => {
    assert.deepEqual(problems({ ca: { cert: "a.pem" } }), ["ca.key: required key is missing"]);
    assert.deepEqual(problems({ ca: { cert: "", key: "a.key" } }), ["ca.cert: expected a file path, got an empty string"]);
    assert.deepEqual(problems({ ca: { cert: "a.pem", key: 1 } }), ["ca.key: expected a file path, got 1"]);
    assert.deepEqual(problems({ ca: { cert: "a.pem", key: "a.key", chian: "c.pem" } }), ['ca.chian: unknown key (did you mean "chain"?)']);
    assert.deepEqual(problems({ ca: "ca.pem" }), ['ca: expected an object, got "ca.pem"']);
  });

  it("refuses the same file for the certificate and the key", () => {
    assert.deepEqual(problems({ ca: { cert: "ca.pem", key: "ca.pem" } }), [
      'ca.key: expected a file other than "cert" (the key belongs in its own PKCS#8 file), got "ca.pem"',
    ]);
  });
});

describe("config: interception", () => {
  it("has defaults", () => {
    assert.deepEqual(parseConfig({ interception: {} }).interception, {
      leafValidityDays: 7,
      mirrorUpstreamSans: false,
      upstreamCaFiles: [],
      minTlsVersion: { client: "TLSv1.2", upstream: "TLSv1.2" },
      leafCacheSize: 10000,
      upstreamPool: { maxIdle: 256, maxIdlePerHost: 32, idleTimeoutMs: 4000 },
    });
  });

  it("keeps explicit values, deeply frozen", () => {
    const { interception } = parseConfig({
      interception: {
        leafValidityDays: 30,
        mirrorUpstreamSans: true,
        upstreamCaFiles: ["/etc/corp-root.pem", "lab.pem"],
        minTlsVersion: { client: "TLSv1.3" },
        leafCacheSize: 1,
        upstreamPool: { maxIdle: 0 },
      },
    });
    assert.deepEqual(interception, {
      leafValidityDays: 30,
      mirrorUpstreamSans: true,
      upstreamCaFiles: ["/etc/corp-root.pem", "lab.pem"],
      minTlsVersion: { client: "TLSv1.3", upstream: "TLSv1.2" },
      leafCacheSize: 1,
      upstreamPool: { maxIdle: 0, maxIdlePerHost: 32, idleTimeoutMs: 4000 },
    });
    assert.ok(Object.isFrozen(interception.upstreamCaFiles));
    assert.ok(Object.isFrozen(interception.minTlsVersion));
  });

  it("reports bad values at their path", () => {
    assert.deepEqual(problems({ interception: { leafValidityDays: 0 } }), ["interception.leafValidityDays: expected an integer 1-30, got 0"]);
    assert.deepEqual(problems({ interception: { leafValidityDays: 31 } }), ["interception.leafValidityDays: expected an integer 1-30, got 31"]);
    assert.deepEqual(problems({ interception: { leafValidityDays: 1.5 } }), ["interception.leafValidityDays: expected an integer 1-30, got 1.5"]);
    assert.deepEqual(problems({ interception: { mirrorUpstreamSans: "yes" } }), ['interception.mirrorUpstreamSans: expected true or false, got "yes"']);
    assert.deepEqual(problems({ interception: { upstreamCaFiles: "a.pem" } }), ['interception.upstreamCaFiles: expected an array of file paths, got "a.pem"']);
    assert.deepEqual(problems({ interception: { upstreamCaFiles: ["a.pem", ""] } }), [
      "interception.upstreamCaFiles[1]: expected a file path, got an empty string",
    ]);
    assert.deepEqual(problems({ interception: { minTlsVersion: { client: "TLSv1.1", upstream: "tls1.3" } } }), [
      'interception.minTlsVersion.client: expected "TLSv1.2" or "TLSv1.3", got "TLSv1.1"',
      'interception.minTlsVersion.upstream: expected "TLSv1.2" or "TLSv1.3", got "tls1.3"',
    ]);
    assert.deepEqual(problems({ interception: { leafCacheSize: 0 } }), ["interception.leafCacheSize: expected an integer 1-1000000, got 0"]);
    assert.deepEqual(problems({ interception: { upstreamPool: { maxIdlePerHost: 0, idleTimeoutMs: 50 } } }), [
      "interception.upstreamPool.maxIdlePerHost: expected an integer 1-1000, got 0",
      "interception.upstreamPool.idleTimeoutMs: expected an integer 100-600000, got 50",
    ]);
    assert.deepEqual(problems({ interception: { leafCacheSise: 5 } }), ['interception.leafCacheSise: unknown key (did you mean "leafCacheSize"?)']);
  });
});
