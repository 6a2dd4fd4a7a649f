/**
 * SOCKS5 parent proxies end to end, with curl as the client of a gateway ("child"):
 * - a real Dante server (Debian's dante-server) as the parent, without authentication,
 *   asked only for loopback addresses (it resolves names itself, so none are sent to it);
 * - a second gateway's SOCKS5 listener as the parent, with username/password sign-in, for
 *   names only its own host table knows (every success proves the parent resolved them).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { hashPassword } from "../../src/auth/password-hash.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { makeTestPki, type TestPki } from "./support/certs.ts";
import { curl } from "./support/curl.ts";
import { type Daemon, startDaemon } from "./support/daemon.ts";
import { cliCommand, type GatewayProcess, startGateway } from "./support/gateway.ts";
import { type Origin, startOrigin } from "./support/origin.ts";
import { closedPort } from "./support/ports.ts";

/** Dante in the foreground on `port`: no authentication, CONNECT to loopback only. */
function startDante(work: string, port: number): Promise<Daemon> {
  const file = join(work, "danted.conf");
  writeFileSync(file, [
    "logoutput: stderr",
    `internal: 127.0.0.1 port = ${port}`,
    "external: 127.0.0.1",
    "clientmethod: none",
    "socksmethod: none",
    ...(process.getuid?.() === 0 ? ["user.privileged: root", "user.unprivileged: nobody"] : []),
    "client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }",
    "socks pass { from: 127.0.0.0/8 to: 127.0.0.0/8 command: connect }",
    "socks block { from: 0.0.0.0/0 to: 0.0.0.0/0 }",
  ].join("\n") + "\n");
  return startDaemon("danted", ["-f", file, "-N", "1", "-p", join(work, "danted.pid")], [port]);
}

describe("SOCKS5 parent proxies end to end", { timeout: 90_000 }, () => {
  let work: string;
  let pki: TestPki;
  let origin: Origin;
  let plain: Origin;
  let dante: Daemon;
  let parent: GatewayProcess;
  let child: GatewayProcess;
  let gwCa: string;

  before(async () => {
    work = tempDir("tollgate-parent-socks-");
    pki = makeTestPki(["origin.test", "blind.test", "127.0.0.1"]);
    origin = await startOrigin({ certPem: pki.certPem, keyPem: pki.keyPem });
    plain = await startOrigin();
    const dantePort = await closedPort();
    dante = await startDante(work, dantePort);
    const [cmd, ...args] = cliCommand();
    execFileSync(cmd!, [...args, "ca", "init", "--out", join(work, "ca")], { encoding: "utf8" });
    gwCa = join(work, "ca", "ca.pem");
    parent = await startGateway({
      listeners: [{ name: "socks", mode: "socks5", listen: "127.0.0.1:0" }],
      proxyAuth: { users: [{ name: "child-gw", passwordHash: await hashPassword("pä ss", 100_000) }] },
      addressGuard: { allow: ["127.0.0.0/8"] },
      policy: { defaultAction: "deny", rules: [{ id: "test-names", hosts: ["origin.test", "blind.test", "plain.test"], action: "allow", users: ["child-gw"] }] },
      dns: { hosts: { "origin.test": ["127.0.0.1"], "blind.test": ["127.0.0.1"], "plain.test": ["127.0.0.1"], "denied.test": ["127.0.0.1"] } },
    }, { listener: "socks" });
    const passwordFile = join(work, "parent-password");
    writeFileSync(passwordFile, "pä ss\n");
    child = await startGateway({
      listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:0" }],
      ca: { cert: join(work, "ca", "ca.pem"), key: join(work, "ca", "ca.key") },
      interception: { upstreamCaFiles: [pki.caFile] },
      parents: {
        dante: { url: `socks5://127.0.0.1:${dantePort}` },
        gw: { url: `socks5h://127.0.0.1:${parent.port}`, username: "child-gw", passwordFile },
      },
      // IP-literal destinations pass the child's address guard even through a parent
      addressGuard: { allow: ["127.0.0.0/8"] },
      policy: {
        defaultAction: "deny",
        rules: [
          { id: "via-dante", hosts: ["127.0.0.1"], action: "allow", parent: "dante" },
          { id: "inspect", hosts: ["origin.test"], action: "allow", decryption: "decrypt", parent: "gw" },
          { id: "via-gw", hosts: ["blind.test", "plain.test", "denied.test"], action: "allow", parent: "gw" },
        ],
      },
    });
  });

  after(async () => {
    const graceful = [await child?.stop(), await parent?.stop()];
    await dante?.stop();
    await origin?.close();
    await plain?.close();
    assert.deepEqual(graceful, [true, true]);
  });

  const proxy = () => ["-x", `http://127.0.0.1:${child.port}`];

  it("Dante: a CONNECT tunnel to an address, and plain HTTP in origin form through its tunnel", async () => {
    const tls = await curl([...proxy(), "--cacert", pki.caFile, `https://127.0.0.1:${origin.port}/hello`]);
    assert.equal(tls.code, 0, `${tls.stderr}\n${dante.output.join("")}`);
    assert.equal(tls.stdout, "hello from origin");
    const http = await curl([...proxy(), `http://127.0.0.1:${plain.port}/hello`]);
    assert.equal(http.code, 0, http.stderr);
    assert.equal(http.stdout, "hello from origin");
    const f = await child.waitForFlow((f) => f.kind === "connect" && f.parent === "dante");
    assert.equal(f.status, 200);
    assert.equal(f.dnsSource, "parent");
    const h = await child.waitForFlow((f) => f.kind === "http" && f.parent === "dante");
    assert.equal(h.status, 200);
  });

  it("a gateway's SOCKS5 listener with sign-in: a blind tunnel and plain HTTP by names only the parent knows", async () => {
    const tunnel = await curl([...proxy(), "--cacert", pki.caFile, `https://blind.test:${origin.port}/hello`]);
    assert.equal(tunnel.code, 0, tunnel.stderr);
    assert.equal(tunnel.stdout, "hello from origin");
    const http = await curl([...proxy(), `http://plain.test:${plain.port}/hello`]);
    assert.equal(http.code, 0, http.stderr);
    assert.equal(http.stdout, "hello from origin");
    const seen = await parent.waitForFlow((f) => f.host === "plain.test" && f.mode === "socks5");
    assert.equal(seen.user, "child-gw", "the child signed in");
    assert.equal(seen.rule, "test-names");
  });

  it("decrypts over the SOCKS5 parent's tunnel: the real server validated end to end, the leaf minted by the child", async () => {
    const r = await curl([...proxy(), "-v", "--cacert", gwCa, `https://origin.test:${origin.port}/hello`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "hello from origin");
    assert.match(r.stderr, /issuer: CN=Tollgate Interception CA/);
    const f = await child.waitForFlow((f) => f.host === "origin.test" && f.decryption === "decrypt");
    assert.equal(f.parent, "gw");
  });

  it("a destination the SOCKS5 parent refuses: 403 naming the parent and its reply", async () => {
    const tunnel = await curl([...proxy(), "-w", "%{http_connect}", `https://denied.test:${origin.port}/hello`]);
    assert.equal(tunnel.stdout, "403");
    const r = await curl([...proxy(), "-w", "\n%{http_code}", `http://denied.test:${plain.port}/hello`]);
    assert.match(r.stdout, /refused SOCKS5 CONNECT denied\.test:\d+: connection not allowed by ruleset \(2\)\n+403$/);
    const f = await parent.waitForFlow((f) => f.host === "denied.test");
    assert.equal(f.decision, "deny");
  });
});
