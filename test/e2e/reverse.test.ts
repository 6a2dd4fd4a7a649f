import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Backend, startBackend, stopBackend } from "./support/backend.ts";
import { curl } from "./support/curl.ts";
import { cliCommand, type GatewayProcess, startGateway } from "./support/gateway.ts";
import { patternBlock } from "./support/origin.ts";
import { makeOpensslCa } from "./support/reverse-pki.ts";
import { closedPort } from "./support/ports.ts";
import { run } from "./support/run.ts";

const support = new URL("./support/", import.meta.url).pathname;
const MiB = 1 << 20;

function expectedSha(size: number): string {
  const block = patternBlock();
  const h = createHash("sha256");
  for (let done = 0; done < size; done += block.length) h.update(block.subarray(0, Math.min(block.length, size - done)));
  return h.digest("hex");
}

describe("reverse proxy end to end (real curl, openssl, Node backends)", { timeout: 240_000 }, () => {
  let work: string;
  let frontCa: string;
  let gw: GatewayProcess;
  const backends = new Map<string, Backend>();
  let rev: number;
  let strict: number;
  let plain: number;
  let redir: number;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "tollgate-reverse-"));
    // the certificates the gateway serves, from a CA the clients trust
    const front = makeOpensslCa("Reverse Front CA", join(work));
    frontCa = front.caFile;
    const a = front.issue("a", ["a.test"]);
    const b = front.issue("b", ["b.test", "secure.test", "down.test", "hc.test"]);
    const w = front.issue("w", ["*.w.test"]);
    // the https backend's own CA: its server certificate and the gateway's client certificate
    const inner = makeOpensslCa("Backend Inner CA", mkdtempSync(join(work, "inner-")));
    const server = inner.issue("backend", ["backend.internal"]);
    const client = inner.issue("gateway-client", ["tollgate-gateway"], { client: true });
    // a gateway CA for minting, made by the gateway's own CLI on the runtime under test
    const [cmd, ...args] = cliCommand();
    execFileSync(cmd!, [...args, "ca", "init", "--out", join(work, "gwca")], { encoding: "utf8" });

    for (const name of ["a1", "api", "rr1", "rr2", "hc1", "hc2"]) backends.set(name, await startBackend(name));
    backends.set("secure", await startBackend("secure", [server.cert, server.key, inner.caFile]));
    const port = (n: string) => backends.get(n)!.port;
    const down = await closedPort();
    // the page browsers get for the gateway's own errors
    writeFileSync(join(work, "errors.html"), "<!doctype html><title>{{status}} {{title}}</title><h1>{{title}}</h1><p>{{message}}</p><p>Quote {{requestId}}</p>\n");

    // a user for the route with basicAuth; the hash from the real CLI, password on stdin
    const [cli, ...cliArgs] = cliCommand();
    const hash = execFileSync(cli!, [...cliArgs, "auth", "hash", "--iterations", "100000"], { input: "0ps-pass\n", encoding: "utf8" }).trim();
    gw = await startGateway({
      proxyAuth: { realm: "tollgate", users: [{ name: "ops", passwordHash: hash }] },
      listeners: [
        {
          name: "rev",
          mode: "reverse",
          listen: "127.0.0.1:0",
          tls: {
            certificates: [{ cert: a.cert, key: a.key, default: true }, { cert: b.cert, key: b.key }, { cert: w.cert, key: w.key }],
            mint: ["*.internal.test"],
          },
        },
        { name: "strict", mode: "reverse", listen: "127.0.0.1:0", tls: { certificates: [{ cert: a.cert, key: a.key }], unknownSni: "refuse" } },
        { name: "plain", mode: "reverse", listen: "127.0.0.1:0", tls: false, trustForwardedFrom: ["127.0.0.1"] },
        { name: "redir", mode: "redirect-https", listen: "127.0.0.1:0", httpsPort: 8443 },
      ],
      ca: { cert: join(work, "gwca", "ca.pem"), key: join(work, "gwca", "ca.key") },
      reverse: {
        pools: {
          a: { backends: [`http://127.0.0.1:${port("a1")}`] },
          api: { backends: [`http://127.0.0.1:${port("api")}`] },
          slow: { backends: [`http://127.0.0.1:${port("a1")}`], timeoutMs: 1500 },
          rr: { backends: [`http://127.0.0.1:${port("rr1")}`, `http://127.0.0.1:${port("rr2")}`], ejectMs: 60_000 },
          secure: {
            backends: [`https://127.0.0.1:${port("secure")}`],
            tls: { caFile: inner.caFile, serverName: "backend.internal", clientCert: client.cert, clientKey: client.key },
          },
          down: { backends: [`http://127.0.0.1:${down}`] },
          hc: {
            backends: [`http://127.0.0.1:${port("hc1")}`, `http://127.0.0.1:${port("hc2")}`],
            healthCheck: { path: "/healthz", intervalMs: 200, timeoutMs: 1000, unhealthyThreshold: 1, healthyThreshold: 1 },
          },
        },
        routes: [
          { id: "a-api", hosts: ["a.test"], pathPrefix: "/api", pool: "api" },
          { id: "a-slow", hosts: ["a.test"], pathPrefix: "/slow", pool: "slow" },
          { id: "a-admin", hosts: ["a.test"], pathPrefix: "/admin", pool: "a", clients: ["10.0.0.0/8"] },
          { id: "a-ops", hosts: ["a.test"], pathPrefix: "/ops", pool: "a", basicAuth: { users: ["ops"], realm: "Ops console" } },
          { id: "a-limited", hosts: ["a.test"], pathPrefix: "/limited", pool: "a", rateLimit: { requestsPerSecond: 0.01, burst: 2 } },
          {
            id: "a-root",
            hosts: ["a.test"],
            pool: "a",
            responseHeaders: { remove: ["X-Internal"], add: { "X-Served-By": "tollgate" } },
            deny: [{ paths: ["/private"], methods: ["DELETE"] }],
          },
          { id: "b", hosts: ["b.test"], pool: "rr" },
          { id: "secure", hosts: ["secure.test"], pool: "secure" },
          { id: "down", hosts: ["down.test"], pool: "down" },
          { id: "wild", hosts: ["*.w.test", "*.internal.test"], pool: "a" },
          { id: "hc", hosts: ["hc.test"], pool: "hc" },
        ],
        errorPages: { template: join(work, "errors.html"), detailsFor: ["203.0.113.0/24"] },
      },
    }, { listener: "rev" });
    rev = gw.ports.get("rev")!;
    strict = gw.ports.get("strict")!;
    plain = gw.ports.get("plain")!;
    redir = gw.ports.get("redir")!;
  });

  after(async () => {
    const graceful = await gw?.stop();
    for (const b of backends.values()) await stopBackend(b);
    if (work) rmSync(work, { recursive: true, force: true });
    assert.equal(graceful, true);
  });

  /** curl to https://HOST:rev/PATH, resolving HOST to 127.0.0.1 and trusting the front CA. */
  const get = (host: string, path: string, extra: string[] = [], port = rev) =>
    curl(["--resolve", `${host}:${port}:127.0.0.1`, "--cacert", frontCa, ...extra, `https://${host}:${port}${path}`]);
  const json = async (host: string, path: string, extra: string[] = []) => {
    const r = await get(host, path, extra);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as { backend: string; url: string; headers: Record<string, string>; clientCert: string | null };
  };
  const subject = async (port: number, servername: string) => {
    const r = await run("openssl", ["s_client", "-connect", `127.0.0.1:${port}`, "-servername", servername]);
    return { ...r, subject: /subject=\s*CN\s*=\s*(\S+)/.exec(r.stdout)?.[1], issuer: /issuer=\s*CN\s*=\s*([^\n]+)/.exec(r.stdout)?.[1] };
  };

  it("selects the certificate by SNI (openssl s_client): exact names, a wildcard, the default, a minted one", async () => {
    assert.equal((await subject(rev, "a.test")).subject, "a.test");
    assert.equal((await subject(rev, "b.test")).subject, "b.test");
    assert.equal((await subject(rev, "shop.w.test")).subject, "*.w.test");
    assert.equal((await subject(rev, "unknown.test")).subject, "a.test"); // the default
    const minted = await subject(rev, "db.internal.test");
    assert.equal(minted.subject, "db.internal.test");
    assert.match(minted.issuer ?? "", /Tollgate/);
    const r = await get("shop.w.test", "/", ["-o", "/dev/null", "-w", "%{http_code}"]);
    assert.equal(r.stdout, "200", r.stderr);
  });

  it("refuses an unknown SNI with unrecognized_name when the listener says so", async () => {
    const ok = await subject(strict, "a.test");
    assert.equal(ok.subject, "a.test");
    const refused = await run("openssl", ["s_client", "-connect", `127.0.0.1:${strict}`, "-servername", "unknown.test"]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stdout + refused.stderr, /unrecognized name/i);
    const f = await gw.waitForFlow((f) => f.type === "flow" && f.listener === "strict" && f.rule === "unknown-sni");
    assert.equal(f.decision, "deny");
  });

  it("routes two hosts and two path prefixes to different backends (longest prefix, segment boundaries)", async () => {
    assert.equal((await json("a.test", "/")).backend, "a1");
    assert.equal((await json("a.test", "/api/v1/users?x=1")).backend, "api");
    assert.equal((await json("a.test", "/api/v1/users?x=1")).url, "/api/v1/users?x=1");
    assert.equal((await json("a.test", "/apix")).backend, "a1");
    assert.match((await json("b.test", "/anything")).backend, /^rr[12]$/);
    const q = await gw.waitForFlow((f) => f.type === "request" && f.rule === "a-api");
    assert.equal(q.status, 200);
    assert.equal(q.mode, "reverse");
    assert.match(String(q.url), /^https:\/\/a\.test:\d+\/api\/v1\/users\?x=1$/);
  });

  it("a route with basicAuth: 401 and a challenge without credentials, through with them (the backend sees the user, not the password)", async () => {
    const none = await get("a.test", "/ops/x", ["-i"]);
    assert.match(none.stdout, /^HTTP\/1\.1 401 /);
    assert.match(none.stdout, /^www-authenticate: Basic realm="Ops console", charset="UTF-8"\r$/im);
    const wrong = await get("a.test", "/ops/x", ["-u", "ops:nope", "-o", "/dev/null", "-w", "%{http_code}"]);
    assert.equal(wrong.stdout, "401");
    const body = await json("a.test", "/ops/x", ["-u", "ops:0ps-pass", "-H", "X-Forwarded-User: root"]);
    assert.equal(body.url, "/ops/x");
    assert.equal(body.headers["x-forwarded-user"], "ops");
    assert.equal(body.headers["authorization"], undefined);
    const q = await gw.waitForFlow((f) => f.type === "request" && f.rule === "a-ops" && f.status === 200);
    assert.equal(q.user, "ops");
    const refused = await gw.waitForFlow((f) => f.type === "request" && f.rule === "a-ops" && f.status === 401 && /bad credentials/.test(String(f.reason)));
    assert.equal(refused.decision, "deny");
  });

  it("a route with rateLimit: the burst gets through, then 429 with Retry-After, logged", async () => {
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await get("a.test", "/limited/x", ["-o", "/dev/null", "-w", "%{http_code}"])).stdout);
    assert.deepEqual(codes, ["200", "200", "429"]);
    const limited = await get("a.test", "/limited/x", ["-i"]);
    assert.match(limited.stdout, /^HTTP\/1\.1 429 Too Many Requests\r$/m);
    assert.match(limited.stdout, /^retry-after: 100\r$/im);
    assert.match(limited.stdout, /\r\n\r\nToo many requests \(request id [\w-]+\)\n$/);
    const q = await gw.waitForFlow((f) => f.type === "request" && f.rule === "a-limited.rate-limit");
    assert.equal(q.status, 429);
    assert.match(String(q.reason), /client 127\.0\.0\.1 over 0\.01 requests\/s \(burst 2\)/);
    assert.equal(q.decision, "deny");
  });

  it("reaches an https backend validated against its own CA, with a client certificate (mTLS)", async () => {
    const body = await json("secure.test", "/hello");
    assert.equal(body.backend, "secure");
    assert.equal(body.clientCert, "tollgate-gateway");
  });

  it("sets X-Forwarded-* and Forwarded, replacing what an untrusted client sent", async () => {
    const body = await json("a.test", "/", ["-H", "X-Forwarded-For: 6.6.6.6", "-H", "Forwarded: for=6.6.6.6", "-H", "X-Forwarded-Host: evil.test", "-H", "X-Request-Id: forged"]);
    assert.equal(body.headers["x-forwarded-for"], "127.0.0.1");
    const id = body.headers["x-request-id"];
    assert.match(String(id), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, "ours, not the client's");
    const line = await gw.waitForFlow((f) => f.type === "request" && f.requestId === id);
    assert.equal(line.status, 200);
    assert.equal(body.headers["x-forwarded-proto"], "https");
    assert.equal(body.headers["x-forwarded-host"], `a.test:${rev}`);
    assert.equal(body.headers["forwarded"], `for=127.0.0.1;host="a.test:${rev}";proto=https`);
    assert.equal(body.headers["via"], "1.1 tollgate");
    // response edits of the route
    const r = await get("a.test", "/", ["-i"]);
    assert.match(r.stdout, /^x-served-by: tollgate\r$/im);
    assert.doesNotMatch(r.stdout, /x-internal/i);
  });

  it("appends to the forwarding fields of a trusted peer, and uses its client for allow lists", async () => {
    const r = await curl(["-H", "Host: a.test", "-H", "X-Forwarded-For: 203.0.113.5", "-H", "X-Forwarded-Proto: https", `http://127.0.0.1:${plain}/`]);
    assert.equal(r.code, 0, r.stderr);
    const body = JSON.parse(r.stdout) as { headers: Record<string, string> };
    assert.equal(body.headers["x-forwarded-for"], "203.0.113.5, 127.0.0.1");
    assert.equal(body.headers["x-forwarded-proto"], "https");
    const denied = await get("a.test", "/admin", ["-i"]);
    assert.match(denied.stdout, /^HTTP\/1\.1 403 /);
    assert.match(denied.stdout, /\r\n\r\nAccess denied \(request id [\w-]+\)\n$/, "the route is not named to a client outside errorPages.detailsFor");
    const line = await gw.waitForFlow((f) => f.type === "request" && f.rule === "a-admin" && f.status === 403);
    assert.equal(line.reason, 'Client 127.0.0.1 is not allowed on route "a-admin"');
    const allowed = await curl(["-H", "Host: a.test", "-H", "X-Forwarded-For: 10.1.2.3", "-o", "/dev/null", "-w", "%{http_code}", `http://127.0.0.1:${plain}/admin`]);
    assert.equal(allowed.stdout, "200");
    const deleteDenied = await get("a.test", "/private/x", ["-X", "DELETE", "-o", "/dev/null", "-w", "%{http_code}"]);
    assert.equal(deleteDenied.stdout, "403");
  });

  it("WebSocket through the TLS-terminating listener", async () => {
    const r = await run("node", [join(support, "reverse-ws-client.mjs"), String(rev), "a.test", frontCa, "hello over reverse websocket"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), "hello over reverse websocket");
  });

  it("a 64 MiB download and a 64 MiB upload arrive byte-identical (SHA-256)", async () => {
    const size = 64 * MiB + 123;
    const out = join(work, "down.bin");
    const d = await get("a.test", `/bytes?size=${size}`, ["-o", out], rev);
    assert.equal(d.code, 0, d.stderr);
    const got = readFileSync(out);
    assert.equal(got.byteLength, size);
    assert.equal(createHash("sha256").update(got).digest("hex"), expectedSha(size));
    rmSync(out);

    const upSize = 64 * MiB + 7;
    const file = join(work, "up.bin");
    const block = patternBlock();
    const ws = createWriteStream(file);
    for (let done = 0; done < upSize; done += block.length) ws.write(block.subarray(0, Math.min(block.length, upSize - done)));
    await new Promise<void>((resolve, reject) => ws.end((e?: Error | null) => (e ? reject(e) : resolve())));
    const u = await get("a.test", "/upload", ["--data-binary", `@${file}`, "-H", "Content-Type: application/octet-stream"]);
    assert.equal(u.code, 0, u.stderr);
    assert.deepEqual(JSON.parse(u.stdout), { sha256: expectedSha(upSize), length: upSize });
    rmSync(file);
  });

  it("answers 404 without a route, 502 when the backend is down, 504 when it is silent, and logs each", async () => {
    const none = await get("a.test", "/", ["-i", "-H", "Host: nohost.test"]);
    assert.match(none.stdout, /^HTTP\/1\.1 404 /);
    assert.match(none.stdout, /No route for nohost\.test\//);
    const down = await get("down.test", "/", ["-i"]);
    assert.match(down.stdout, /^HTTP\/1\.1 502 /);
    const id = /^x-request-id: (\S+)\r$/im.exec(down.stdout)?.[1];
    assert.ok(id, down.stdout);
    assert.ok(down.stdout.endsWith(`\r\n\r\nThe service could not be reached (request id ${id})\n`), down.stdout);
    assert.doesNotMatch(down.stdout, /pool|127\.0\.0\.1/, "neither the pool nor the backend is shown");
    // through the listener that believes 127.0.0.1's X-Forwarded-For: a client in detailsFor
    const told = await curl(["-i", "-H", "Host: down.test", "-H", "X-Forwarded-For: 203.0.113.5", `http://127.0.0.1:${plain}/`]);
    assert.match(told.stdout, /^HTTP\/1\.1 502 [^]*No backend of pool "down" could be reached: Connect to backend http:\/\/127\.0\.0\.1:\d+/);
    // a browser gets the page
    const page = await get("down.test", "/", ["-i", "-H", "Accept: text/html,application/xhtml+xml,*/*;q=0.8"]);
    assert.match(page.stdout, /^content-type: text\/html; charset=utf-8\r$/im);
    assert.match(page.stdout, /\r\n\r\n<!doctype html><title>502 Bad Gateway<\/title><h1>Bad Gateway<\/h1><p>The service could not be reached \(request id ([\w-]+)\)<\/p><p>Quote \1<\/p>\n$/);
    const t0 = Date.now();
    const slow = await get("a.test", "/slow", ["-i"]);
    assert.match(slow.stdout, /^HTTP\/1\.1 504 /);
    assert.match(slow.stdout, /The service did not answer in time \(request id/);
    assert.ok(Date.now() - t0 < 10_000);
    assert.equal((await gw.waitForFlow((f) => f.type === "request" && f.rule === "no-route")).status, 404);
    const downLine = await gw.waitForFlow((f) => f.type === "request" && f.rule === "down" && f.requestId === id);
    assert.equal(downLine.status, 502);
    assert.match(String(downLine.error), /^No backend of pool "down" could be reached: Connect to backend http:\/\/127\.0\.0\.1:\d+/);
    const q = await gw.waitForFlow((f) => f.type === "request" && f.rule === "a-slow");
    assert.equal(q.status, 504);
    assert.match(String(q.error), /did not answer/);
  });

  it("balances round-robin across two backends, and fails over when one is stopped", async () => {
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) seen.push((await json("b.test", "/")).backend);
    assert.deepEqual(new Set(seen), new Set(["rr1", "rr2"]));
    for (let i = 1; i < seen.length; i++) assert.notEqual(seen[i], seen[i - 1], `not alternating: ${seen.join(",")}`);
    await stopBackend(backends.get("rr2"));
    const after: string[] = [];
    for (let i = 0; i < 4; i++) after.push((await json("b.test", "/")).backend);
    assert.deepEqual(after, ["rr1", "rr1", "rr1", "rr1"]);
    assert.match(gw.stderr.join(""), /backend http:\/\/127\.0\.0\.1:\d+ of pool "rr" ejected/);
  });

  it("active health checks take a sick backend out of the rotation", async () => {
    const hc2 = backends.get("hc2")!;
    const sick = await curl(["-X", "POST", `http://127.0.0.1:${hc2.port}/sick`]);
    assert.equal(sick.code, 0, sick.stderr);
    const until = Date.now() + 5000;
    while (!gw.stderr.join("").includes(`backend http://127.0.0.1:${hc2.port} of pool "hc" is down`)) {
      if (Date.now() > until) assert.fail(`no health change logged:\n${gw.stderr.join("")}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const got: string[] = [];
    for (let i = 0; i < 4; i++) got.push((await json("hc.test", "/")).backend);
    assert.deepEqual(got, ["hc1", "hc1", "hc1", "hc1"]);
  });

  it("the redirect-https listener answers 308 to the same host, path and query", async () => {
    const r = await curl(["-i", "-H", "Host: a.test", `http://127.0.0.1:${redir}/some/path?q=1&r=2`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^HTTP\/1\.1 308 Permanent Redirect\r\n/);
    assert.match(r.stdout, /^Location: https:\/\/a\.test:8443\/some\/path\?q=1&r=2\r$/m);
    const f = await gw.waitForFlow((f) => f.type === "flow" && f.listener === "redir");
    assert.equal(f.status, 308);
    assert.equal(f.mode, "reverse");
  });
});
