import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { runtimeName } from "../helpers/runtime.ts";
import { type GatewayProcess, startGateway } from "./support/gateway.ts";

const root = new URL("../../", import.meta.url).pathname;
const bin = join(root, "node_modules/.bin");
/** On Deno, the README's task for a gateway with worker processes (it may start deno). */
const command = runtimeName === "deno" ? [join(bin, "deno"), "task", "serve:workers"] : [join(bin, "bun"), join(root, "src/bin/bun.ts"), "serve"];

const allowAll = { defaultAction: "allow", rules: [] };
const config = {
  workers: 2,
  listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:0" }],
  admin: { listen: "127.0.0.1:0" },
  addressGuard: { allow: ["127.0.0.0/8"] }, // the echo server is on loopback
  policy: allowAll,
  log: { flows: "stdout" },
};

/** Sockets a process holds (from /proc). */
function sockets(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith("socket:");
    } catch {
      return false;
    }
  }).length;
}

/** The parent of `pid` (the README commands run the gateway under a task runner). */
function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A CONNECT through the gateway: the status line, and the socket when it was 200. */
function connect(proxyPort: number, target: string): Promise<{ status: number; socket: net.Socket }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(proxyPort, "127.0.0.1");
    let head = "";
    const timer = setTimeout(() => (s.destroy(), reject(new Error("CONNECT timed out"))), 10_000);
    s.setEncoding("latin1");
    s.on("error", (e) => (clearTimeout(timer), reject(e)));
    s.on("data", function onData(d: string) {
      head += d;
      if (!head.includes("\r\n\r\n")) return;
      clearTimeout(timer);
      s.off("data", onData);
      resolve({ status: Number(head.split(" ")[1]), socket: s });
    });
    s.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  });
}

function echoOnce(s: net.Socket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = "";
    const timer = setTimeout(() => reject(new Error("no echo")), 10_000);
    s.on("data", function onData(d: string) {
      got += d;
      if (got.length < text.length) return;
      clearTimeout(timer);
      s.off("data", onData);
      resolve(got);
    });
    s.write(text);
  });
}

describe("worker processes sharing the listeners (workers: 2)", { timeout: 120_000 }, () => {
  let gw: GatewayProcess;
  let admin: string;
  let echo: net.Server;
  let target: string;

  before(async () => {
    echo = net.createServer((c) => {
      c.on("error", () => {});
      c.pipe(c);
    });
    await new Promise<void>((r) => echo.listen(0, "127.0.0.1", () => r()));
    target = `127.0.0.1:${(echo.address() as net.AddressInfo).port}`;
    gw = await startGateway(config, { command });
    admin = `http://127.0.0.1:${gw.ports.get("admin")}`;
  });
  after(async () => {
    await gw?.stop();
    echo?.close();
  });

  const readiness = async () =>
    (await (await fetch(`${admin}/readyz`)).json()) as { ready: boolean; checks: Record<string, { ok: boolean; detail?: string }> };
  /** The worker's pid as the primary reports it, once it serves. */
  const workerPid = async (): Promise<number | undefined> => {
    const r = await readiness();
    const m = /^1 of 1 serving \(pids (\d+)\)$/.exec(r.checks["workers"]?.detail ?? "");
    return r.checks["workers"]?.ok && m ? Number(m[1]) : undefined;
  };
  const metric = async (line: RegExp) => {
    const text = await (await fetch(`${admin}/metrics`)).text();
    return Number(line.exec(text)?.[1] ?? NaN);
  };

  it("both processes take tunnels; metrics, flow log and feed cover them all", async () => {
    const worker = await until("the worker", workerPid);
    const primary = parentOf(worker);
    const primaryBefore = sockets(primary);
    const workerBefore = sockets(worker);
    const tunnels = await Promise.all(Array.from({ length: 40 }, () => connect(gw.port, target)));
    assert.deepEqual(tunnels.map((t) => t.status), Array(40).fill(200));
    const echoes = await Promise.all(tunnels.map((t, i) => echoOnce(t.socket, `ping ${i}\n`)));
    assert.deepEqual(echoes, tunnels.map((_, i) => `ping ${i}\n`));
    // each tunnel costs its process two sockets; the kernel spread 40 tunnels over both
    const primaryTunnels = (sockets(primary) - primaryBefore) / 2;
    const workerTunnels = (sockets(worker) - workerBefore) / 2;
    assert.equal(primaryTunnels + workerTunnels, 40, `primary ${primaryTunnels}, worker ${workerTunnels}`);
    assert.ok(primaryTunnels >= 5 && workerTunnels >= 5, `primary ${primaryTunnels}, worker ${workerTunnels}`);
    // the primary's /metrics sums its own and the worker's latest snapshot (sent every second)
    await until("40 active tunnels in /metrics", async () =>
      (await metric(/^tollgate_active_tunnels\{listener="all"\} (\S+)$/m)) === 40 ? true : undefined);
    for (const t of tunnels) t.socket.destroy();
    await until("40 tunnel flow lines on the primary's stdout", () =>
      gw.flows().filter((f) => f["kind"] === "connect" && f["host"] === "127.0.0.1").length >= 40 ? true : undefined);
    const feed = (await (await fetch(`${admin}/flows?limit=100`)).json()) as { flows: { kind: string }[] };
    assert.ok(feed.flows.filter((f) => f.kind === "connect").length >= 40);
    await until("40 connections counted", async () =>
      (await metric(/^tollgate_connections_total\{listener="explicit",mode="explicit",decision="allow"\} (\S+)$/m)) >= 40 ? true : undefined);
  });

  it("GET /connections lists both processes' open tunnels; DELETE closes one in either, or all that match, their lines ending revoked", async () => {
    await until("the worker", workerPid);
    const tunnels = await Promise.all(Array.from({ length: 20 }, () => connect(gw.port, target)));
    assert.deepEqual(tunnels.map((t) => t.status), Array(20).fill(200));
    await Promise.all(tunnels.map((t, i) => echoOnce(t.socket, `ping ${String(i).padStart(2, "0")}\n`)));
    type Open = { id: string; host: string; port: number; bytesUp: number; bytesDown: number; end: null; since: string };
    type List = { connections: Open[]; total: number; unanswered: number[] };
    const list = async (query = "") => (await (await fetch(`${admin}/connections?host=127.0.0.1${query}`)).json()) as List;
    const all = await list();
    assert.equal(all.total, 20);
    assert.deepEqual(all.unanswered, []);
    const port = Number(target.split(":")[1]);
    for (const c of all.connections) {
      assert.equal(c.port, port);
      assert.equal(c.end, null);
      assert.deepEqual([c.bytesUp, c.bytesDown], [8, 8], "the echo's bytes, counted while the tunnel is open");
    }
    const byProcess = (p: string) => all.connections.filter((c) => c.id.startsWith(`${p}-`));
    assert.ok(byProcess("0").length > 0 && byProcess("1").length > 0, all.connections.map((c) => c.id).join(" "));
    assert.equal(byProcess("0").length + byProcess("1").length, 20);
    const some = await list("&limit=5&sort=bytes");
    assert.equal(some.connections.length, 5);
    assert.equal(some.total, 20);

    // which client socket is which connection: the flow's client port
    const byPort = new Map(tunnels.map((t) => [t.socket.localPort, t.socket]));
    const clientPort = (id: string) => Number((all.connections.find((c) => c.id === id) as unknown as { client: string }).client.split(":").pop());
    for (const id of [byProcess("0")[0]!.id, byProcess("1")[0]!.id]) {
      const socket = byPort.get(clientPort(id))!;
      const closed = new Promise<void>((r) => socket.once("close", () => r()));
      socket.on("error", () => {});
      const res = await fetch(`${admin}/connections/${id}`, { method: "DELETE" });
      assert.equal(res.status, 200, id);
      assert.deepEqual(await res.json(), { closed: true, id });
      await Promise.race([closed, new Promise((_, no) => setTimeout(() => no(new Error(`tunnel ${id} not closed`)), 5000))]);
      assert.equal((await fetch(`${admin}/connections/${id}`, { method: "DELETE" })).status, 404, "closed once");
      await until(`the flow line of ${id}`, () =>
        gw.flows().find((f) => f["end"] === "revoked" && f["error"] === `closed by an administrator (DELETE /connections/${id})`));
    }
    assert.equal((await list()).total, 18);
    // the other 18, in both processes, in one request
    const allClosed = Promise.all(tunnels.map((t) => (t.socket.destroyed ? Promise.resolve() : new Promise<void>((r) => t.socket.once("close", () => r())))));
    for (const t of tunnels) t.socket.on("error", () => {});
    const bulk = await fetch(`${admin}/connections?host=127.0.0.1`, { method: "DELETE" });
    assert.equal(bulk.status, 200);
    const done = (await bulk.json()) as { closed: string[]; ended: number; remaining: number; unanswered: number[] };
    assert.equal(done.closed.length, 18);
    assert.ok(done.closed.some((id) => id.startsWith("0-")) && done.closed.some((id) => id.startsWith("1-")), done.closed.join(" "));
    assert.deepEqual([done.ended, done.remaining, done.unanswered], [0, 0, []]);
    await Promise.race([allClosed, new Promise((_, no) => setTimeout(() => no(new Error("the tunnels were not all closed")), 5000))]);
    await until("18 flow lines naming the request", () =>
      gw.flows().filter((f) => f["end"] === "revoked" && f["error"] === "closed by an administrator (DELETE /connections?host=127.0.0.1)").length === 18 || undefined);
    await until("no open tunnels left", async () => ((await list()).total === 0 ? true : undefined));
  });

  it("process metrics cover both processes: resident memory is their sum", async () => {
    const worker = await until("the worker", workerPid);
    const primary = parentOf(worker);
    const rss = (pid: number) => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) * 1024;
    // both readings move between the worker's snapshot and ours: half the smaller one is the margin
    const [p, w] = [rss(primary), rss(worker)];
    const merged = await metric(/^process_resident_memory_bytes (\S+)$/m);
    assert.ok(merged > Math.max(p, w) + Math.min(p, w) / 2, `merged ${merged}, primary ${p}, worker ${w}`);
    assert.ok(merged < (p + w) * 1.5, `merged ${merged}, primary ${p}, worker ${w}`);
    assert.ok((await metric(/^process_cpu_seconds_total (\S+)$/m)) > 0);
  });

  it("a policy change through the admin API reaches the worker", async () => {
    const put = (policy: unknown) =>
      fetch(`${admin}/policy`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(policy) });
    assert.equal((await put({ defaultAction: "deny", rules: [] })).status, 200);
    // the worker applies it a moment later; then no connection in either process gets through
    await new Promise((r) => setTimeout(r, 500));
    const denied = await Promise.all(Array.from({ length: 30 }, () => connect(gw.port, target)));
    for (const t of denied) t.socket.destroy();
    assert.deepEqual(denied.map((t) => t.status), Array(30).fill(403));
    assert.equal((await put(allowAll)).status, 200);
  });

  it("a killed worker is restarted while the primary keeps serving", async () => {
    const before = await until("the worker", workerPid);
    process.kill(before, "SIGKILL");
    await until("the worker to die", () => (alive(before) ? undefined : true));
    const meanwhile = await Promise.all(Array.from({ length: 20 }, () => connect(gw.port, target)));
    for (const t of meanwhile) t.socket.destroy();
    assert.deepEqual(meanwhile.map((t) => t.status), Array(20).fill(200));
    const after = await until("a new worker", async () => {
      const pid = await workerPid();
      return pid !== undefined && pid !== before ? pid : undefined;
    });
    assert.ok(alive(after));
    assert.match(gw.stderr.join(""), new RegExp(`worker 1 \\(pid ${before}\\) exited with signal SIGKILL; restarting it`));
  });

  /**
   * Opens rounds of 20 tunnels through `port` until both processes took some (at most 5
   * rounds): how many each took. A process that does not listen on `port` takes none.
   */
  const spread = async (port: number) => {
    const worker = await until("the worker", workerPid);
    const primary = parentOf(worker);
    const took = { primary: 0, worker: 0 };
    for (let round = 0; round < 5 && (took.primary === 0 || took.worker === 0); round++) {
      const [p0, w0] = [sockets(primary), sockets(worker)];
      const tunnels = await Promise.all(Array.from({ length: 20 }, () => connect(port, target)));
      assert.deepEqual(tunnels.map((t) => t.status), Array(20).fill(200));
      took.primary += (sockets(primary) - p0) / 2;
      took.worker += (sockets(worker) - w0) / 2;
      for (const t of tunnels) t.socket.destroy();
    }
    return took;
  };

  it("a listener added by a reload is served by both processes, and by a worker started after it", async () => {
    const extra = { name: "extra", mode: "explicit", listen: "127.0.0.1:0" };
    writeFileSync(gw.configFile!, JSON.stringify({ ...config, listeners: [...config.listeners, extra] }));
    const verdict = await gw.reload();
    const port = Number(/listening extra=127\.0\.0\.1:(\d+)/.exec(verdict)?.[1]);
    assert.ok(port > 0, verdict);
    const took = await spread(port);
    assert.ok(took.primary > 0 && took.worker > 0, JSON.stringify(took));

    const before = await until("the worker", workerPid);
    process.kill(before, "SIGKILL");
    await until("a new worker", async () => {
      const pid = await workerPid();
      return pid !== undefined && pid !== before ? pid : undefined;
    });
    const after = await spread(port);
    assert.ok(after.primary > 0 && after.worker > 0, JSON.stringify(after));
  });

  it("a config over 8 MiB (longer than any other message) reaches the worker", async () => {
    const worker = await until("the worker", workerPid);
    // 400,000 listed names, and the echo server's address last
    const hosts = [...Array.from({ length: 400_000 }, (_, i) => `h${i}.ads.example`), "127.0.0.1"];
    const big = JSON.stringify({ ...config, policy: { defaultAction: "allow", rules: [{ id: "ads", hosts, action: "deny" }] } });
    assert.ok(big.length > 8 * 1024 * 1024, String(big.length));
    writeFileSync(gw.configFile!, big);
    assert.match(await gw.reload(30_000), /config reloaded/);
    // both processes deny, the worker with the same process as before (not restarted for it)
    await until("every tunnel denied", async () => {
      const tunnels = await Promise.all(Array.from({ length: 30 }, () => connect(gw.port, target)));
      for (const t of tunnels) t.socket.destroy();
      return tunnels.every((t) => t.status === 403) ? true : undefined;
    }, 30_000);
    assert.equal(await workerPid(), worker);
    assert.doesNotMatch(gw.stderr.join(""), /Line longer/);
  });

  it("SIGTERM drains and stops the primary and its workers", async () => {
    const worker = await until("the worker", workerPid);
    const primary = parentOf(worker);
    await gw.stop();
    await until("the primary and the worker to exit", () => (alive(primary) || alive(worker) ? undefined : true), 15_000);
    assert.match(gw.stderr.join(""), /shutting down: draining connections/);
  });
});
