import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/parse.ts";
import type { Config } from "../../src/config/config.ts";
import type { DialOptions } from "../../src/core/runtime.ts";
import { createLeafIssuer, generateCa, loadCa } from "../../src/pki/mod.ts";
import { type BuildDeps, buildReverse, type BuildFixed } from "../../src/reverse/generation.ts";
import { startReverse } from "../../src/reverse/service.ts";
import { keyPairError } from "../../src/runtime/node-tls/key-pair.ts";

/** A config with reverse listener "web" (certificate files a.pem / a.key), redirect "http", and `reverse`. */
function config(reverse: Record<string, unknown>, web: Record<string, unknown> = {}, more: Record<string, unknown>[] = []): Config {
  return parseConfig({
    listeners: [
      { name: "web", mode: "reverse", listen: "127.0.0.1:8443", tls: { certificates: [{ cert: "a.pem", key: "a.key" }] }, ...web },
      { name: "http", mode: "redirect-https", listen: "127.0.0.1:8080" },
      ...more,
    ],
    reverse,
  });
}

const ROUTES = [{ id: "all", hosts: ["*"], pool: "app" }];
const APP = { backends: ["http://127.0.0.1:9000"] };

/** Build dependencies reading `files`; dials are recorded and refused. */
function deps(files: Map<string, string>, dials: string[] = []): BuildDeps {
  return {
    runtime: {
      dial: (o: DialOptions) => {
        dials.push(`${o.address}:${o.port}`);
        return Promise.reject(new Error("connection refused (test)"));
      },
      tls: {
        accept: () => Promise.reject(new Error("no TLS in this test")),
        connect: () => Promise.reject(new Error("no TLS in this test")),
        keyPairError, // what both runtime adapters use
      },
    },
    resolver: { resolve: () => Promise.reject(new Error("no DNS in this test")) },
    readText: (path) => {
      const text = files.get(path);
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
      return text;
    },
    log: () => {},
    credentials: () => undefined,
  };
}

const FIXED: BuildFixed = { maxClientHelloBytes: 16384, maxClientHelloRecords: 16 };

/** The chain served for `sni` by listener "web" of a generation. */
function served(gen: ReturnType<typeof buildReverse>, sni: string): string {
  const s = gen.states.get("web")?.tls?.store.select(sni);
  assert.ok(s && s.kind === "certificate", `no certificate for ${sni}`);
  return s.certificate.chainPem;
}

describe("reverse generation: what a reload builds", () => {
  let first: { chainPem: string; keyPem: string };
  let renewed: { chainPem: string; keyPem: string };
  let other: { chainPem: string; keyPem: string };

  before(async () => {
    const issuer = createLeafIssuer(await loadCa(await generateCa({ commonName: "Generation test CA", validityDays: 1 })), { validityDays: 1 });
    first = await issuer.issue(["a.test"]);
    renewed = await issuer.issue(["a.test", "www.a.test"]);
    // another issuer, another leaf key (one issuer signs every leaf with the same key)
    other = await createLeafIssuer(await loadCa(await generateCa({ commonName: "Generation test CA 2", validityDays: 1 })), { validityDays: 1 }).issue(["b.test"]);
    assert.notEqual(other.keyPem, first.keyPem);
  });

  it("reads the certificate files again: a renewed certificate at the same path is served, with the names it now has", () => {
    const files = new Map([["a.pem", first.chainPem], ["a.key", first.keyPem]]);
    const c = config({ pools: { app: APP }, routes: ROUTES });
    const gen1 = buildReverse(c, deps(files), FIXED);
    assert.equal(served(gen1, "a.test"), first.chainPem);
    assert.equal(gen1.states.get("web")?.tls?.store.select("www.a.test").kind, "certificate"); // the default certificate
    files.set("a.pem", renewed.chainPem);
    files.set("a.key", renewed.keyPem);
    const gen2 = buildReverse(c, deps(files), FIXED, gen1);
    assert.equal(served(gen2, "a.test"), renewed.chainPem);
    const www = gen2.states.get("web")?.tls?.store.select("www.a.test");
    assert.ok(www?.kind === "certificate" && www.match === "exact");
    assert.equal(served(gen1, "a.test"), first.chainPem, "the generation in force is not touched");
  });

  it("refuses, naming the setting and the file, when a certificate file is missing, empty or has no key", () => {
    const c = config({ pools: { app: APP }, routes: ROUTES });
    const files = new Map([["a.pem", first.chainPem]]);
    assert.throws(() => buildReverse(c, deps(files), FIXED), /cannot read listeners "web" tls\.certificates\[0\]\.key "a\.key": ENOENT/);
    files.set("a.key", first.chainPem);
    assert.throws(() => buildReverse(c, deps(files), FIXED), /listeners "web" tls\.certificates\[0\]\.key "a\.key" holds no PEM private key/);
    files.set("a.key", first.keyPem);
    files.set("a.pem", "");
    assert.throws(() => buildReverse(c, deps(files), FIXED), /tls\.certificates\[0\]\.cert "a\.pem" holds no PEM certificate/);
  });

  it("refuses a key that is not the certificate's (a renewal written half way), for served and client certificates", () => {
    const c = config({ pools: { app: APP }, routes: ROUTES });
    const files = new Map([["a.pem", renewed.chainPem], ["a.key", other.keyPem]]);
    assert.throws(
      () => buildReverse(c, deps(files), FIXED),
      /listeners "web" tls\.certificates\[0\]\.key "a\.key" does not go with listeners "web" tls\.certificates\[0\]\.cert "a\.pem": the private key does not belong to the certificate/,
    );
    files.set("a.key", renewed.keyPem);
    files.set("client.pem", other.chainPem);
    files.set("client.key", first.keyPem);
    const mtls = config({ pools: { app: { backends: ["https://127.0.0.1:9443"], tls: { clientCert: "client.pem", clientKey: "client.key" } } }, routes: ROUTES });
    assert.throws(() => buildReverse(mtls, deps(files), FIXED), /reverse\.pools\.app\.tls\.clientKey "client\.key" does not go with reverse\.pools\.app\.tls\.clientCert "client\.pem"/);
    files.set("client.key", other.keyPem);
    assert.equal(buildReverse(mtls, deps(files), FIXED).pools.get("app")?.runtime.tls?.clientKeyPem, other.keyPem);
  });

  it("reads the error page template at every build (an edited page shows after a reload); a missing file or unknown placeholder is named", () => {
    const files = new Map([["a.pem", first.chainPem], ["a.key", first.keyPem], ["errors.html", "<h1>{{status}} v1</h1>"]]);
    const c = config({ pools: { app: APP }, routes: ROUTES, errorPages: { template: "errors.html" } });
    const page = (gen: ReturnType<typeof buildReverse>) => {
      const bytes = gen.states.get("web")?.errorPages.answer({ status: 404, message: "No route", client: "192.0.2.1", requestId: "r1", method: "GET", accept: "text/html", host: "a.test", url: "https://a.test/" });
      return new TextDecoder().decode(bytes).split("\r\n\r\n")[1];
    };
    const gen1 = buildReverse(c, deps(files), FIXED);
    assert.equal(page(gen1), "<h1>404 v1</h1>");
    files.set("errors.html", "<h1>{{status}} v2</h1>");
    assert.equal(page(buildReverse(c, deps(files), FIXED, gen1)), "<h1>404 v2</h1>");
    files.set("errors.html", "<p>{{reason}}</p>");
    assert.throws(() => buildReverse(c, deps(files), FIXED, gen1), /^Error: reverse\.errorPages\.template "errors\.html": unknown placeholder \{\{reason\}\} at line 1; known: \{\{status\}\}/);
    files.delete("errors.html");
    assert.throws(() => buildReverse(c, deps(files), FIXED, gen1), /cannot read reverse\.errorPages\.template "errors\.html": ENOENT/);
  });

  it("carries over a pool whose settings and files are unchanged (its health and ejections with it); a changed one is new", () => {
    const files = new Map([["a.pem", first.chainPem], ["a.key", first.keyPem], ["ca.pem", other.chainPem]]);
    const secure = { backends: ["https://127.0.0.1:9443"], tls: { caFile: "ca.pem" } };
    const c1 = config({ pools: { app: APP, secure, gone: APP }, routes: ROUTES });
    const gen1 = buildReverse(c1, deps(files), FIXED);
    const c2 = config({ pools: { app: APP, secure, added: APP }, routes: [...ROUTES, { id: "x", hosts: ["x.test"], pool: "added" }] });
    const gen2 = buildReverse(c2, deps(files), FIXED, gen1);
    assert.equal(gen2.pools.get("app"), gen1.pools.get("app"));
    assert.equal(gen2.pools.get("secure"), gen1.pools.get("secure"));
    assert.ok(gen2.pools.has("added") && !gen2.pools.has("gone"));
    assert.notEqual(gen2.states.get("web")?.routes, gen1.states.get("web")?.routes);
    assert.equal(gen2.states.get("web")?.pools.get("app"), gen1.pools.get("app")?.runtime);
    // the same settings, but the CA file's contents changed: a new pool trusting the new CA
    files.set("ca.pem", first.chainPem);
    const gen3 = buildReverse(c2, deps(files), FIXED, gen2);
    assert.notEqual(gen3.pools.get("secure"), gen2.pools.get("secure"));
    assert.deepEqual(gen3.pools.get("secure")?.runtime.tls?.extraCaPem, [first.chainPem]);
    // new backends: a new pool
    const c4 = config({ pools: { app: { backends: ["http://127.0.0.1:9001"] }, secure, added: APP }, routes: ROUTES });
    assert.notEqual(buildReverse(c4, deps(files), FIXED, gen3).pools.get("app"), gen3.pools.get("app"));
  });

  it("a reload puts passthrough routes in force, and a pool whose proxyProtocol changed is a new one", () => {
    const files = new Map([["a.pem", first.chainPem], ["a.key", first.keyPem]]);
    const git = { backends: ["https://127.0.0.1:9443"] };
    const gen1 = buildReverse(config({ pools: { app: APP, git }, routes: ROUTES }), deps(files), FIXED);
    assert.equal(gen1.states.get("web")?.passthrough?.match("git.test", "web"), undefined);
    assert.equal(gen1.pools.get("git")?.runtime.proxyProtocol, undefined);
    const c2 = config({ pools: { app: APP, git: { ...git, proxyProtocol: "v2" } }, routes: ROUTES, passthrough: [{ id: "git", hosts: ["git.test"], pool: "git" }] });
    const gen2 = buildReverse(c2, deps(files), FIXED, gen1);
    assert.equal(gen2.states.get("web")?.passthrough?.match("git.test", "web")?.id, "git");
    assert.notEqual(gen2.pools.get("git"), gen1.pools.get("git"));
    assert.equal(gen2.pools.get("git")?.runtime.proxyProtocol, "v2");
    assert.equal(gen2.pools.get("app"), gen1.pools.get("app"));
  });

  it("keeps a route's rate limiter (and its buckets) over a reload while its settings stay", () => {
    const files = new Map([["a.pem", first.chainPem], ["a.key", first.keyPem]]);
    const limited = (rateLimit: Record<string, unknown>) => config({ pools: { app: APP }, routes: [{ id: "api", hosts: ["*"], pool: "app", rateLimit }] });
    const c1 = limited({ requestsPerSecond: 0.001, burst: 1 });
    const gen1 = buildReverse(c1, deps(files), FIXED);
    const limiter = gen1.states.get("web")?.limiters.get("api")?.limiter;
    assert.equal(limiter?.take("192.0.2.7").ok, true);
    const gen2 = buildReverse(c1, deps(files), FIXED, gen1);
    assert.equal(gen2.states.get("web")?.limiters.get("api")?.limiter, limiter);
    assert.equal(limiter?.take("192.0.2.7").ok, false, "the bucket emptied before the reload stays empty");
    const c3 = limited({ requestsPerSecond: 0.001, burst: 5 });
    const gen3 = buildReverse(c3, deps(files), FIXED, gen2);
    assert.notEqual(gen3.states.get("web")?.limiters.get("api")?.limiter, limiter);
    assert.equal(gen3.states.get("web")?.limiters.get("api")?.limiter.limit.burst, 5);
  });

  it("builds states for the config's listeners: a dropped one has none, an added one serves its certificates", () => {
    const files = new Map([["a.pem", first.chainPem], ["a.key", first.keyPem], ["b.pem", other.chainPem], ["b.key", other.keyPem]]);
    const started = config({ pools: { app: APP }, routes: ROUTES });
    const gen1 = buildReverse(started, deps(files), FIXED);
    const next = parseConfig({
      listeners: [
        { name: "new", mode: "reverse", listen: "127.0.0.1:9443", tls: { certificates: [{ cert: "b.pem", key: "b.key" }] } },
        { name: "http", mode: "redirect-https", listen: "127.0.0.1:8080", httpsPort: 8443 },
      ],
      reverse: { pools: { app: APP }, routes: ROUTES },
    });
    files.delete("a.pem"); // not read again: "web" is not in the new config
    const gen2 = buildReverse(next, deps(files), FIXED, gen1);
    assert.deepEqual([...gen2.states.keys()], ["new"]);
    const s = gen2.states.get("new")?.tls?.store.select("b.test");
    assert.ok(s?.kind === "certificate");
    assert.equal(s.certificate.chainPem, other.chainPem);
    assert.equal(gen1.redirects.get("http"), 443);
    assert.equal(gen2.redirects.get("http"), 8443);
  });
});

describe("reverse service: putting a generation in force", () => {
  /** Dials to `address` so far. */
  const count = (dials: string[], address: string) => dials.filter((d) => d === address).length;
  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const check = { path: "/healthz", intervalMs: 100, timeoutMs: 100 };

  it("prepare changes nothing; the commit stops the checks of pools it drops and starts those of new ones", async () => {
    const files = new Map<string, string>();
    const plain = (reverse: Record<string, unknown>) => config(reverse, { tls: false });
    const dials: string[] = [];
    const c1 = plain({ pools: { kept: { backends: ["http://127.0.0.1:9001"], healthCheck: check }, dropped: { backends: ["http://127.0.0.1:9002"], healthCheck: check } }, routes: ROUTES.map((r) => ({ ...r, pool: "kept" })) });
    const service = startReverse(c1, deps(files, dials));
    try {
      await wait(100);
      assert.ok(count(dials, "127.0.0.1:9001") > 0 && count(dials, "127.0.0.1:9002") > 0, dials.join(" "));
      const c2 = plain({ pools: { kept: { backends: ["http://127.0.0.1:9001"], healthCheck: check }, added: { backends: ["http://127.0.0.1:9003"], healthCheck: check } }, routes: ROUTES.map((r) => ({ ...r, pool: "kept" })) });
      const commit = service.prepare(c2);
      await wait(250);
      assert.equal(count(dials, "127.0.0.1:9003"), 0, "a prepared generation checks nothing");
      assert.throws(() => service.prepare(plain({ pools: { x: { backends: ["https://127.0.0.1:1"], tls: { caFile: "missing.pem" } } }, routes: [] })), /cannot read reverse\.pools\.x\.tls\.caFile "missing\.pem"/);
      commit();
      assert.throws(() => commit(), /Another reverse generation/);
      await wait(50); // a probe of the dropped pool already in flight may still land
      const droppedAfter = count(dials, "127.0.0.1:9002");
      const keptAfter = count(dials, "127.0.0.1:9001");
      await wait(350);
      assert.equal(count(dials, "127.0.0.1:9002"), droppedAfter, "the dropped pool is no longer checked");
      assert.ok(count(dials, "127.0.0.1:9003") > 0, "the new pool is checked");
      assert.ok(count(dials, "127.0.0.1:9001") > keptAfter, "the carried-over pool is still checked");
    } finally {
      service.close();
    }
    const total = dials.length;
    await wait(250);
    assert.equal(dials.length, total, "close() stops every check");
  });
});
