import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import { join } from "node:path";
import { tempDir } from "../helpers/temp-dir.ts";
import { makeTestPki, type TestPki } from "./support/certs.ts";
import { curl } from "./support/curl.ts";
import { cliCommand, type GatewayProcess, startGateway } from "./support/gateway.ts";
import { type Origin, patternBlock, startOrigin } from "./support/origin.ts";
import { v1 } from "../protocol/proxy-header-builder.ts";

/**
 * An explicit listener with `tls` is an HTTPS proxy: curl speaks TLS to the proxy itself
 * (`--proxy https://…`), and inside it CONNECT tunnels (TLS in TLS), decryption with minted
 * certificates, plain absolute-form requests and proxy authentication work as on a plain
 * explicit listener — with the credentials and the names asked for never in clear between
 * client and gateway. Its certificate may be configured or minted by the gateway CA.
 */
describe("HTTPS proxy listener", { timeout: 120_000 }, () => {
  let pki: TestPki;
  let work: string;
  let origin: Origin;
  let plainOrigin: Origin;
  let gw: GatewayProcess;
  let config: { listeners: Record<string, unknown>[] } & Record<string, unknown>;
  const caPem = () => join(work, "ca", "ca.pem");

  before(async () => {
    pki = makeTestPki(["origin.test", "secure.test", "127.0.0.1"]);
    work = tempDir("tollgate-https-proxy-");
    const [cmd, ...args] = cliCommand();
    execFileSync(cmd!, [...args, "ca", "init", "--out", join(work, "ca")], { encoding: "utf8" });
    const hash = execFileSync(cmd!, [...args, "auth", "hash", "--iterations", "100000"], { input: "s3cret\n", encoding: "utf8" }).trim();
    origin = await startOrigin({ certPem: pki.certPem, keyPem: pki.keyPem });
    plainOrigin = await startOrigin();
    config = {
      listeners: [
        // the test PKI's certificate (SAN 127.0.0.1), and one minted by the gateway CA for its name
        { name: "explicit", mode: "explicit", listen: "127.0.0.1:0", tls: { certificates: [{ cert: join(pki.dir, "server.pem"), key: join(pki.dir, "server.key") }] } },
        { name: "minted", mode: "explicit", listen: "127.0.0.1:0", tls: { mint: ["proxy.test"], unknownSni: "refuse" } },
        // for other clients only: this one is refused before its handshake
        { name: "lan-only", mode: "explicit", listen: "127.0.0.1:0", clients: ["10.0.0.0/8"], tls: { certificates: [{ cert: join(pki.dir, "server.pem"), key: join(pki.dir, "server.key") }] } },
        // behind a load balancer that sends a PROXY header before the client's TLS
        { name: "relayed", mode: "explicit", listen: "127.0.0.1:0", proxyProtocol: { from: ["127.0.0.0/8"] }, tls: { certificates: [{ cert: join(pki.dir, "server.pem"), key: join(pki.dir, "server.key") }] } },
      ],
      ca: { cert: caPem(), key: join(work, "ca", "ca.key") },
      interception: { upstreamCaFiles: [pki.caFile] },
      proxyAuth: { realm: "tollgate", users: [{ name: "alice", passwordHash: hash }] },
      policy: {
        defaultAction: "deny",
        rules: [
          { id: "origin", hosts: ["origin.test"], action: "allow" },
          { id: "inspect", hosts: ["secure.test"], action: "allow", decryption: "decrypt" },
        ],
      },
      dns: { hosts: { "origin.test": ["127.0.0.1"], "secure.test": ["127.0.0.1"] } },
      addressGuard: { allow: ["127.0.0.0/8"] },
      admin: { listen: "127.0.0.1:0", token: "https-proxy-admin-token" },
      limits: { headerTimeoutMs: 2000 },
    };
    gw = await startGateway(config);
  });

  after(async () => {
    const graceful = await gw?.stop();
    await origin?.close();
    await plainOrigin?.close();
    assert.equal(graceful, true);
  });

  const proxy = () => [`--proxy`, `https://127.0.0.1:${gw.port}`, "--proxy-cacert", pki.caFile, "--proxy-user", "alice:s3cret"];

  it("tunnels TLS inside its own TLS: a 16 MiB download arrives byte-identical", async () => {
    const file = join(work, "download");
    const r = await curl(["-sS", "-o", file, ...proxy(), "--cacert", pki.caFile, `https://origin.test:${origin.port}/bytes?size=${16 << 20}`]);
    assert.equal(r.code, 0, r.stderr);
    const block = patternBlock();
    const expected = createHash("sha256");
    for (let sent = 0; sent < 16 << 20; sent += block.length) expected.update(block);
    assert.equal(createHash("sha256").update(readFileSync(file)).digest("hex"), expected.digest("hex"));
    const f = await gw.waitForFlow((f) => f.kind === "connect" && f.host === "origin.test" && f.user === "alice");
    assert.equal(f.decryption, "exception");
    assert.ok((f.bytesDown as number) > 16 << 20);
  });

  it("decrypts inside it, with a certificate the gateway minted", async () => {
    const r = await curl(["-sS", ...proxy(), "--cacert", caPem(), `https://secure.test:${origin.port}/hello`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "hello from origin");
    const without = await curl(["-sS", ...proxy(), "--cacert", pki.caFile, `https://secure.test:${origin.port}/hello`]);
    assert.notEqual(without.code, 0, "the origin's own CA does not verify what the gateway minted: it was decrypted");
    const f = await gw.waitForFlow((f) => f.kind === "connect" && f.host === "secure.test" && f.decryption === "decrypt" && f.end !== null);
    assert.equal(f.user, "alice");
  });

  it("forwards plain http:// requests, and asks for proxy credentials inside the TLS", async () => {
    const r = await curl(["-sS", ...proxy(), `http://origin.test:${plainOrigin.port}/hello`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "hello from origin");
    const anonymous = await curl(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--proxy", `https://127.0.0.1:${gw.port}`, "--proxy-cacert", pki.caFile, `http://origin.test:${plainOrigin.port}/hello`]);
    assert.equal(anonymous.stdout, "407");
  });

  it("is TLS: a client that does not trust its certificate fails, one that speaks plain HTTP is told", async () => {
    const untrusted = await curl(["-sS", "--proxy", `https://127.0.0.1:${gw.port}`, "--proxy-user", "alice:s3cret", `http://origin.test:${plainOrigin.port}/hello`]);
    assert.notEqual(untrusted.code, 0);
    assert.match(untrusted.stderr, /certificate|SSL/i);
    const plain = await curl(["-sS", "-i", "--proxy", `http://127.0.0.1:${gw.port}`, "--proxy-user", "alice:s3cret", `http://origin.test:${plainOrigin.port}/hello`]);
    assert.match(plain.stdout, /^HTTP\/1\.1 400 /);
    assert.match(plain.stdout, /configure the proxy as https:\/\/host:port/);
    await gw.waitForFlow((f) => f.listener === "explicit" && typeof f.error === "string" && (f.error as string).startsWith("Non-TLS bytes on the HTTPS proxy listener"));
  });

  it("serves a certificate minted by the gateway CA for its name, and refuses other names", async () => {
    const port = gw.ports.get("minted")!;
    const r = await curl(["-sS", "--proxy", `https://proxy.test:${port}`, "--resolve", `proxy.test:${port}:127.0.0.1`, "--proxy-cacert", caPem(), "--proxy-user", "alice:s3cret", `http://origin.test:${plainOrigin.port}/hello`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "hello from origin");
    const other = await curl(["-sS", "--proxy", `https://127.0.0.1:${port}`, "--proxy-cacert", caPem(), `http://origin.test:${plainOrigin.port}/hello`]);
    assert.notEqual(other.code, 0, "no certificate for an unknown name (unknownSni: refuse)");
  });

  it("behind a load balancer: the PROXY header's client is the one the requests are logged for", async () => {
    const port = gw.ports.get("relayed")!;
    const raw = net.connect(port, "127.0.0.1");
    await new Promise<void>((resolve) => raw.once("connect", resolve));
    const balancer = `127.0.0.1:${raw.localPort}`;
    raw.write(v1("TCP4", "192.0.2.7", "127.0.0.1", 5555, port));
    const secure = tls.connect({ socket: raw, host: "127.0.0.1", ca: readFileSync(pki.caFile) });
    await new Promise<void>((resolve, reject) => (secure.once("secureConnect", resolve), secure.once("error", reject)));
    const auth = Buffer.from("alice:s3cret").toString("base64");
    secure.write(`GET http://origin.test:${plainOrigin.port}/hello HTTP/1.1\r\nHost: origin.test:${plainOrigin.port}\r\nProxy-Authorization: Basic ${auth}\r\nConnection: close\r\n\r\n`);
    let answer = "";
    secure.setEncoding("latin1");
    secure.on("data", (d: string) => (answer += d));
    await new Promise<void>((resolve) => secure.once("close", () => resolve()));
    assert.match(answer, /^HTTP\/1\.1 200 /);
    assert.match(answer, /\r\nhello from origin\r\n/);
    const f = await gw.waitForFlow((f) => f.listener === "relayed" && f.kind === "http");
    assert.deepEqual([f.client, f.peer, f.user], ["192.0.2.7:5555", balancer, "alice"]);
  });

  it("a client the listener refuses is closed, not answered in plain HTTP it could not read", async () => {
    const got = await new Promise<string>((resolve) => {
      const s = tls.connect({ port: gw.ports.get("lan-only")!, host: "127.0.0.1", ca: readFileSync(pki.caFile) });
      let bytes = "";
      s.on("data", (d: Buffer) => (bytes += d.toString("latin1")));
      s.on("error", (e) => resolve(`error: ${e.message}${bytes}`));
      s.on("close", () => resolve(`closed${bytes}`));
    });
    assert.doesNotMatch(got, /wrong version number|HTTP\/1\.1/i, got);
    const f = await gw.waitForFlow((f) => f.listener === "lan-only");
    assert.deepEqual([f.rule, f.status, f.end], ["listener-clients", null, "denied"]);
  });

  it("closes a client that stops after its ClientHello, and offers HTTPS in the PAC file", async () => {
    const closed = await new Promise<boolean>((resolve) => {
      const s = net.connect(gw.port, "127.0.0.1", () => s.write(Buffer.from([0x16, 0x03, 0x01])));
      s.on("error", () => {});
      s.on("close", () => resolve(true));
      setTimeout(() => (s.destroy(), resolve(false)), 15_000);
    });
    assert.ok(closed);
    const pac = await (await fetch(`http://127.0.0.1:${gw.ports.get("admin")}/proxy.pac`, { headers: { authorization: "Bearer https-proxy-admin-token" } })).text();
    assert.match(pac, new RegExp(`"HTTPS 127\\.0\\.0\\.1:${gw.port}"`));
  });

  it("a reload turns a listener's TLS off (and its next connection is plain) without a restart", async () => {
    const plain = { ...config, listeners: config.listeners.map((l) => (l["name"] === "explicit" ? { ...l, tls: undefined } : l)) };
    writeFileSync(gw.configFile!, JSON.stringify(plain));
    assert.match(await gw.reload(), /SIGHUP: config reloaded/);
    const r = await curl(["-sS", "--proxy", `http://127.0.0.1:${gw.port}`, "--proxy-user", "alice:s3cret", `http://origin.test:${plainOrigin.port}/hello`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "hello from origin");
  });
});
