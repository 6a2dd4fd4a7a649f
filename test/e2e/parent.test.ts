/**
 * Parent proxies end to end: a gateway ("child") sends its flows through a second gateway
 * process ("parent", with proxy authentication) on 127.0.0.1, with curl as the client.
 * The destination names exist only in the parent's host table, so every success proves the
 * parent resolved them; the child's flow lines name the parent, the parent's name the
 * child's user.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hashPassword } from "../../src/auth/password-hash.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { makeTestPki, type TestPki } from "./support/certs.ts";
import { curl } from "./support/curl.ts";
import { cliCommand, type GatewayProcess, startGateway } from "./support/gateway.ts";
import { type Origin, startOrigin } from "./support/origin.ts";
import { closedPort } from "./support/ports.ts";
import { openTunnel } from "./support/tunnel.ts";
import { waitFor } from "./support/wait.ts";
import { createServer } from "node:net";

describe("parent proxies end to end", { timeout: 90_000 }, () => {
  let work: string;
  let pki: TestPki;
  let origin: Origin;
  let plain: Origin;
  let parent: GatewayProcess;
  let child: GatewayProcess;
  let passwordFile: string;
  let generation = 1;
  let checkedPort: number;

  /** SIGHUP the child and wait for the reload to be reported. */
  async function reloadChild(): Promise<void> {
    generation++;
    const out = await child.reload();
    if (!out.includes(`config reloaded (generation ${generation})`)) throw new Error(`reload not applied:\n${out}`);
  }

  before(async () => {
    work = tempDir("tollgate-parent-");
    pki = makeTestPki(["origin.test"]);
    origin = await startOrigin({ certPem: pki.certPem, keyPem: pki.keyPem });
    plain = await startOrigin();
    const [cmd, ...args] = cliCommand();
    execFileSync(cmd!, [...args, "ca", "init", "--out", join(work, "ca")], { encoding: "utf8" });
    parent = await startGateway({
      listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:0" }],
      proxyAuth: { realm: "parent", users: [{ name: "child-gw", passwordHash: await hashPassword("pä:ss word", 100_000) }] },
      addressGuard: { allow: ["127.0.0.0/8"] }, // the test origins are on loopback
      policy: { defaultAction: "deny", rules: [{ id: "test-names", hosts: [".test"], action: "allow", users: ["child-gw"] }] },
      dns: { hosts: { "origin.test": ["127.0.0.1"], "blind.test": ["127.0.0.1"], "plain.test": ["127.0.0.1"], "fail.test": ["127.0.0.1"] } },
    });
    passwordFile = join(work, "parent-password");
    writeFileSync(passwordFile, "pä:ss word\n");
    child = await startGateway({
      listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:0" }],
      ca: { cert: join(work, "ca", "ca.pem"), key: join(work, "ca", "ca.key") },
      interception: { upstreamCaFiles: [pki.caFile] },
      parents: {
        up: { url: `http://127.0.0.1:${parent.port}`, username: "child-gw", passwordFile },
        // nothing listens there: its flows fall back to "up"
        dead: { url: `http://127.0.0.1:${await closedPort()}`, fallback: "up" },
        // checked every second; no rule sends flows to it
        checked: { url: `http://127.0.0.1:${checkedPort = await closedPort()}`, healthCheck: { intervalMs: 1000, timeoutMs: 500 } },
      },
      policy: {
        defaultAction: "deny",
        defaultParent: "up",
        rules: [
          { id: "inspect", hosts: ["origin.test"], action: "allow", decryption: "decrypt" },
          { id: "via-dead", hosts: ["fail.test"], action: "allow", parent: "dead" },
          { id: "others", hosts: [".test"], action: "allow" },
        ],
        urlRules: [{ id: "no-admin", hosts: ["origin.test"], paths: ["/admin"], action: "deny" }],
      },
      admin: { listen: "127.0.0.1:0" },
    });
  });
  after(async () => {
    await child?.stop();
    await parent?.stop();
    await origin?.close();
    await plain?.close();
  });

  it("a CONNECT tunnel goes through the parent, which resolves the name", async () => {
    // blind.test is not in the origin's certificate: -k, the TLS is curl's with the origin
    const blind = await curl(["-x", `http://127.0.0.1:${child.port}`, "-k", `https://blind.test:${origin.port}/hello`]);
    assert.equal(blind.code, 0, blind.stderr);
    assert.equal(blind.stdout, "hello from origin");
    const f = await child.waitForFlow((f) => f.kind === "connect" && f.host === "blind.test");
    assert.equal(f.parent, "up");
    assert.equal(f.dnsSource, "parent");
    assert.equal(f.resolved, null);
    assert.equal(f.decryption, "exception");
    const p = await parent.waitForFlow((f) => f.kind === "connect" && f.host === "blind.test");
    assert.equal(p.user, "child-gw");
    assert.equal(p.resolved, "127.0.0.1");
    assert.equal(p.parent, null);
  });

  it("decryption: the child validates the real origin through the parent's tunnel and applies url rules", async () => {
    const base = `https://origin.test:${origin.port}`;
    const ok = await curl(["-x", `http://127.0.0.1:${child.port}`, "--cacert", join(work, "ca", "ca.pem"), `${base}/hello`]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, "hello from origin");
    const blocked = await curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-x", `http://127.0.0.1:${child.port}`, "--cacert", join(work, "ca", "ca.pem"), `${base}/admin`]);
    assert.equal(blocked.stdout, "403");
    // the certificate curl saw was minted by the child: without the child's CA it fails
    const untrusting = await curl(["-x", `http://127.0.0.1:${child.port}`, "--cacert", pki.caFile, `${base}/hello`]);
    assert.notEqual(untrusting.code, 0);
    const f = await child.waitForFlow((f) => f.kind === "connect" && f.host === "origin.test" && f.decryption === "decrypt" && f.requests !== 0);
    assert.equal(f.parent, "up");
    const p = await parent.waitForFlow((f) => f.kind === "connect" && f.host === "origin.test");
    assert.equal(p.decryption, "exception", "the parent only relayed TLS it cannot read");
  });

  it("plain HTTP goes to the parent in absolute form, with the child's credentials", async () => {
    const r = await curl(["-s", "-x", `http://127.0.0.1:${child.port}`, `http://plain.test:${plain.port}/echo?x=1`]);
    assert.equal(r.code, 0, r.stderr);
    const echo = JSON.parse(r.stdout) as { method: string; url: string; headers: Record<string, string> };
    assert.equal(echo.url, "/echo?x=1");
    assert.equal(echo.headers["proxy-authorization"], undefined, "hop-by-hop: the parent removed it");
    assert.match(echo.headers["via"] ?? "", /1\.1 tollgate, 1\.1 tollgate/);
    const f = await child.waitForFlow((f) => f.kind === "http" && f.host === "plain.test");
    assert.equal(f.parent, "up");
    assert.equal(f.status, 200);
    const p = await parent.waitForFlow((f) => f.kind === "http" && f.host === "plain.test");
    assert.equal(p.user, "child-gw");
  });

  it("a parent that cannot be reached falls back to its fallback, for tunnels and plain HTTP", async () => {
    const t = await curl(["-x", `http://127.0.0.1:${child.port}`, "-k", `https://fail.test:${origin.port}/hello`]);
    assert.equal(t.code, 0, t.stderr);
    assert.equal(t.stdout, "hello from origin");
    const h = await curl(["-s", "-x", `http://127.0.0.1:${child.port}`, `http://fail.test:${plain.port}/hello`]);
    assert.equal(h.code, 0, h.stderr);
    assert.equal(h.stdout, "hello from origin");
    const tf = await child.waitForFlow((f) => f.kind === "connect" && f.host === "fail.test");
    assert.equal(tf.rule, "via-dead");
    assert.equal(tf.parent, "up");
    const hf = await child.waitForFlow((f) => f.kind === "http" && f.host === "fail.test");
    assert.equal(hf.parent, "up");
    const p = await parent.waitForFlow((f) => f.kind === "http" && f.host === "fail.test");
    assert.equal(p.user, "child-gw", "the fallback's own credentials");
    // the operator sees which parent is passed over, until when and why
    const admin = `http://127.0.0.1:${child.ports.get("admin")}`;
    const { parents } = await (await fetch(`${admin}/parents`)).json() as { parents: { name: string; inService: boolean; downUntil: string | null; lastError: string | null; fallback: string | null; credentials: boolean }[] };
    const up = parents.find((x) => x.name === "up");
    const dead = parents.find((x) => x.name === "dead");
    assert.deepEqual([up?.inService, up?.credentials, up?.downUntil], [true, true, null]);
    assert.deepEqual([dead?.inService, dead?.fallback, dead?.credentials], [false, "up", false]);
    assert.ok(dead?.downUntil && Date.parse(dead.downUntil) > Date.now(), JSON.stringify(dead));
    assert.match(String(dead?.lastError), /refused|ECONNREFUSED/i);
    const metrics = await (await fetch(`${admin}/metrics`)).text();
    assert.match(metrics, /^tollgate_parent_up\{parent="up"\} 1$/m);
    assert.match(metrics, /^tollgate_parent_up\{parent="dead"\} 0$/m);
  });

  it("active checks: a parent no flow used is seen down, and back in service once it listens", async () => {
    const admin = `http://127.0.0.1:${child.ports.get("admin")}`;
    type Report = { name: string; inService: boolean; lastError: string | null };
    const checked = async () => ((await (await fetch(`${admin}/parents`)).json()) as { parents: Report[] }).parents.find((p) => p.name === "checked")!;
    const waitFor = async (want: boolean) => {
      const until = Date.now() + 10_000;
      for (;;) {
        const r = await checked();
        if (r.inService === want) return r;
        if (Date.now() > until) throw new Error(`parent "checked" still ${JSON.stringify(r)}`);
        await new Promise((res) => setTimeout(res, 100));
      }
    };
    const down = await waitFor(false);
    assert.match(String(down.lastError), /^health check: .*(refused|ECONNREFUSED)/i);
    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(checkedPort, "127.0.0.1", resolve));
    try {
      await waitFor(true);
      assert.match(await (await fetch(`${admin}/metrics`)).text(), /^tollgate_parent_up\{parent="checked"\} 1$/m);
      assert.match(child.stderr.join(""), /parent "checked" \(127\.0\.0\.1:\d+\) is back in service: health check passed/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("a wrong password (rotated file, reloaded) is a 502 naming the parent's 407; the right one works again", async () => {
    writeFileSync(passwordFile, "wrong\n");
    await reloadChild();
    const r = await curl(["-s", "-i", "-x", `http://127.0.0.1:${child.port}`, `http://plain.test:${plain.port}/hello`]);
    assert.match(r.stdout, /^HTTP\/1\.1 407 /, "plain HTTP: the parent's own answer passes through");
    const t = await curl(["-s", "-x", `http://127.0.0.1:${child.port}`, "-k", `https://blind.test:${origin.port}/hello`]);
    assert.notEqual(t.code, 0);
    const f = await child.waitForFlow((f) => f.kind === "connect" && f.host === "blind.test" && f.status === 502);
    assert.match(String(f.error), /parent proxy "up" \(127\.0\.0\.1:\d+\) refused CONNECT blind\.test:\d+: 407/);
    writeFileSync(passwordFile, "pä:ss word");
    await reloadChild();
    const again = await curl(["-s", "-x", `http://127.0.0.1:${child.port}`, "-k", `https://blind.test:${origin.port}/hello`]);
    assert.equal(again.stdout, "hello from origin");
  });

  it("an open tunnel through the parent is closed when a reload sends its host direct; the next one goes direct", async () => {
    const tunnel = await openTunnel(child.port, "blind.test", origin.port);
    const config = JSON.parse(readFileSync(child.configFile!, "utf8")) as { policy: { rules: unknown[] }; dns?: unknown; addressGuard?: unknown };
    config.policy.rules.unshift({ id: "blind-direct", hosts: ["blind.test"], action: "allow", parent: "direct" });
    config.dns = { hosts: { "blind.test": ["127.0.0.1"] } };
    config.addressGuard = { allow: ["127.0.0.0/8"] };
    writeFileSync(child.configFile!, JSON.stringify(config));
    await reloadChild();
    await waitFor("the rerouted tunnel to close", () => !tunnel.isOpen());
    const f = await child.waitForFlow((f) => f.kind === "connect" && f.host === "blind.test" && f.end === "revoked");
    assert.equal(f.parent, "up");
    assert.match(String(f.error), /^the policy sends it direct now: rule "blind-direct" matched host/);
    const direct = await curl(["-x", `http://127.0.0.1:${child.port}`, "-k", `https://blind.test:${origin.port}/hello`]);
    assert.equal(direct.stdout, "hello from origin", direct.stderr);
    const g = await child.waitForFlow((f) => f.kind === "connect" && f.host === "blind.test" && f.rule === "blind-direct");
    assert.equal(g.parent, null);
  });
});
