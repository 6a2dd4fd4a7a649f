/**
 * A reload (SIGHUP) puts `dns`, `addressGuard`, `log` and `limits` in force without a
 * restart, on a real gateway process: a name the new `dns.hosts` maps elsewhere is dialed
 * there, an address the new guard denies is refused, flow lines go to the new log file while
 * the old one gets no more, and a lower per-client limit refuses the next connection. Only
 * 127.0.0.0/8: two small origins on 127.0.0.1 and 127.0.0.2.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { join } from "node:path";
import { tempDir } from "../helpers/temp-dir.ts";
import { curl } from "./support/curl.ts";
import { type GatewayProcess, startGateway } from "./support/gateway.ts";
import { jsonLines } from "./support/json-lines.ts";
import { openTunnel } from "./support/tunnel.ts";
import { waitFor } from "./support/wait.ts";

/** An HTTP server on `host:port` that answers every request with `body`. */
function listen(host: string, port: number, body: string): Promise<http.Server> {
  const server = http.createServer((_req, res) => res.end(body));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}

/** A keep-alive connection to the proxy at 127.0.0.1:`proxyPort` that has had one answer (site.test:`originPort`) and waits for its next request. */
async function keptAlive(proxyPort: number, originPort: number): Promise<{ closed: boolean }> {
  const socket = net.connect(proxyPort, "127.0.0.1");
  const state = { closed: false };
  socket.on("error", () => {});
  socket.on("close", () => (state.closed = true));
  socket.write(`GET http://site.test:${originPort}/ HTTP/1.1\r\nHost: site.test:${originPort}\r\n\r\n`);
  await new Promise<void>((resolve, reject) => {
    let got = "";
    socket.on("data", (b: Buffer) => {
      got += b.toString("latin1");
      if (/\r\n\r\n[^]*two$/.test(got)) resolve();
    });
    socket.on("close", () => reject(new Error(`closed before the answer: ${JSON.stringify(got)}`)));
  });
  return state;
}

describe("reload: dns, addressGuard, log and limits without a restart (real gateway)", { timeout: 60_000 }, () => {
  const servers: http.Server[] = [];
  let port: number;
  let gw: GatewayProcess;
  let dir: string;

  const EXPLICIT = { name: "explicit", mode: "explicit", listen: "127.0.0.1:0" };
  const config = (o: { site: string; log: string; deny?: string[]; limits?: Record<string, number>; listeners?: unknown[] }) => ({
    listeners: o.listeners ?? [EXPLICIT],
    addressGuard: { allow: ["127.0.0.0/8"], deny: o.deny ?? [] },
    dns: { hosts: { "site.test": [o.site] } },
    policy: { defaultAction: "allow" },
    log: { flows: { file: join(dir, o.log) } },
    ...(o.limits ? { limits: o.limits } : {}),
  });
  const reloadWith = async (c: unknown) => {
    writeFileSync(gw.configFile!, JSON.stringify(c));
    return await gw.reload();
  };
  /** GET http://site.test/ through the proxy at `proxy` (default: listener "explicit"). */
  const get = async (proxy = `127.0.0.1:${gw.port}`) => {
    const r = await curl(["-sS", "-x", `http://${proxy}`, `http://site.test:${port}/`, "-w", "\n%{http_code}"]);
    assert.equal(r.code, 0, r.stderr);
    const at = r.stdout.lastIndexOf("\n");
    return { body: r.stdout.slice(0, at), status: Number(r.stdout.slice(at + 1)) };
  };

  before(async () => {
    dir = tempDir("tollgate-reload-");
    const first = await listen("127.0.0.1", 0, "one");
    servers.push(first);
    port = (first.address() as AddressInfo).port;
    servers.push(await listen("127.0.0.2", port, "two"));
    gw = await startGateway(config({ site: "127.0.0.1", log: "a.jsonl" }));
  });

  after(async () => {
    await gw?.stop();
    for (const s of servers) await new Promise<void>((resolve) => s.close(() => resolve()));
  });

  it("new DNS hosts and a new flow-log file are used from the next connection on", async () => {
    assert.deepEqual(await get(), { body: "one", status: 200 });
    const a = join(dir, "a.jsonl");
    const b = join(dir, "b.jsonl");
    await waitFor("the first line in a.jsonl", () => jsonLines(a).length === 1);

    const verdict = await reloadWith(config({ site: "127.0.0.2", log: "b.jsonl" }));
    assert.match(verdict, /config reloaded \(generation 2\)/);
    assert.doesNotMatch(verdict, /restart needed/);
    assert.deepEqual(await get(), { body: "two", status: 200 }, "site.test is dialed at its new address");
    await waitFor("a line in b.jsonl", () => jsonLines(b).length === 1);
    assert.equal(jsonLines(b)[0]?.["status"], 200);
    assert.equal(jsonLines(a).length, 1, "the old file gets no more lines");
  });

  it("a CIDR the new address guard denies is refused from the next connection on", async () => {
    const b = join(dir, "b.jsonl");
    const before = jsonLines(b).length;
    const verdict = await reloadWith(config({ site: "127.0.0.2", log: "b.jsonl", deny: ["127.0.0.2/32"] }));
    assert.doesNotMatch(verdict, /restart needed/);
    assert.equal((await get()).status, 403);
    await waitFor("the refusal's line", () => jsonLines(b).length === before + 1);
    const refused = jsonLines(b).at(-1)!;
    assert.equal(refused["rule"], "address-guard");
    assert.match(String(refused["reason"]), /127\.0\.0\.2/);

    await reloadWith(config({ site: "127.0.0.2", log: "b.jsonl" }));
    assert.deepEqual(await get(), { body: "two", status: 200 }, "lifting the deny opens it again");
  });

  it("new limits hold the next connections", async () => {
    const verdict = await reloadWith(config({ site: "127.0.0.2", log: "b.jsonl", limits: { maxConnectionsPerClient: 1 } }));
    assert.doesNotMatch(verdict, /restart needed/);
    const held = net.connect(gw.port, "127.0.0.1");
    held.on("error", () => {});
    await new Promise<void>((resolve) => held.once("connect", () => resolve()));
    held.write("GET http://site.test/ HTTP/1.1\r\n"); // an unfinished head keeps the connection open
    // accepted before curl's connection: the kernel queues them in order
    assert.equal((await get()).status, 503, "a second connection from 127.0.0.1 is over the new limit");
    held.destroy();
    await waitFor("the held connection to be let go", async () => (await get()).status === 200);
  });

  it("a listener added by a reload serves at once; once dropped it refuses new connections and drains: idle ones close, a tunnel runs on until drainTimeoutMs", async () => {
    const extra = { name: "extra", mode: "explicit", listen: "127.0.0.1:0" };
    const limits = { drainTimeoutMs: 2000 };
    const added = await reloadWith(config({ site: "127.0.0.2", log: "b.jsonl", listeners: [EXPLICIT, extra], limits }));
    const bound = /listening extra=127\.0\.0\.1:(\d+)/.exec(added);
    assert.ok(bound, added);
    assert.doesNotMatch(added, /stopped listening|restart needed/);
    const extraPort = Number(bound[1]);
    assert.deepEqual(await get(`127.0.0.1:${extraPort}`), { body: "two", status: 200 });
    assert.deepEqual(await get(), { body: "two", status: 200 }, "the listener kept serves on its socket");

    const tunnel = await openTunnel(extraPort, "site.test", port);
    const idleTunnel = await openTunnel(extraPort, "site.test", port);
    const keepAlive = await keptAlive(extraPort, port);
    const dropped = await reloadWith(config({ site: "127.0.0.2", log: "b.jsonl", limits }));
    const droppedAt = Date.now();
    assert.match(dropped, /stopped listening extra/);
    await waitFor("the idle keep-alive connection to be closed", () => keepAlive.closed, 1000);
    const refused = await curl(["-sS", "-x", `http://127.0.0.1:${extraPort}`, `http://site.test:${port}/`]);
    assert.equal(refused.code, 7, `curl: ${refused.stderr}`); // could not connect
    tunnel.socket.write("GET / HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n");
    let answer = "";
    tunnel.socket.on("data", (b: Buffer) => (answer += b.toString("latin1")));
    await tunnel.closed;
    assert.match(answer, /^HTTP\/1\.1 200 [^]*\r\n\r\ntwo$/, "the tunnel opened before the drop still carries its request");
    assert.ok(idleTunnel.isOpen(), "a tunnel runs on during the grace period");
    await idleTunnel.closed;
    const after = Date.now() - droppedAt;
    assert.ok(after >= 1500 && after < 8000, `the idle tunnel was closed ${after} ms after the drop (drainTimeoutMs 2000)`);
    await reloadWith(config({ site: "127.0.0.2", log: "b.jsonl" }));
  });

  it("a kept listener's new settings hold its next connection; a listener that cannot be bound refuses the reload", async () => {
    const busy = { name: "busy", mode: "explicit", listen: `127.0.0.1:${port}` }; // the origin's port
    const refused = await reloadWith(config({ site: "127.0.0.1", log: "b.jsonl", listeners: [EXPLICIT, busy] }));
    assert.match(refused, /reload refused, the running config stays in force/);
    assert.match(refused, new RegExp(`listeners "busy": cannot listen on 127\\.0\\.0\\.1:${port}`));
    assert.deepEqual(await get(), { body: "two", status: 200 }, "nothing of the refused config is in force (site.test stays at 127.0.0.2)");

    const narrowed = await reloadWith(config({ site: "127.0.0.2", log: "b.jsonl", listeners: [{ ...EXPLICIT, clients: ["127.0.0.2/32"] }] }));
    assert.doesNotMatch(narrowed, /listening/, "the socket is kept");
    assert.equal((await get()).status, 403, "127.0.0.1 is no longer among the listener's clients");
    await reloadWith(config({ site: "127.0.0.2", log: "b.jsonl" }));
    assert.deepEqual(await get(), { body: "two", status: 200 });
  });

  it("a change of workers is named as needing a restart, and the rest of the reload holds", async () => {
    const verdict = await reloadWith({ ...config({ site: "127.0.0.1", log: "b.jsonl" }), workers: 2 });
    assert.match(verdict, /config reloaded \(generation \d+\); restart needed for: workers$/m);
    assert.deepEqual(await get(), { body: "one", status: 200 }, "the new DNS hosts hold");
    await reloadWith(config({ site: "127.0.0.2", log: "b.jsonl" }));
  });

  it("a listener moved to another address serves there and no longer at the old one", async () => {
    const oldPort = gw.port;
    const verdict = await reloadWith(config({ site: "127.0.0.2", log: "b.jsonl", listeners: [{ ...EXPLICIT, listen: "127.0.0.2:0" }] }));
    const bound = /listening explicit=127\.0\.0\.2:(\d+)/.exec(verdict);
    assert.ok(bound, verdict);
    assert.match(verdict, /stopped listening explicit/);
    assert.deepEqual(await get(`127.0.0.2:${bound[1]}`), { body: "two", status: 200 });
    const refused = await curl(["-sS", "-x", `http://127.0.0.1:${oldPort}`, `http://site.test:${port}/`]);
    assert.equal(refused.code, 7, `curl: ${refused.stderr}`);
  });
});
