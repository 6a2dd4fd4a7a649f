import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Backend, startBackend, stopBackend } from "./support/backend.ts";
import { curl } from "./support/curl.ts";
import { type GatewayProcess, startGateway } from "./support/gateway.ts";
import { makeOpensslCa } from "./support/reverse-pki.ts";
import { closedPort } from "./support/ports.ts";
import { connect, type Socket } from "node:net";

/**
 * Backend connections shared across clients on a real gateway: separate curl runs (a new
 * client connection each) reach the backend on one connection, over plain HTTP and over
 * validated TLS; NTLM keeps a connection to its client; the metrics count the reuse.
 */
describe("reverse proxy: backend connections shared across clients (real curl, Node backends)", { timeout: 120_000 }, () => {
  let work: string;
  let gw: GatewayProcess;
  let plain: Backend;
  let secure: Backend;
  let second: Backend;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "tollgate-reverse-pool-"));
    const inner = makeOpensslCa("Pool Backend CA", mkdtempSync(join(work, "inner-")));
    const server = inner.issue("backend", ["backend.internal"]);
    plain = await startBackend("plain");
    second = await startBackend("second");
    const downPort = await closedPort();
    secure = await startBackend("secure", [server.cert, server.key]);
    gw = await startGateway({
      listeners: [{ name: "rev", mode: "reverse", listen: "127.0.0.1:0", tls: false }],
      reverse: {
        pools: {
          plain: { backends: [`http://127.0.0.1:${plain.port}`] },
          secure: { backends: [`https://127.0.0.1:${secure.port}`], tls: { caFile: inner.caFile, serverName: "backend.internal" } },
          own: { backends: [`http://127.0.0.1:${plain.port}`], keepAlive: { maxIdlePerBackend: 0 } },
          down: { backends: [`http://127.0.0.1:${downPort}`], ejectMs: 60_000 },
          held: { backends: [`http://127.0.0.1:${plain.port}`] },
          sticky: { backends: [`http://127.0.0.1:${plain.port}`, `http://127.0.0.1:${second.port}`], balance: "client-hash" },
        },
        routes: [
          { id: "plain", hosts: ["plain.test"], pool: "plain" },
          { id: "secure", hosts: ["secure.test"], pool: "secure" },
          { id: "own", hosts: ["own.test"], pool: "own" },
          { id: "down", hosts: ["down.test"], pool: "down" },
          { id: "held", hosts: ["held.test"], pool: "held" },
          { id: "sticky", hosts: ["sticky.test"], pool: "sticky" },
        ],
      },
      admin: { listen: "127.0.0.1:0" },
    }, { listener: "rev" });
  });

  after(async () => {
    const graceful = await gw?.stop();
    await stopBackend(plain);
    await stopBackend(secure);
    await stopBackend(second);
    if (work) rmSync(work, { recursive: true, force: true });
    assert.equal(graceful, true);
  });

  /** One curl run (its own client connection): the backend's view of the request. */
  const get = async (host: string, extra: string[] = []) => {
    const r = await curl(["-H", `Host: ${host}`, ...extra, `http://127.0.0.1:${gw.port}/`]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as { backend: string; peerPort: number };
  };
  const metrics = async () => (await fetch(`http://127.0.0.1:${gw.ports.get("admin")}/metrics`)).text();

  it("three clients one after another reach each backend on one connection (plain HTTP and TLS)", async () => {
    for (const host of ["plain.test", "secure.test"]) {
      const seen = [await get(host), await get(host), await get(host)];
      assert.equal(new Set(seen.map((s) => s.peerPort)).size, 1, `${host}: ${JSON.stringify(seen)}`);
    }
    const text = await metrics();
    assert.match(text, /^tollgate_backend_reused_total\{pool="plain"\} 2$/m);
    assert.match(text, /^tollgate_backend_reused_total\{pool="secure"\} 2$/m);
    assert.match(text, /^tollgate_backend_idle_connections\{pool="secure"\} 1$/m);
  });

  it("a pool with maxIdlePerBackend 0 dials for every client; NTLM keeps a connection to its client", async () => {
    const own = [await get("own.test"), await get("own.test")];
    assert.notEqual(own[0]!.peerPort, own[1]!.peerPort);
    const pooled = await get("plain.test");
    const ntlm = await get("plain.test", ["-H", "Authorization: NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAGAbEdAAAADw=="]);
    assert.equal(ntlm.peerPort, pooled.peerPort, "the NTLM request itself may take the idle connection");
    const after = await get("plain.test");
    assert.notEqual(after.peerPort, ntlm.peerPort, "but that connection is not given to the next client");
  });

  it("GET /backends and tollgate_backend_up show which backends take requests, and why one does not", async () => {
    const failed = await curl(["-H", "Host: down.test", "-o", "/dev/null", "-w", "%{http_code}", `http://127.0.0.1:${gw.port}/`]);
    assert.equal(failed.stdout, "502");
    const res = await fetch(`http://127.0.0.1:${gw.ports.get("admin")}/backends`);
    const { pools } = await res.json() as { pools: { name: string; backends: { url: string; available: boolean; ejectedUntil: string | null; lastError: string | null }[] }[] };
    assert.deepEqual(pools.map((p) => p.name), ["plain", "secure", "own", "down", "held", "sticky"]);
    const plainBackend = pools.find((p) => p.name === "plain")!.backends[0]!;
    assert.equal(plainBackend.available, true);
    const down = pools.find((p) => p.name === "down")!.backends[0]!;
    assert.equal(down.available, false);
    assert.ok(down.ejectedUntil && Date.parse(down.ejectedUntil) > Date.now(), JSON.stringify(down));
    assert.match(String(down.lastError), /ECONNREFUSED|refused/i);
    const text = await metrics();
    assert.match(text, new RegExp(`^tollgate_backend_up\\{pool="plain",backend="http://127\\.0\\.0\\.1:${plain.port}"\\} 1$`, "m"));
    assert.match(text, /^tollgate_backend_up\{pool="down",backend="http:\/\/127\.0\.0\.1:\d+"\} 0$/m);
  });

  it("request lines name the backend and its header time; /flows finds them; both latency histograms count them", async () => {
    const admin = `http://127.0.0.1:${gw.ports.get("admin")}`;
    const before = await metrics();
    const count = (text: string, name: string) => Number(new RegExp(`^${name}_count\\{listener="rev",mode="reverse"\\} (\\d+)$`, "m").exec(text)?.[1] ?? 0);
    for (let i = 0; i < 3; i++) await get("plain.test");
    const text = await metrics();
    const requests = (t: string) => Number(/^tollgate_http_requests_total\{listener="rev",mode="reverse",status="2xx"\} (\d+)$/m.exec(t)?.[1] ?? 0);
    assert.equal(requests(text) - requests(before), 3, "each request once (its request line), not again from its connection's line");
    assert.equal(count(text, "tollgate_http_request_duration_seconds") - count(before, "tollgate_http_request_duration_seconds"), 3);
    assert.equal(count(text, "tollgate_http_upstream_header_seconds") - count(before, "tollgate_http_upstream_header_seconds"), 3);
    const backend = `http://127.0.0.1:${plain.port}`;
    const res = await fetch(`${admin}/flows?backend=${encodeURIComponent(backend)}&limit=1000`);
    assert.equal(res.status, 200);
    const body = await res.json() as { flows: { type: string; backend: string; headerMs: number | null; durationMs: number; rule: string }[] };
    const lines = body.flows.filter((r) => r.rule === "plain");
    assert.ok(lines.length >= 3, JSON.stringify(body).slice(0, 500));
    for (const r of lines) {
      assert.equal(r.backend, backend);
      assert.ok(typeof r.headerMs === "number" && r.headerMs >= 0 && r.headerMs <= r.durationMs, JSON.stringify(r));
    }
    const slow = await fetch(`${admin}/flows?type=request&minDurationMs=3600000`);
    assert.deepEqual((await slow.json() as { flows: unknown[] }).flows, [], "no request took an hour");
  });

  it("client-hash: each client address (curl --interface) reaches the same backend every time", async () => {
    const seen = new Map<string, Set<string>>();
    for (let round = 0; round < 3; round++) {
      for (let i = 2; i <= 17; i++) {
        const from = `127.0.0.${i}`;
        const r = await curl(["--interface", from, "-H", "Host: sticky.test", `http://127.0.0.1:${gw.port}/`]);
        assert.equal(r.code, 0, r.stderr);
        const backend = (JSON.parse(r.stdout) as { backend: string }).backend;
        seen.set(from, (seen.get(from) ?? new Set()).add(backend));
      }
    }
    for (const [from, backends] of seen) assert.equal(backends.size, 1, `${from} reached ${[...backends].join(" and ")}`);
    assert.equal(new Set([...seen.values()].flatMap((b) => [...b])).size, 2, "sixteen addresses spread over both backends (all on one: a 1 in 32,768 chance)");
  });

  it("clients that keep their connections open and idle hold no backend connection once clientHoldMs (1 s) passed", async () => {
    const clients: Socket[] = [];
    try {
      const ports = new Set<number>();
      const ask = async (socket: Socket) => {
        socket.write("GET / HTTP/1.1\r\nHost: held.test\r\n\r\n");
        return Number(/"peerPort":(\d+)/.exec(await oneResponse(socket))?.[1]);
      };
      for (let i = 0; i < 20; i++) {
        const socket = connect(gw.port, "127.0.0.1");
        clients.push(socket);
        ports.add(await ask(socket));
      }
      // the twenty stay connected and silent; a second later their backend connections are all in the pool
      await new Promise((r) => setTimeout(r, 1500));
      assert.match(await metrics(), new RegExp(`^tollgate_backend_idle_connections\\{pool="held"\\} ${ports.size}$`, "m"));
      const latecomer = connect(gw.port, "127.0.0.1");
      clients.push(latecomer);
      assert.ok(ports.has(await ask(latecomer)), "a new client takes one of them");
      assert.ok(ports.has(await ask(clients[0]!)), "and so does an idle client that speaks again");
    } finally {
      for (const socket of clients) socket.destroy();
    }
  });
});

/** Reads one response (Content-Length or chunked body) from `socket`, kept open; its text. */
function oneResponse(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = Buffer.alloc(0);
    const timer = setTimeout(() => done(new Error(`no whole response in 5 s: ${JSON.stringify(data.toString("latin1"))}`)), 5000);
    const done = (error?: Error, body?: string) => {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("error", done);
      if (error) reject(error);
      else resolve(body!);
    };
    const onData = (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const end = data.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = data.subarray(0, end).toString("latin1");
      const text = data.toString("latin1");
      const length = /\r\ncontent-length: *(\d+)/i.exec(head)?.[1];
      if (length !== undefined ? data.length >= end + 4 + Number(length) : text.endsWith("\r\n0\r\n\r\n")) done(undefined, text);
    };
    socket.on("data", onData);
    socket.on("error", done);
  });
}
