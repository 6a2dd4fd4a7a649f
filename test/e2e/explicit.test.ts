import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeTestPki, type TestPki } from "./support/certs.ts";
import { curl } from "./support/curl.ts";
import { type GatewayProcess, startGateway } from "./support/gateway.ts";
import { relayFinished } from "./support/gateway.ts";
import { type Origin, patternBlock, startOrigin } from "./support/origin.ts";
import { run } from "./support/run.ts";

const support = new URL("./support/", import.meta.url).pathname;

function expectedSha(size: number): string {
  const block = patternBlock();
  const h = createHash("sha256");
  for (let done = 0; done < size; done += block.length) h.update(block.subarray(0, Math.min(block.length, size - done)));
  return h.digest("hex");
}

/** Sends raw bytes to the gateway and collects the answer until it closes. */
function rawExchange(port: number, data: string | Uint8Array, timeoutMs = 8000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    let out = "";
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no close within ${timeoutMs} ms; got: ${JSON.stringify(out)}`));
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

describe("explicit proxy end to end (real curl)", { timeout: 180_000 }, () => {
  let pki: TestPki;
  let tlsOrigin: Origin;
  let httpOrigin: Origin;
  let halfCloseOrigin: net.Server;
  let halfClosePort: number;
  let wsOrigin: ChildProcess;
  let wsPort: number;
  let gw: GatewayProcess;
  let work: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "tollgate-e2e-"));
    pki = makeTestPki();
    tlsOrigin = await startOrigin({ certPem: pki.certPem, keyPem: pki.keyPem });
    httpOrigin = await startOrigin();
    // answers only after the client's FIN: proves half-close crosses the tunnel
    halfCloseOrigin = net.createServer({ allowHalfOpen: true }, (s) => {
      let n = 0;
      s.on("data", (d: Uint8Array) => (n += d.byteLength));
      s.on("end", () => s.end(`got ${n} bytes after your FIN`));
    });
    await new Promise<void>((r) => halfCloseOrigin.listen(0, "127.0.0.1", () => r()));
    halfClosePort = (halfCloseOrigin.address() as net.AddressInfo).port;
    wsOrigin = spawn("node", [join(support, "ws-origin.mjs")], { stdio: ["ignore", "pipe", "inherit"] });
    wsPort = await new Promise<number>((resolve, reject) => {
      wsOrigin.stdout!.once("data", (d) => resolve(Number(String(d).trim())));
      wsOrigin.once("exit", (c) => reject(new Error(`ws origin exited ${c}`)));
    });
    gw = await startGateway({
      listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:0" }],
      policy: {
        defaultAction: "deny",
        rules: [
          { id: "block-test", hosts: ["blocked.test"], action: "deny", log: true },
          { id: "origin", hosts: ["origin.test", "127.0.0.1"], ports: [tlsOrigin.port, httpOrigin.port, halfClosePort, wsPort], action: "allow", log: true },
          { id: "refused", hosts: ["refused.test"], action: "allow" },
          { id: "anything-on-9", ports: [9], action: "allow" },
        ],
      },
      addressGuard: { allow: ["127.0.0.0/8"] }, // the test origins are on loopback
      dns: { hosts: { "origin.test": ["127.0.0.1"], "blocked.test": ["127.0.0.1"], "refused.test": ["127.0.0.1"], "metadata.test": ["169.254.169.254"], "intranet.test": ["10.1.2.3"] } },
      limits: { headerTimeoutMs: 1500 },
    });
  });

  after(async () => {
    const graceful = await gw?.stop();
    await tlsOrigin?.close();
    await httpOrigin?.close();
    halfCloseOrigin?.close();
    wsOrigin?.kill("SIGTERM");
    if (work) rmSync(work, { recursive: true, force: true });
    assert.equal(graceful, true, "gateway exits cleanly on SIGTERM");
  });

  it("CONNECT tunnel: curl verifies the origin's real certificate end to end", async () => {
    const r = await curl(["-x", `http://127.0.0.1:${gw.port}`, "--cacert", pki.caFile, `https://origin.test:${tlsOrigin.port}/hello`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "hello from origin");
    // curl may end with FIN or with RST (a late TLS session ticket unread): both are a finished tunnel
    const f = await gw.waitForFlow((f) => f.kind === "connect" && f.host === "origin.test" && relayFinished(f));
    assert.equal(f.decision, "allow");
    assert.equal(f.rule, "origin");
    assert.equal(f.port, tlsOrigin.port);
    assert.equal(f.resolved, "127.0.0.1");
    assert.equal(f.dnsSource, "static");
    assert.equal(f.status, 200);
    assert.match(String(f.userAgent), /^curl\/\d/, "the CONNECT's User-Agent");
    assert.ok((f.bytesUp as number) > 0 && (f.bytesDown as number) > 0);
  });

  it("CONNECT to a denied FQDN gets 403 naming the rule, and is logged", async () => {
    const r = await curl(["-x", `http://127.0.0.1:${gw.port}`, "--cacert", pki.caFile, `https://blocked.test:${tlsOrigin.port}/`]);
    assert.equal(r.code, 56, r.stderr);
    assert.match(r.stderr, /403/);
    const raw = await rawExchange(gw.port, `CONNECT BLOCKED.test.:${tlsOrigin.port} HTTP/1.1\r\nHost: blocked.test\r\n\r\n`);
    assert.match(raw, /^HTTP\/1\.1 403 Forbidden\r\n/);
    assert.match(raw, /rule "block-test"/);
    const f = await gw.waitForFlow((f) => f.kind === "connect" && f.host === "blocked.test");
    assert.equal(f.decision, "deny");
    assert.equal(f.rule, "block-test");
    assert.equal(f.status, 403);
    assert.match(String(f.reason), /block-test|blocked\.test/);
  });

  it("an FQDN no rule allows is denied by the default", async () => {
    const r = await curl(["-i", "-x", `http://127.0.0.1:${gw.port}`, `http://origin.test:${tlsOrigin.port + 0 === 1 ? 2 : 1}/`]);
    assert.match(r.stdout, /^HTTP\/1\.1 403/);
    assert.match(r.stdout, /rule "default"/);
  });

  it("plain HTTP absolute-form: forwarded with hop-by-hop fields removed and Via added", async () => {
    const r = await curl([
      "-x", `http://127.0.0.1:${gw.port}`,
      "-H", "Connection: X-Secret", "-H", "X-Secret: 1", "-H", "Keep-Alive: timeout=5", "-H", "X-End-To-End: yes",
      `http://origin.test:${httpOrigin.port}/echo?q=1`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const seen = JSON.parse(r.stdout) as { method: string; url: string; headers: Record<string, string> };
    assert.equal(seen.method, "GET");
    assert.equal(seen.url, "/echo?q=1");
    assert.equal(seen.headers.host, `origin.test:${httpOrigin.port}`);
    assert.equal(seen.headers.via, "1.1 tollgate");
    assert.equal(seen.headers["x-end-to-end"], "yes");
    assert.equal(seen.headers["x-secret"], undefined);
    assert.equal(seen.headers["keep-alive"], undefined);
    assert.equal(seen.headers["proxy-connection"], undefined);
    const f = await gw.waitForFlow((f) => f.kind === "http" && f.status === 200);
    assert.equal(f.rule, "origin");
    assert.equal(f.requests, 1);
  });

  it("plain HTTP keeps the client connection alive across requests", async () => {
    const url = `http://origin.test:${httpOrigin.port}/hello`;
    const r = await curl(["-x", `http://127.0.0.1:${gw.port}`, "-w", " connects=%{num_connects}\\n", url, url, url]);
    assert.equal(r.code, 0, r.stderr);
    const connects = [...r.stdout.matchAll(/connects=(\d+)/g)].map((m) => Number(m[1]));
    assert.deepEqual(connects, [1, 0, 0], r.stdout);
    assert.equal((r.stdout.match(/hello from origin/g) ?? []).length, 3);
  });

  it("a 64 MiB download through the tunnel arrives byte-identical (SHA-256)", async () => {
    const size = 64 * 1024 * 1024 + 12345;
    const out = join(work, "big.bin");
    const r = await curl(["-x", `http://127.0.0.1:${gw.port}`, "--cacert", pki.caFile, "-o", out, `https://origin.test:${tlsOrigin.port}/bytes?size=${size}`], 120_000);
    assert.equal(r.code, 0, r.stderr);
    const got = readFileSync(out);
    assert.equal(got.byteLength, size);
    assert.equal(createHash("sha256").update(got).digest("hex"), expectedSha(size));
  });

  it("a 64 MiB plain-HTTP download arrives byte-identical (SHA-256)", async () => {
    const size = 64 * 1024 * 1024 + 1;
    const out = join(work, "big-http.bin");
    const r = await curl(["-x", `http://127.0.0.1:${gw.port}`, "-o", out, `http://origin.test:${httpOrigin.port}/bytes?size=${size}`], 120_000);
    assert.equal(r.code, 0, r.stderr);
    const got = readFileSync(out);
    assert.equal(createHash("sha256").update(got).digest("hex"), expectedSha(size));
  });

  it("ws:// in absolute form: the 101 turns the request into a relay, 8 MiB echoed both ways intact", async () => {
    const frames = 128;
    const size = 65_000;
    const r = await run("node", [join(support, "ws-plain-client.mjs"), String(gw.port), "origin.test", String(wsPort), String(frames), String(size)], 40_000);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `echoed ${frames * size} bytes in ${frames} frames`);
    const f = await gw.waitForFlow((f) => f.kind === "http" && f.port === wsPort);
    assert.equal(f.status, 101);
    assert.equal(f.end, "eof");
    assert.equal(f.rule, "origin");
    assert.ok((f.bytesUp as number) > frames * size && (f.bytesDown as number) > frames * size, JSON.stringify(f));
  });

  it("half-close crosses the tunnel: the origin answers after the client's FIN", async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const s = net.connect({ port: gw.port, host: "127.0.0.1", allowHalfOpen: true });
      let buf = "";
      let established = false;
      s.setEncoding("latin1");
      s.on("error", reject);
      s.on("data", (d: string) => {
        buf += d;
        if (!established && buf.includes("\r\n\r\n")) {
          established = true;
          assert.match(buf, /^HTTP\/1\.1 200 /);
          buf = buf.slice(buf.indexOf("\r\n\r\n") + 4);
          s.end("x".repeat(1000)); // data then FIN
        }
      });
      s.on("end", () => resolve(buf));
      s.write(`CONNECT 127.0.0.1:${halfClosePort} HTTP/1.1\r\nHost: 127.0.0.1:${halfClosePort}\r\n\r\n`);
    });
    assert.equal(answer, "got 1000 bytes after your FIN");
  });

  it("connection refused upstream → 502 with the reason", async () => {
    const raw = await rawExchange(gw.port, "CONNECT refused.test:1 HTTP/1.1\r\nHost: refused.test:1\r\n\r\n");
    assert.match(raw, /^HTTP\/1\.1 502 Bad Gateway\r\n/);
    assert.match(raw, /refused\.test:1/);
    const f = await gw.waitForFlow((f) => f.host === "refused.test");
    assert.equal(f.status, 502);
    assert.ok(f.error);
  });

  it("the address guard refuses internal destinations before dialing (SSRF), even when a rule allows them", async () => {
    // none of these is dialed: the guard answers first, so no traffic leaves loopback
    for (const [target, cls] of [
      ["metadata.test:9", /metadata/],
      ["intranet.test:9", /private/],
      ["10.0.0.1:9", /private/],
      ["[::ffff:169.254.169.254]:9", /metadata/],
    ] as const) {
      const raw = await rawExchange(gw.port, `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
      assert.match(raw, /^HTTP\/1\.1 403 /, target);
      assert.match(raw, /address guard/, target);
      assert.match(raw, cls, target);
    }
    const f = await gw.waitForFlow((f) => f.host === "metadata.test");
    assert.equal(f.decision, "deny");
    assert.equal(f.rule, "address-guard");
    assert.equal(f.resolved, null);
  });

  it("malformed and oversized requests get 400/431 and a clean close", async () => {
    assert.match(await rawExchange(gw.port, "GET http://origin.test/ HTTP/1.1\nHost: origin.test\n\n"), /^HTTP\/1\.1 400 /);
    assert.match(
      await rawExchange(gw.port, "POST http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
      /^HTTP\/1\.1 400 /,
    );
    assert.match(await rawExchange(gw.port, `GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\nX-Big: ${"a".repeat(70_000)}\r\n\r\n`), /^HTTP\/1\.1 431 /);
    assert.match(await rawExchange(gw.port, "TRACE http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\n\r\n"), /^HTTP\/1\.1 405 /);
    assert.match(await rawExchange(gw.port, "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03garbage"), /^HTTP\/1\.1 400 /);
  });

  it("a client that stalls mid-head gets 408 after the header timeout", async () => {
    const t0 = Date.now();
    const raw = await rawExchange(gw.port, "GET http://origin.test/ HTTP/1.1\r\nHost: orig", 8000);
    assert.match(raw, /^HTTP\/1\.1 408 /);
    assert.ok(Date.now() - t0 < 6000);
  });
});
