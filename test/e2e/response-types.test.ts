/**
 * Url rules decided by the response's type on a real gateway process, with real curl: a
 * decrypted session and plain HTTP get the block page instead of a video or an executable,
 * other types pass byte for byte, an exception for one host holds, and the admin API's
 * explain answers for a given response type. And a rule's body limits: an upload or a
 * download over them gets 413. Only 127.0.0.1: an HTTP and an HTTPS origin, names mapped by
 * `dns.hosts`.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers/temp-dir.ts";
import { makeTestPki, type TestPki } from "./support/certs.ts";
import { curl } from "./support/curl.ts";
import { cliCommand, type GatewayProcess, startGateway } from "./support/gateway.ts";

/**
 * Routes: `/page` (text/html), `/movie` (64 MiB of video/mp4, written as the client reads),
 * `/tool.exe`, `/blob` (no Content-Type), `/upload` (answers the body's length).
 */
const handler: http.RequestListener = (req, res) => {
  const path = new URL(req.url ?? "/", "http://origin").pathname;
  if (path === "/page") {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end("<p>page</p>");
  } else if (path === "/movie") {
    const size = 64 << 20;
    res.writeHead(200, { "content-type": "video/mp4", "content-length": String(size) });
    const chunk = new Uint8Array(1 << 16);
    let sent = 0;
    const pump = () => {
      while (sent < size) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once("drain", pump);
      }
      res.end();
    };
    res.on("close", () => (sent = size));
    pump();
  } else if (path === "/tool.exe") {
    res.writeHead(200, { "content-type": "application/x-msdownload" });
    res.end("MZ");
  } else if (path === "/upload") {
    let n = 0;
    req.on("data", (c: Uint8Array) => (n += c.byteLength));
    req.on("end", () => res.end(String(n)));
  } else if (path === "/blob") {
    res.removeHeader("content-type");
    res.end("??");
  } else {
    res.writeHead(404);
    res.end();
  }
};

describe("url rules with responseTypes (real gateway, real curl)", { timeout: 90_000 }, () => {
  let plain: http.Server;
  let secure: https.Server;
  let plainPort: number;
  let securePort: number;
  let pki: TestPki;
  let gwCa: string;
  let gw: GatewayProcess;

  /** curl through the gateway; `-w` gives the status. */
  const get = async (url: string, extra: string[] = []) => {
    const r = await curl(["-sS", "-x", `http://127.0.0.1:${gw.port}`, "--cacert", gwCa, url, "-w", "\n%{http_code}", ...extra]);
    assert.equal(r.code, 0, r.stderr);
    const cut = r.stdout.lastIndexOf("\n");
    return { status: Number(r.stdout.slice(cut + 1)), body: r.stdout.slice(0, cut) };
  };

  before(async () => {
    plain = http.createServer(handler);
    await new Promise<void>((resolve) => plain.listen(0, "127.0.0.1", resolve));
    plainPort = (plain.address() as AddressInfo).port;
    pki = makeTestPki(["tv.test", "partner.test", "files.test"]);
    secure = https.createServer({ cert: pki.certPem, key: pki.keyPem }, handler);
    await new Promise<void>((resolve) => secure.listen(0, "127.0.0.1", resolve));
    securePort = (secure.address() as AddressInfo).port;
    const work = tempDir("tollgate-response-types-");
    const [cmd, ...args] = cliCommand();
    execFileSync(cmd!, [...args, "ca", "init", "--out", join(work, "ca")], { encoding: "utf8" });
    gwCa = join(work, "ca", "ca.pem");
    gw = await startGateway({
      listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:0" }],
      ca: { cert: gwCa, key: join(work, "ca", "ca.key") },
      interception: { upstreamCaFiles: [pki.caFile] },
      addressGuard: { allow: ["127.0.0.0/8"] },
      admin: { listen: "127.0.0.1:0" },
      dns: { hosts: { "tv.test": ["127.0.0.1"], "partner.test": ["127.0.0.1"], "files.test": ["127.0.0.1"] } },
      policy: {
        defaultAction: "deny",
        rules: [{ id: "inspect", hosts: ["tv.test", "partner.test", "files.test"], action: "allow", decryption: "decrypt" }],
        urlRules: [
          { id: "files", hosts: ["files.test"], action: "allow", maxRequestBytes: 1 << 20, maxResponseBytes: 1 << 20 },
          { id: "partner-video", hosts: ["partner.test"], responseTypes: ["video/*"], action: "allow" },
          { id: "no-video", responseTypes: ["video/*"], action: "deny", message: "No streaming at work." },
          { id: "no-exe", responseTypes: ["application/x-msdownload", "application/octet-stream"], action: "deny" },
        ],
      },
    });
  });

  after(async () => {
    await gw?.stop();
    await new Promise<void>((resolve) => plain?.close(() => resolve()));
    secure?.closeAllConnections();
    await new Promise<void>((resolve) => secure?.close(() => resolve()));
  });

  it("decrypted: a page passes, a 64 MiB video is replaced by the block page, with a request line naming the rule and the type", async () => {
    const page = await get(`https://tv.test:${securePort}/page`);
    assert.deepEqual(page, { status: 200, body: "<p>page</p>" });
    const started = Date.now();
    const movie = await get(`https://tv.test:${securePort}/movie`, ["-H", "Accept: text/plain"]);
    assert.equal(movie.status, 403);
    assert.match(movie.body, /url rule "no-video" matched response type "video\/mp4" \(pattern "video\/\*"\)/);
    assert.match(movie.body, /No streaming at work\./);
    assert.ok(movie.body.length < 10_000, "none of the video reached the client");
    const line = await gw.waitForFlow((f) => f["type"] === "request" && f["url"] === `https://tv.test:${securePort}/movie`);
    assert.deepEqual([line["decision"], line["rule"], line["status"]], ["deny", "no-video", 403]);
    assert.ok(Date.now() - started < 20_000);
  });

  it("an allow ahead of the deny is an exception for one host", async () => {
    const r = await curl(["-sS", "-o", "/dev/null", "-x", `http://127.0.0.1:${gw.port}`, "--cacert", gwCa, `https://partner.test:${securePort}/movie`, "-w", "%{http_code} %{size_download}"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `200 ${64 << 20}`);
    const line = await gw.waitForFlow((f) => f["type"] === "request" && f["url"] === `https://partner.test:${securePort}/movie`);
    assert.equal(line["rule"], "partner-video");
  });

  it("plain HTTP: an executable and content without a type are denied, the flow line names the rule", async () => {
    const exe = await get(`http://tv.test:${plainPort}/tool.exe`, ["-H", "Accept: text/plain"]);
    assert.equal(exe.status, 403);
    assert.match(exe.body, /url rule "no-exe" matched response type "application\/x-msdownload"/);
    const blob = await get(`http://tv.test:${plainPort}/blob`, ["-H", "Accept: text/plain"]);
    assert.equal(blob.status, 403);
    assert.match(blob.body, /response type "application\/octet-stream"/);
    const flow = await gw.waitForFlow((f) => f["type"] === "flow" && f["host"] === "tv.test" && f["port"] === plainPort && f["rule"] === "no-exe");
    assert.equal(flow["decision"], "deny");
    assert.equal((await get(`http://tv.test:${plainPort}/page`)).status, 200);
  });

  it("POST /policy/explain answers for a response type", async () => {
    const ask = async (body: unknown) => {
      const res = await fetch(`http://127.0.0.1:${gw.ports.get("admin")}/policy/explain`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      assert.equal(res.status, 200);
      return (await res.json()) as { url?: { ruleId: string; byResponse?: { ruleId: string }[] } };
    };
    const open = await ask({ url: "https://tv.test/movie" });
    assert.deepEqual(open.url?.byResponse?.map((p) => p.ruleId), ["no-video", "no-exe"]);
    assert.equal((await ask({ url: "https://tv.test/movie", responseType: "video/mp4" })).url?.ruleId, "no-video");
  });

  it("body limits: an upload or a download over 1 MiB gets 413 naming the rule; under it passes", async () => {
    const work = tempDir("tollgate-body-limits-");
    const upload = async (size: number) => {
      const file = join(work, `up-${size}`);
      writeFileSync(file, new Uint8Array(size));
      return await get(`https://files.test:${securePort}/upload`, ["--data-binary", `@${file}`, "-H", "Content-Type: application/octet-stream", "-H", "Accept: text/plain"]);
    };
    assert.deepEqual(await upload(512 << 10), { status: 200, body: String(512 << 10) });
    const big = await upload(2 << 20);
    assert.equal(big.status, 413);
    assert.match(big.body, /url rule "files" allows request bodies of up to 1 MiB \(1048576 bytes\); this one has 2 MiB \(2097152 bytes\)/);
    const movie = await get(`https://files.test:${securePort}/movie`, ["-H", "Accept: text/plain"]);
    assert.equal(movie.status, 413);
    assert.match(movie.body, /allows response bodies of up to 1 MiB \(1048576 bytes\); this one has 64 MiB/);
    const line = await gw.waitForFlow((f) => f["type"] === "request" && f["url"] === `https://files.test:${securePort}/movie`);
    assert.deepEqual([line["decision"], line["rule"], line["status"]], ["deny", "files", 413]);
  });
});
