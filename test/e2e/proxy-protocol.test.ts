import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import net from "node:net";
import { join } from "node:path";
import { makeTestPki, type TestPki } from "./support/certs.ts";
import { curl } from "./support/curl.ts";
import { cliCommand, type GatewayProcess, relayFinished, startGateway } from "./support/gateway.ts";
import { type Haproxy, startHaproxy } from "./support/haproxy.ts";
import { type Origin, startOrigin } from "./support/origin.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { v1, v2 } from "../protocol/proxy-header-builder.ts";

/** Sends `data` on a new connection and resolves with everything the gateway said before closing. */
function exchange(port: number, data: Uint8Array, timeoutMs = 8000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () => s.write(data));
    let out = "";
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no close within ${timeoutMs} ms; got ${JSON.stringify(out.slice(0, 120))}`));
    }, timeoutMs);
    s.setEncoding("latin1");
    s.on("data", (d: string) => {
      out += d;
      if (/\r\n\r\n/.test(out) && /Connection: close/i.test(out)) s.end();
    });
    s.on("error", () => {});
    s.on("close", () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

/** curl's own local port is printed last (`-w`), after the body. */
function split(stdout: string): { body: string; localPort: number } {
  const at = stdout.lastIndexOf("\nlocal_port=");
  return { body: stdout.slice(0, at), localPort: Number(stdout.slice(at + "\nlocal_port=".length)) };
}
const LOCAL_PORT = ["-w", "\nlocal_port=%{local_port}"];

describe("PROXY protocol listeners end to end (real HAProxy and curl)", { timeout: 180_000 }, () => {
  let pki: TestPki;
  let origin: Origin;
  let plainOrigin: Origin;
  let gw: GatewayProcess;
  let lb: Haproxy;
  let gwCa: string;

  before(async () => {
    const work = tempDir("tollgate-pp-");
    const [cmd, ...args] = cliCommand();
    execFileSync(cmd!, [...args, "ca", "init", "--out", join(work, "ca")], { stdio: "ignore" });
    gwCa = join(work, "ca", "ca.pem");
    pki = makeTestPki(["origin.test", "inspect.test"]);
    origin = await startOrigin({ certPem: pki.certPem, keyPem: pki.keyPem });
    plainOrigin = await startOrigin();
    const fromLoopback = { proxyProtocol: { from: ["127.0.0.0/8"] } };
    gw = await startGateway({
      listeners: [
        { name: "explicit", mode: "explicit", listen: "127.0.0.1:0", ...fromLoopback },
        { name: "lan", mode: "explicit", listen: "127.0.0.1:0", clients: ["192.0.2.0/24"], ...fromLoopback },
        { name: "elsewhere", mode: "explicit", listen: "127.0.0.1:0", proxyProtocol: { from: ["10.0.0.0/8"] } },
        { name: "tproxy", mode: "transparent", listen: "127.0.0.1:0", upstreamPort: origin.port, ...fromLoopback },
        { name: "rev", mode: "reverse", listen: "127.0.0.1:0", tls: false, ...fromLoopback },
      ],
      reverse: { pools: { app: { backends: [`http://127.0.0.1:${plainOrigin.port}`] } }, routes: [{ hosts: ["*"], pool: "app" }] },
      ca: { cert: gwCa, key: join(work, "ca", "ca.key") },
      interception: { upstreamCaFiles: [pki.caFile] },
      policy: {
        defaultAction: "deny",
        rules: [
          { id: "no-guests", hosts: ["origin.test"], clients: ["192.0.2.66"], action: "deny" },
          { id: "inspect", hosts: ["inspect.test"], action: "allow", decryption: "decrypt" },
          { id: "origin", hosts: ["origin.test"], action: "allow" },
        ],
      },
      addressGuard: { allow: ["127.0.0.0/8"] }, // the test origins are on loopback
      dns: { hosts: { "origin.test": ["127.0.0.1"], "inspect.test": ["127.0.0.1"] } },
      limits: { headerTimeoutMs: 3000 },
    });
    lb = await startHaproxy([
      { server: `127.0.0.1:${gw.ports.get("explicit")} send-proxy-v2 proxy-v2-options crc32c` },
      { server: `127.0.0.1:${gw.ports.get("tproxy")} send-proxy` },
    ]);
  });

  after(async () => {
    await lb?.stop();
    const graceful = await gw?.stop();
    await origin?.close();
    await plainOrigin?.close();
    assert.equal(graceful, true);
  });

  it("HAProxy (v2 with CRC-32C) → explicit listener: a CONNECT tunnel, logged for curl's address, HAProxy as the peer", async () => {
    const r = await curl([...LOCAL_PORT, "-x", `http://127.0.0.1:${lb.ports[0]}`, "--cacert", pki.caFile, `https://origin.test:${origin.port}/hello`]);
    assert.equal(r.code, 0, r.stderr + lb.output.join(""));
    const { body, localPort } = split(r.stdout);
    assert.equal(body, "hello from origin");
    const f = await gw.waitForFlow((f) => f.listener === "explicit" && f.kind === "connect" && relayFinished(f));
    assert.equal(f.client, `127.0.0.1:${localPort}`, "the client is curl, named in HAProxy's header");
    assert.match(String(f.peer), /^127\.0\.0\.1:\d+$/);
    assert.notEqual(f.peer, f.client, "the peer is HAProxy's own connection");
    assert.equal(f.rule, "origin");
  });

  it("HAProxy → explicit listener, decrypting: TLS is terminated over the relayed connection", async () => {
    const r = await curl([...LOCAL_PORT, "-x", `http://127.0.0.1:${lb.ports[0]}`, "--cacert", gwCa, `https://inspect.test:${origin.port}/hello`]);
    assert.equal(r.code, 0, r.stderr);
    const { body, localPort } = split(r.stdout);
    assert.equal(body, "hello from origin");
    const q = await gw.waitForFlow((f) => f.type === "request" && f.host === "inspect.test");
    assert.equal(q.status, 200);
    assert.equal(q.client, `127.0.0.1:${localPort}`);
  });

  it("curl --haproxy-protocol (v1) → explicit listener: plain HTTP forwarded", async () => {
    const r = await curl([...LOCAL_PORT, "--haproxy-protocol", "-x", `http://127.0.0.1:${gw.port}`, `http://origin.test:${plainOrigin.port}/hello`]);
    assert.equal(r.code, 0, r.stderr);
    const { body, localPort } = split(r.stdout);
    assert.equal(body, "hello from origin");
    const f = await gw.waitForFlow((f) => f.kind === "http" && f.client === `127.0.0.1:${localPort}`);
    assert.equal(f.status, 200);
  });

  it("HAProxy (v1) → transparent listener: the ClientHello alone reaches the origin, curl verifies the real certificate", async () => {
    const port = lb.ports[1]!;
    const r = await curl([...LOCAL_PORT, "--resolve", `origin.test:${port}:127.0.0.1`, "--cacert", pki.caFile, `https://origin.test:${port}/hello`]);
    assert.equal(r.code, 0, r.stderr + lb.output.join(""));
    const { body, localPort } = split(r.stdout);
    assert.equal(body, "hello from origin");
    const f = await gw.waitForFlow((f) => f.listener === "tproxy" && f.host === "origin.test" && relayFinished(f));
    assert.equal(f.client, `127.0.0.1:${localPort}`);
    assert.equal(f.decryption, "exception");
  });

  it("the listener's clients and the policy's clients apply to the client the header names", async () => {
    const lan = gw.ports.get("lan")!;
    const get = new TextEncoder().encode(`GET http://origin.test:${plainOrigin.port}/hello HTTP/1.1\r\nHost: origin.test\r\nConnection: close\r\n\r\n`);
    const join2 = (a: Uint8Array, b: Uint8Array) => new Uint8Array([...a, ...b]);
    const inside = await exchange(lan, join2(v2({ src: "192.0.2.7", dst: "127.0.0.1", sport: 4000, dport: lan }), get));
    assert.match(inside, /^HTTP\/1\.1 200 /);
    assert.match(inside, /hello from origin/);
    const outside = await exchange(lan, join2(v1("TCP4", "198.51.100.7", "127.0.0.1", 4001, lan), get));
    assert.match(outside, /^HTTP\/1\.1 403 /);
    assert.match(outside, /client 198\.51\.100\.7 is not in this listener's clients/);
    const guest = await exchange(lan, join2(v1("TCP4", "192.0.2.66", "127.0.0.1", 4002, lan), get));
    assert.match(guest, /^HTTP\/1\.1 403 /);
    const f = await gw.waitForFlow((f) => f.client === "192.0.2.66:4002");
    assert.equal(f.rule, "no-guests");
    assert.match(String(f.peer), /^127\.0\.0\.1:\d+$/);
    const refused = await gw.waitForFlow((f) => f.client === "198.51.100.7:4001");
    assert.equal(refused.rule, "listener-clients");
  });

  it("a reverse listener tells the backend the header's client in X-Forwarded-For", async () => {
    const rev = gw.ports.get("rev")!;
    const get = new TextEncoder().encode("GET /echo HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n");
    const answer = await exchange(rev, new Uint8Array([...v1("TCP6", "2001:db8::7", "::1", 4100, rev), ...get]));
    assert.match(answer, /^HTTP\/1\.1 200 /);
    const body = answer.slice(answer.indexOf("\r\n\r\n") + 4); // chunked: one chunk of JSON
    const seen = JSON.parse(body.slice(body.indexOf("{"), body.lastIndexOf("}") + 1)) as { headers: Record<string, string> };
    assert.equal(seen.headers["x-forwarded-for"], "2001:db8::7");
    const f = await gw.waitForFlow((f) => f.type === "flow" && f.listener === "rev" && f.client === "[2001:db8::7]:4100");
    assert.match(String(f.peer), /^127\.0\.0\.1:\d+$/);
  });

  it("a peer that is not a trusted balancer gets 403; a balancer without a header gets 400", async () => {
    const r = await curl(["-i", "--haproxy-protocol", "-x", `http://127.0.0.1:${gw.ports.get("elsewhere")}`, `http://origin.test:${plainOrigin.port}/hello`]);
    assert.match(r.stdout, /^HTTP\/1\.1 403 /);
    assert.match(r.stdout, /not a load balancer this listener trusts/);
    const f = await gw.waitForFlow((f) => f.listener === "elsewhere");
    assert.equal(f.rule, "proxy-protocol");
    const plain = await curl(["-i", "-x", `http://127.0.0.1:${gw.port}`, `http://origin.test:${plainOrigin.port}/hello`]);
    assert.match(plain.stdout, /^HTTP\/1\.1 400 /);
    assert.match(plain.stdout, /expects a PROXY protocol header/);
  });
});
