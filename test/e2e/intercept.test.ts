import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer as createTlsServer, type Server as TlsServer } from "node:tls";
import { makeTestPki, type TestPki } from "./support/certs.ts";
import { curl } from "./support/curl.ts";
import { cliCommand, type GatewayProcess, startGateway } from "./support/gateway.ts";
import { type Origin, patternBlock, startOrigin } from "./support/origin.ts";
import { run } from "./support/run.ts";

const support = new URL("./support/", import.meta.url).pathname;

function expectedSha(size: number): string {
  const block = patternBlock();
  const h = createHash("sha256");
  for (let done = 0; done < size; done += block.length) h.update(block.subarray(0, Math.min(block.length, size - done)));
  return h.digest("hex");
}


describe("TLS interception end to end (real curl)", { timeout: 240_000 }, () => {
  let work: string;
  let originPki: TestPki;
  let untrustedPki: TestPki;
  let origin: Origin;
  let untrusted: Origin;
  let wsOrigin: ChildProcess;
  let wsPort: number;
  let gw: GatewayProcess;
  let gwCa: string;
  /** A TLS origin that speaks only h2 (ALPN), as a gRPC server does: it answers and closes. */
  let h2Origin: TlsServer;
  let h2Port: number;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "tollgate-intercept-"));
    // the gateway CA, made by the gateway's own CLI on the runtime under test
    const [cmd, ...args] = cliCommand();
    const out = execFileSync(cmd!, [...args, "ca", "init", "--out", join(work, "ca")], { encoding: "utf8" });
    assert.match(out, /SHA-256/i);
    assert.doesNotMatch(out, /PRIVATE KEY/);
    gwCa = join(work, "ca", "ca.pem");
    assert.equal(statSync(join(work, "ca", "ca.key")).mode & 0o777, 0o600);
    originPki = makeTestPki(["origin.test", "grpc.test"]);
    untrustedPki = makeTestPki(["untrusted.test", "insecure.test"]);
    origin = await startOrigin({ certPem: originPki.certPem, keyPem: originPki.keyPem });
    untrusted = await startOrigin({ certPem: untrustedPki.certPem, keyPem: untrustedPki.keyPem });
    h2Origin = createTlsServer({ cert: originPki.certPem, key: originPki.keyPem, ALPNProtocols: ["h2"] }, (s) => {
      s.on("error", () => {});
      s.end("h2 origin\n");
    });
    h2Port = await new Promise<number>((resolve) => h2Origin.listen(0, "127.0.0.1", () => resolve((h2Origin.address() as { port: number }).port)));
    wsOrigin = spawn("node", [join(support, "ws-origin.mjs"), join(originPki.dir, "server.pem"), join(originPki.dir, "server.key")], { stdio: ["ignore", "pipe", "inherit"] });
    wsPort = await new Promise<number>((resolve, reject) => {
      wsOrigin.stdout!.once("data", (d) => resolve(Number(String(d).trim())));
      wsOrigin.once("exit", (c) => reject(new Error(`ws origin exited ${c}`)));
    });
    gw = await startGateway({
      listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:0" }],
      ca: { cert: join(work, "ca", "ca.pem"), key: join(work, "ca", "ca.key") },
      interception: { upstreamCaFiles: [originPki.caFile] },
      admin: { listen: "127.0.0.1:0", token: "intercept-test-admin-token" },
      policy: {
        defaultAction: "deny",
        rules: [
          { id: "insecure-opt-in", hosts: ["insecure.test"], action: "allow", decryption: "decrypt", upstreamTls: "insecure" },
          { id: "inspect", hosts: ["origin.test", "untrusted.test", "wrongname.test"], action: "allow", decryption: "decrypt" },
          { id: "grpc", hosts: ["grpc.test"], action: "allow", decryption: "decrypt", uninspectable: "tunnel" },
        ],
        urlRules: [
          { id: "no-admin", hosts: ["origin.test"], paths: ["/admin"], action: "deny" },
          // a SaaS tenant restriction, as for Microsoft 365's login endpoints
          {
            id: "tenants",
            hosts: ["origin.test"],
            paths: ["/echo"],
            action: "allow",
            requestHeaders: { set: { "Restrict-Access-To-Tenants": "contoso.com" }, remove: ["X-Internal"] },
          },
        ],
      },
      addressGuard: { allow: ["127.0.0.0/8"] }, // the test origins are on loopback
      dns: {
        hosts: {
          "origin.test": ["127.0.0.1"],
          "untrusted.test": ["127.0.0.1"],
          "wrongname.test": ["127.0.0.1"],
          "insecure.test": ["127.0.0.1"],
          "grpc.test": ["127.0.0.1"],
        },
      },
    });
  });

  after(async () => {
    const graceful = await gw?.stop();
    await origin?.close();
    await untrusted?.close();
    await new Promise((resolve) => (h2Origin ? h2Origin.close(resolve) : resolve(undefined)));
    wsOrigin?.kill("SIGTERM");
    if (work) rmSync(work, { recursive: true, force: true });
    assert.equal(graceful, true);
  });

  const proxy = () => ["-x", `http://127.0.0.1:${gw.port}`];

  it("decrypts: curl trusting the gateway CA gets the origin's body, served with a minted certificate", async () => {
    const r = await curl([...proxy(), "-v", "--cacert", gwCa, `https://origin.test:${origin.port}/hello`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "hello from origin");
    assert.match(r.stderr, /issuer: CN=Tollgate Interception CA/);
    assert.match(r.stderr, /subject: CN=origin\.test/);
    const f = await gw.waitForFlow((f) => f.type === "flow" && f.host === "origin.test" && f.decryption === "decrypt" && f.requests === 1);
    assert.equal(f.rule, "inspect");
    const q = await gw.waitForFlow((f) => f.type === "request" && f.url === `https://origin.test:${origin.port}/hello`);
    assert.equal(q.status, 200);
    assert.equal(q.method, "GET");
    assert.equal(q.decision, "allow");
    assert.match(String(q.userAgent), /^curl\/\d/, "the decrypted request's User-Agent");
  });

  it("a url rule's requestHeaders: the origin gets the gateway's value, never the client's, and not the removed field", async () => {
    const r = await curl([
      ...proxy(), "--cacert", gwCa,
      "-H", "Restrict-Access-To-Tenants: evil.example", "-H", "X-Internal: 1", "-H", "X-Kept: yes",
      `https://origin.test:${origin.port}/echo`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const seen = (JSON.parse(r.stdout) as { headers: Record<string, string> }).headers;
    assert.equal(seen["restrict-access-to-tenants"], "contoso.com");
    assert.equal(seen["x-internal"], undefined);
    assert.equal(seen["x-kept"], "yes");
    const q = await gw.waitForFlow((f) => f.type === "request" && f.url === `https://origin.test:${origin.port}/echo`);
    assert.equal(q.rule, "tenants");
  });

  it("proves interception: without the gateway CA, curl refuses the minted certificate", async () => {
    const r = await curl([...proxy(), "--cacert", originPki.caFile, `https://origin.test:${origin.port}/hello`]);
    assert.equal(r.code, 60, r.stderr);
  });

  it("URL rules block one path and allow others on the same host", async () => {
    const blocked = await curl([...proxy(), "-i", "--suppress-connect-headers", "--cacert", gwCa, `https://origin.test:${origin.port}/admin/users`]);
    assert.equal(blocked.code, 0, blocked.stderr);
    assert.match(blocked.stdout, /^HTTP\/1\.1 403 /);
    assert.match(blocked.stdout, /url rule "no-admin"/);
    const notPrefix = await curl([...proxy(), "-i", "--suppress-connect-headers", "--cacert", gwCa, `https://origin.test:${origin.port}/administrator`]);
    assert.match(notPrefix.stdout, /^HTTP\/1\.1 404 /); // the origin's answer: not blocked
    const q = await gw.waitForFlow((f) => f.type === "request" && f.status === 403);
    assert.equal(q.rule, "no-admin");
  });

  it("refuses domain fronting: a Host other than the CONNECT host gets 421", async () => {
    const r = await curl([...proxy(), "-i", "--suppress-connect-headers", "--cacert", gwCa, "-H", "Host: other.test", `https://origin.test:${origin.port}/hello`]);
    assert.match(r.stdout, /^HTTP\/1\.1 421 /);
  });

  it("an upstream with an untrusted certificate: 502 naming the problem, no certificate minted", async () => {
    const r = await curl([...proxy(), "-v", "--cacert", gwCa, `https://untrusted.test:${untrusted.port}/hello`]);
    assert.equal(r.code, 56, r.stderr);
    assert.match(r.stderr, /CONNECT tunnel failed, response 502/);
    assert.doesNotMatch(r.stderr, /issuer: CN=Tollgate/); // no TLS with the client happened at all
    const f = await gw.waitForFlow((f) => f.type === "flow" && f.host === "untrusted.test");
    assert.equal(f.status, 502);
    assert.match(String(f.error), /certificate/i);
  });

  it("an upstream whose certificate names another host: 502, logged", async () => {
    const r = await curl([...proxy(), "--cacert", gwCa, `https://wrongname.test:${origin.port}/hello`]);
    assert.equal(r.code, 56, r.stderr);
    const f = await gw.waitForFlow((f) => f.type === "flow" && f.host === "wrongname.test");
    assert.equal(f.status, 502);
    assert.ok(f.error);
  });

  it("a rule may explicitly opt out of upstream validation (upstreamTls: insecure)", async () => {
    const r = await curl([...proxy(), "--cacert", gwCa, `https://insecure.test:${untrusted.port}/hello`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "hello from origin");
  });

  it("keeps the decrypted connection alive across requests", async () => {
    const url = `https://origin.test:${origin.port}/hello`;
    const r = await curl([...proxy(), "--cacert", gwCa, "-w", " connects=%{num_connects}\\n", url, url, url]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual([...r.stdout.matchAll(/connects=(\d+)/g)].map((m) => Number(m[1])), [1, 0, 0]);
  });

  it("a 256 MiB download through the decrypted path arrives byte-identical (SHA-256)", async () => {
    const size = 256 * 1024 * 1024 + 321;
    const out = join(work, "big.bin");
    const r = await curl([...proxy(), "--cacert", gwCa, "-o", out, `https://origin.test:${origin.port}/bytes?size=${size}`], 180_000);
    assert.equal(r.code, 0, r.stderr);
    const got = readFileSync(out);
    assert.equal(got.byteLength, size);
    assert.equal(createHash("sha256").update(got).digest("hex"), expectedSha(size));
    rmSync(out);
  });

  it("WebSocket echo through the decrypted path", async () => {
    const r = await run("node", [join(support, "ws-client.mjs"), String(gw.port), "origin.test", String(wsPort), gwCa, "hello over decrypted websocket"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), "hello over decrypted websocket");
  });

  it("a client that offers only h2 gets a no_application_protocol alert and a flow line that says why", async () => {
    const r = await run("openssl", ["s_client", "-proxy", `127.0.0.1:${gw.port}`, "-connect", `origin.test:${origin.port}`, "-servername", "origin.test", "-alpn", "h2", "-CAfile", gwCa], 20_000);
    assert.notEqual(r.code, 0);
    assert.match(r.stdout + r.stderr, /no application protocol/i);
    const f = await gw.waitForFlow((f) => f.type === "flow" && f.host === "origin.test" && /^Cannot inspect/.test(String(f.error)));
    assert.equal(f.alpn, "h2");
    assert.match(String(f.error), /Rule "inspect" refuses such clients/);
  });

  it('with uninspectable: "tunnel" an h2-only client is relayed blind: it sees the origin\'s own certificate', async () => {
    const r = await run("bash", ["-c", `openssl s_client -proxy 127.0.0.1:${gw.port} -connect grpc.test:${h2Port} -servername grpc.test -alpn h2 -CAfile ${originPki.caFile} -verify_return_error -ign_eof </dev/null 2>&1`], 20_000);
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /^ALPN protocol: h2$/m, "negotiated with the origin itself");
    assert.match(r.stdout, /^h2 origin$/m);
    assert.match(r.stdout, /Verify return code: 0 \(ok\)/, "the origin's chain, not a minted one");
    assert.match(r.stdout, /^issuer=CN = Tollgate Test Origin CA$/m);
    assert.doesNotMatch(r.stdout, /Interception CA/);
    const f = await gw.waitForFlow((f) => f.type === "flow" && f.host === "grpc.test");
    assert.equal(f.decryption, "exception");
    assert.equal(f.alpn, "h2");
    assert.match(String(f.reason), /relayed without decryption \(uninspectable: "tunnel"\)/);
    // a client offering http/1.1 too is still decrypted under the same rule
    const c = await curl([...proxy(), "--cacert", gwCa, "--http2", `https://grpc.test:${origin.port}/hello`]);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(c.stdout, "hello from origin");
    const d = await gw.waitForFlow((f) => f.type === "flow" && f.host === "grpc.test" && f.decryption === "decrypt");
    assert.equal(d.alpn, "h2,http/1.1");
  });

  it("a later decrypted session reuses the idle upstream connection of an earlier one", async () => {
    const scrape = async () => {
      const text = await (await fetch(`http://127.0.0.1:${gw.ports.get("admin")}/metrics`, { headers: { authorization: "Bearer intercept-test-admin-token" } })).text();
      const m = /^tollgate_upstream_reused_total (\d+)$/m.exec(text);
      assert.ok(m, "the reuse counter is exposed");
      return Number(m[1]);
    };
    const before = await scrape();
    const sessions = () => gw.flows().filter((f) => f.type === "flow" && f.host === "origin.test" && f.decryption === "decrypt").length;
    for (let i = 0; i < 3; i++) {
      const n = sessions();
      // separate curl processes: separate client connections, one after the other
      const r = await curl([...proxy(), "--cacert", gwCa, `https://origin.test:${origin.port}/hello`]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "hello from origin");
      // the session gives its upstream back when it ends (its flow line is written then)
      await gw.waitForFlow(() => sessions() > n);
    }
    assert.ok((await scrape()) - before >= 2, "at least the second and third sessions reused a connection");
  });

  it("rotating the leaf key (admin command) makes new handshakes use a new key", async () => {
    const leafKey = async () => {
      const r = await run("bash", ["-c", `openssl s_client -proxy 127.0.0.1:${gw.port} -connect origin.test:${origin.port} -servername origin.test -CAfile ${gwCa} </dev/null 2>/dev/null | openssl x509 -noout -pubkey`]);
      assert.match(r.stdout, /BEGIN PUBLIC KEY/, r.stderr);
      return r.stdout;
    };
    const metrics = await (await fetch(`http://127.0.0.1:${gw.ports.get("admin")}/metrics`, { headers: { authorization: "Bearer intercept-test-admin-token" } })).text();
    assert.match(metrics, /^tollgate_cert_mint_seconds_count [1-9]/m, "mint latency is measured");
    assert.match(metrics, /^tollgate_cert_cache_hits_total [1-9]/m, "keep-alive and repeat hosts hit the cache");
    const caExpiry = new RegExp(`^tollgate_certificate_not_after_timestamp_seconds\\{use="ca",listener="",file="${gwCa}"\\} (\\d+)$`, "m").exec(metrics);
    const enddate = execFileSync("openssl", ["x509", "-noout", "-enddate", "-dateopt", "iso_8601", "-in", gwCa], { encoding: "utf8" });
    assert.equal(Number(caExpiry?.[1]), Date.parse(enddate.trim().replace(/^notAfter=/, "").replace(" ", "T")) / 1000, "the CA's expiry is a metric");
    const before = await leafKey();
    assert.equal(await leafKey(), before, "the same key while not rotated");
    const res = await fetch(`http://127.0.0.1:${gw.ports.get("admin")}/pki/rotate-leaf-key`, {
      method: "POST",
      headers: { authorization: "Bearer intercept-test-admin-token" },
    });
    assert.equal(res.status, 200);
    assert.notEqual(await leafKey(), before);
  });
});
