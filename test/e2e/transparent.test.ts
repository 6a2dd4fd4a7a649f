import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeTestPki, type TestPki } from "./support/certs.ts";
import { curl } from "./support/curl.ts";
import { cliCommand, type GatewayProcess, startGateway } from "./support/gateway.ts";
import { relayFinished } from "./support/gateway.ts";
import { type Origin, startOrigin } from "./support/origin.ts";

/** Sends raw bytes and resolves with what came back once the peer closed. */
function rawExchange(port: number, data: string, timeoutMs = 8000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    let out = "";
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no close within ${timeoutMs} ms`));
    }, timeoutMs);
    s.setEncoding("latin1");
    s.on("data", (d: string) => (out += d));
    s.on("error", () => {});
    s.on("close", () => {
      clearTimeout(timer);
      resolve(out);
    });
    s.write(data);
  });
}

describe("transparent proxy end to end (real curl)", { timeout: 180_000 }, () => {
  let work: string;
  let pki: TestPki;
  let origin: Origin;
  let httpOrigin: Origin;
  let gw: GatewayProcess;
  let gwCa: string;
  let tls: number;
  let plain: number;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "tollgate-transparent-"));
    const [cmd, ...args] = cliCommand();
    execFileSync(cmd!, [...args, "ca", "init", "--out", join(work, "ca")], { stdio: "ignore" });
    gwCa = join(work, "ca", "ca.pem");
    pki = makeTestPki(["origin.test", "inspect.test"]);
    origin = await startOrigin({ certPem: pki.certPem, keyPem: pki.keyPem });
    httpOrigin = await startOrigin();
    gw = await startGateway(
      {
        listeners: [
          { name: "tproxy", mode: "transparent", listen: "127.0.0.1:0", upstreamPort: origin.port },
          { name: "thttp", mode: "transparent-http", listen: "127.0.0.1:0", upstreamPort: httpOrigin.port },
        ],
        ca: { cert: join(work, "ca", "ca.pem"), key: join(work, "ca", "ca.key") },
        interception: { upstreamCaFiles: [pki.caFile] },
        policy: {
          defaultAction: "deny",
          rules: [
            { id: "deny-blocked", hosts: ["blocked.test"], action: "deny" },
            { id: "inspect", hosts: ["inspect.test"], action: "allow", decryption: "decrypt", modes: ["transparent"] },
            { id: "splice", hosts: ["origin.test"], action: "allow", modes: ["transparent", "transparent-http"] },
          ],
        },
        addressGuard: { allow: ["127.0.0.0/8"] }, // the test origins are on loopback
        dns: { hosts: { "origin.test": ["127.0.0.1"], "inspect.test": ["127.0.0.1"], "blocked.test": ["127.0.0.1"] } },
        limits: { headerTimeoutMs: 2000 },
      },
      { listener: "tproxy" },
    );
    tls = gw.ports.get("tproxy")!;
    plain = gw.ports.get("thttp")!;
  });

  after(async () => {
    const graceful = await gw?.stop();
    await origin?.close();
    await httpOrigin?.close();
    if (work) rmSync(work, { recursive: true, force: true });
    assert.equal(graceful, true);
  });

  it("exception: splices the client's own TLS to the SNI's host, curl verifies the real certificate", async () => {
    const r = await curl(["--resolve", `origin.test:${tls}:127.0.0.1`, "--cacert", pki.caFile, `https://origin.test:${tls}/hello`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "hello from origin");
    const f = await gw.waitForFlow((f) => f.mode === "transparent" && f.host === "origin.test" && relayFinished(f));
    assert.equal(f.kind, "tls");
    assert.equal(f.rule, "splice");
    assert.equal(f.decryption, "exception");
    assert.equal(f.resolved, "127.0.0.1");
    assert.equal(f.dnsSource, "static");
    assert.equal(f.port, origin.port);
    assert.equal(f.ech, false);
  });

  it("decrypt: terminates TLS with a minted certificate (curl needs the gateway CA)", async () => {
    const r = await curl(["-v", "--resolve", `inspect.test:${tls}:127.0.0.1`, "--cacert", gwCa, `https://inspect.test:${tls}/hello`]);
    assert.equal(r.code, 0, r.stderr + "\n" + gw.stdout.join("\n"));
    assert.equal(r.stdout, "hello from origin");
    assert.match(r.stderr, /issuer: CN=Tollgate Interception CA/);
    const without = await curl(["--resolve", `inspect.test:${tls}:127.0.0.1`, "--cacert", pki.caFile, `https://inspect.test:${tls}/hello`]);
    assert.equal(without.code, 60, without.stderr);
    const q = await gw.waitForFlow((f) => f.type === "request" && f.mode === "transparent" && f.host === "inspect.test");
    assert.equal(q.status, 200);
  });

  it("a denied SNI gets a TLS alert and the connection closes, logged", async () => {
    const r = await curl(["--resolve", `blocked.test:${tls}:127.0.0.1`, "--cacert", pki.caFile, `https://blocked.test:${tls}/`]);
    assert.equal(r.code, 35, r.stderr);
    const f = await gw.waitForFlow((f) => f.mode === "transparent" && f.host === "blocked.test");
    assert.equal(f.decision, "deny");
    assert.equal(f.rule, "deny-blocked");
  });

  it("a client without SNI is denied by default and logged with the destination port", async () => {
    const r = await curl(["--cacert", pki.caFile, `https://127.0.0.1:${tls}/`]);
    assert.notEqual(r.code, 0);
    const f = await gw.waitForFlow((f) => f.mode === "transparent" && f.rule === "no-sni");
    assert.equal(f.decision, "deny");
    assert.equal(f.port, origin.port);
  });

  it("non-TLS bytes on the TLS listener: closed and logged as such", async () => {
    const answer = await rawExchange(tls, "GET / HTTP/1.1\r\nHost: origin.test\r\n\r\n");
    assert.equal(answer, "");
    const f = await gw.waitForFlow((f) => f.mode === "transparent" && /Non-TLS/.test(String(f.error)));
    assert.equal(f.kind, "tls");
  });

  it("plain-HTTP transparent listener: policy on Host, forwarded with the client's Host", async () => {
    const r = await curl(["--resolve", `origin.test:${plain}:127.0.0.1`, `http://origin.test:${plain}/echo`]);
    assert.equal(r.code, 0, r.stderr);
    const seen = JSON.parse(r.stdout) as { url: string; headers: Record<string, string> };
    assert.equal(seen.url, "/echo");
    assert.equal(seen.headers.host, `origin.test:${plain}`);
    assert.equal(seen.headers.via, "1.1 tollgate");
    const denied = await curl(["-i", "--resolve", `blocked.test:${plain}:127.0.0.1`, `http://blocked.test:${plain}/`]);
    assert.match(denied.stdout, /^HTTP\/1\.1 403 /);
    const f = await gw.waitForFlow((f) => f.mode === "transparent-http" && f.host === "origin.test");
    assert.equal(f.rule, "splice");
  });
});
