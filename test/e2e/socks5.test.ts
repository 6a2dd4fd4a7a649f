/**
 * SOCKS5 listeners end to end with real curl (`socks5h://`, the name resolved by the
 * gateway; `socks5://`, an address): blind tunnels, decryption with a minted certificate and
 * URL rules, denials, and sign-in with the gateway's users. Everything on 127.0.0.1.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import net from "node:net";
import { join } from "node:path";
import { makeTestPki, type TestPki } from "./support/certs.ts";
import { curl } from "./support/curl.ts";
import { cliCommand, type GatewayProcess, startGateway } from "./support/gateway.ts";
import { type Origin, startOrigin } from "./support/origin.ts";
import { waitFor } from "./support/wait.ts";

describe("SOCKS5 listener end to end (real curl)", { timeout: 120_000 }, () => {
  let work: string;
  let pki: TestPki;
  let origin: Origin;
  let gw: GatewayProcess;
  let gwCa: string;

  const config = (extra: Record<string, unknown> = {}) => ({
    listeners: [{ name: "socks", mode: "socks5", listen: "127.0.0.1:0" }],
    ca: { cert: join(work, "ca", "ca.pem"), key: join(work, "ca", "ca.key") },
    interception: { upstreamCaFiles: [pki.caFile] },
    addressGuard: { allow: ["127.0.0.0/8"] }, // the test origin is on loopback
    policy: {
      defaultAction: "deny",
      rules: [
        { id: "inspect", hosts: ["inspect.test"], action: "allow", decryption: "decrypt" },
        { id: "origin", hosts: ["origin.test", "127.0.0.1"], action: "allow" },
      ],
      urlRules: [{ id: "no-admin", hosts: ["inspect.test"], paths: ["/admin"], action: "deny" }],
    },
    dns: { hosts: { "origin.test": ["127.0.0.1"], "inspect.test": ["127.0.0.1"], "blocked.test": ["127.0.0.1"] } },
    ...extra,
  });

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "tollgate-socks-"));
    const [cmd, ...args] = cliCommand();
    execFileSync(cmd!, [...args, "ca", "init", "--out", join(work, "ca")], { encoding: "utf8" });
    gwCa = join(work, "ca", "ca.pem");
    pki = makeTestPki(["origin.test", "inspect.test", "127.0.0.1"]);
    origin = await startOrigin({ certPem: pki.certPem, keyPem: pki.keyPem });
    gw = await startGateway(config(), { listener: "socks" });
  });

  after(async () => {
    const graceful = await gw?.stop();
    await origin?.close();
    if (work) rmSync(work, { recursive: true, force: true });
    assert.equal(graceful, true);
  });

  it("socks5h: a blind tunnel to a name the gateway resolves; curl sees the origin's own certificate", async () => {
    const r = await curl(["-x", `socks5h://127.0.0.1:${gw.port}`, "-v", "--cacert", pki.caFile, `https://origin.test:${origin.port}/hello`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "hello from origin");
    assert.doesNotMatch(r.stderr, /Tollgate Interception CA/);
    const f = await gw.waitForFlow((f) => f.mode === "socks5" && f.host === "origin.test");
    assert.equal(f.kind, "connect");
    assert.equal(f.rule, "origin");
    assert.equal(f.status, 200);
    assert.equal(f.resolved, "127.0.0.1");
    assert.ok(Number(f.bytesDown) > 0);
  });

  it("socks5: an address the client resolved itself is policy-checked as that address", async () => {
    const r = await curl(["-x", `socks5://127.0.0.1:${gw.port}`, "--cacert", pki.caFile, `https://127.0.0.1:${origin.port}/hello`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "hello from origin");
    const f = await gw.waitForFlow((f) => f.mode === "socks5" && f.host === "127.0.0.1");
    assert.equal(f.dnsSource, "literal");
  });

  it("decrypts: curl trusting the gateway CA gets the body through a minted certificate, and a URL rule blocks a path", async () => {
    const proxy = ["-x", `socks5h://127.0.0.1:${gw.port}`, "--cacert", gwCa];
    const ok = await curl([...proxy, "-v", `https://inspect.test:${origin.port}/hello`]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, "hello from origin");
    assert.match(ok.stderr, /issuer: CN=Tollgate Interception CA/);
    const blocked = await curl([...proxy, "-o", "/dev/null", "-w", "%{http_code}", `https://inspect.test:${origin.port}/admin`]);
    assert.equal(blocked.stdout, "403");
    const untrusting = await curl(["-x", `socks5h://127.0.0.1:${gw.port}`, "--cacert", pki.caFile, `https://inspect.test:${origin.port}/hello`]);
    assert.equal(untrusting.code, 60, "without the gateway CA curl refuses the minted certificate");
    const q = await gw.waitForFlow((f) => f.type === "request" && f.url === `https://inspect.test:${origin.port}/admin`);
    assert.equal(q.rule, "no-admin");
    assert.equal(q.status, 403);
    const f = await gw.waitForFlow((f) => f.type === "flow" && f.mode === "socks5" && f.decryption === "decrypt" && f.requests === 1);
    assert.equal(f.rule, "inspect");
  });

  it("the success reply names the address and port the gateway connected from (BND.ADDR, BND.PORT)", async () => {
    let seen: { address: string; port: number } | undefined;
    const server = net.createServer((s) => {
      seen = { address: String(s.remoteAddress), port: Number(s.remotePort) };
      s.end("x");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    const target = (server.address() as net.AddressInfo).port;
    const client = net.connect(gw.port, "127.0.0.1");
    try {
      const got: Buffer[] = [];
      const have = (n: number) => waitFor(`${n} bytes from the gateway`, () => Buffer.concat(got).length >= n);
      client.on("data", (b: Buffer) => got.push(b));
      client.write(Uint8Array.of(5, 1, 0));
      await have(2);
      client.write(Uint8Array.of(5, 1, 0, 1, 127, 0, 0, 1, target >> 8, target & 0xff));
      await have(2 + 10 + 1);
      const reply = Buffer.concat(got).subarray(2);
      assert.deepEqual([...reply.subarray(0, 4)], [5, 0, 0, 1]);
      assert.deepEqual({ address: [...reply.subarray(4, 8)].join("."), port: reply.readUInt16BE(8) }, seen);
      assert.equal(reply.subarray(10).toString(), "x");
    } finally {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("socks4a and socks4: curl's SOCKS4 clients tunnel on the same listener; a denied name gets 91", async () => {
    const before = gw.flows().filter((f) => f.mode === "socks5" && f.host === "origin.test").length;
    const named = await curl(["-x", `socks4a://127.0.0.1:${gw.port}`, "--cacert", pki.caFile, `https://origin.test:${origin.port}/hello`]);
    assert.equal(named.code, 0, named.stderr);
    assert.equal(named.stdout, "hello from origin");
    const f = await gw.waitForFlow(() => gw.flows().filter((f) => f.mode === "socks5" && f.host === "origin.test").length > before);
    assert.ok(f);
    const literal = await curl(["-x", `socks4://127.0.0.1:${gw.port}`, "--cacert", pki.caFile, `https://127.0.0.1:${origin.port}/hello`]);
    assert.equal(literal.code, 0, literal.stderr);
    assert.equal(literal.stdout, "hello from origin");
    const denied = await curl(["-x", `socks4a://127.0.0.1:${gw.port}`, `https://blocked4.test:${origin.port}/hello`]);
    assert.equal(denied.code, 97, denied.stderr); // CURLE_PROXY
    assert.match(denied.stderr, /91|rejected|denied/i);
    const d = await gw.waitForFlow((f) => f.mode === "socks5" && f.host === "blocked4.test");
    assert.deepEqual([d.decision, d.rule, d.resolved], ["deny", "default", null]);
  });

  it("a denied name gets reply 2 (not allowed by ruleset) and is never dialed", async () => {
    const r = await curl(["-x", `socks5h://127.0.0.1:${gw.port}`, `https://blocked.test:${origin.port}/hello`]);
    assert.equal(r.code, 97, r.stderr); // CURLE_PROXY
    assert.match(r.stderr, /\(2\)|not allowed/i);
    const f = await gw.waitForFlow((f) => f.mode === "socks5" && f.host === "blocked.test");
    assert.equal(f.decision, "deny");
    assert.equal(f.rule, "default");
    assert.equal(f.resolved, null);
  });

  it("with proxyAuth: curl signs in with username/password; no or wrong credentials are refused", async () => {
    const [cmd, ...args] = cliCommand();
    const hash = execFileSync(cmd!, [...args, "auth", "hash", "--iterations", "100000"], { input: "pä ss\n", encoding: "utf8" }).trim();
    const authed = await startGateway(config({ proxyAuth: { users: [{ name: "alice", passwordHash: hash }] } }), { listener: "socks" });
    try {
      const url = `https://origin.test:${origin.port}/hello`;
      const good = await curl(["-x", `socks5h://alice:${encodeURIComponent("pä ss")}@127.0.0.1:${authed.port}`, "--cacert", pki.caFile, url]);
      assert.equal(good.code, 0, good.stderr);
      assert.equal(good.stdout, "hello from origin");
      const f = await authed.waitForFlow((f) => f.mode === "socks5" && f.user === "alice");
      assert.equal(f.status, 200);
      const wrong = await curl(["-x", `socks5h://alice:nope@127.0.0.1:${authed.port}`, url]);
      assert.equal(wrong.code, 97, wrong.stderr);
      const none = await curl(["-x", `socks5h://127.0.0.1:${authed.port}`, url]);
      assert.equal(none.code, 97, none.stderr);
      const refusals = await authed.waitForFlow((f) => f.rule === "proxy-auth" && /no username\/password/.test(String(f.reason)));
      assert.equal(refusals.decision, "deny");
      const socks4 = await curl(["-x", `socks4a://alice@127.0.0.1:${authed.port}`, url]);
      assert.equal(socks4.code, 97, socks4.stderr);
      await authed.waitForFlow((f) => f.rule === "proxy-auth" && /SOCKS4 has no password sign-in/.test(String(f.reason)));
      assert.ok(authed.flows().some((f) => f.rule === "proxy-auth" && /bad credentials for user "alice"/.test(String(f.reason))));
    } finally {
      assert.equal(await authed.stop(), true);
    }
  });
});
