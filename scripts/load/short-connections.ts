/**
 * Leak check under churn: 100,000 short connections in a row through a gateway process (on
 * the runtime given), `--concurrency` at a time. Each is a CONNECT to a local echo server, a
 * few bytes echoed back through the tunnel, then close (`--mode connect`, default) — or a
 * plain-HTTP request with `Connection: close` (`--mode http`). The gateway's open descriptors
 * (/proc/PID/fd) and RSS are sampled at start, during the run, 5 s after the end and after
 * the whole pause; they must come back near where they started. (The pause is long by
 * default because V8 gives memory back only after ~25 s of low allocation: Deno's RSS stays
 * at its peak 5 s after a run and is below its start 40 s after.)
 *
 *   bun scripts/load/short-connections.ts --runtime bun|deno [--count 100000] [--concurrency 50]
 *       [--mode connect|http] [--pause-ms 40000] [--max-seconds 600]
 *
 * Processes run through `bash -c 'ulimit -n …; exec …'` so the descriptor limit is raised
 * (to 65536, or to the hard limit when that is lower). Stops by itself; exit code 1 when a
 * connection failed or descriptors did not come back. Linux only (/proc).
 *
 * Also exports the gateway starter and samplers used by `idle-tunnels.ts`.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

const root = new URL("../../", import.meta.url).pathname;
const bin = join(root, "node_modules/.bin");

/** Shell prefix that raises the open-file limit as far as allowed, then execs the command. */
export function withUlimit(argv: readonly string[], want = 65536): string[] {
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ");
  return ["bash", "-c", `ulimit -n ${want} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec ${quoted}`];
}

/** Open descriptors, RSS and the open-file limit of a process (Linux /proc). */
export interface ProcStats {
  readonly fds: number;
  readonly rssKiB: number;
}

export function procStats(pid: number): ProcStats {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return { fds: readdirSync(`/proc/${pid}/fd`).length, rssKiB: Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? NaN) };
}

/** The soft "Max open files" of a process. */
export function openFileLimit(pid: number): number {
  const m = /^Max open files\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/limits`, "utf8"));
  return Number(m?.[1] ?? NaN);
}

/** The processes of a gateway: `pid` and its children (worker processes). */
export function gatewayPids(pid: number): number[] {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // gone
  }
  return [pid, ...children];
}

/** {@link procStats} summed over the gateway's processes. */
export function gatewayStats(pid: number): ProcStats & { readonly processes: readonly ProcStats[] } {
  const processes = gatewayPids(pid).map(procStats);
  return { fds: processes.reduce((n, p) => n + p.fds, 0), rssKiB: processes.reduce((n, p) => n + p.rssKiB, 0), processes };
}

export interface LoadGateway {
  readonly pid: number;
  readonly port: number;
  stop(): Promise<void>;
}

/** The gateway command line on `runtime` (Deno: allowed to start deno, for worker processes). */
export function gatewayArgv(runtime: "bun" | "deno"): string[] {
  if (runtime === "deno") {
    const deno = join(root, "node_modules/deno/deno");
    return [deno, "run", "--allow-net", "--allow-read", "--allow-write", "--allow-env", "--allow-sys", `--allow-run=${deno}`, join(root, "src/bin/deno.ts")];
  }
  return [join(bin, "bun"), join(root, "src/bin/bun.ts")];
}

/**
 * Starts a gateway with one explicit listener allowing every destination on loopback, flow
 * logs off and limits high enough for load (connections, per client, tunnels); `workers`
 * processes share the listener.
 */
export async function startLoadGateway(runtime: "bun" | "deno", extraLimits: Record<string, number> = {}, workers = 1): Promise<LoadGateway> {
  const dir = mkdtempSync(join(tmpdir(), "tollgate-load-"));
  const configFile = join(dir, "config.json");
  writeFileSync(configFile, JSON.stringify({
    listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:0" }],
    policy: { defaultAction: "deny", rules: [{ id: "loopback", hosts: ["127.0.0.0/8"], action: "allow" }] },
    addressGuard: { allow: ["127.0.0.0/8"] },
    limits: { maxConnections: 1_000_000, maxConnectionsPerClient: 1_000_000, maxTunnels: 1_000_000, ...extraLimits },
    log: { flows: "off" },
    workers,
  }));
  const [cmd, ...args] = withUlimit([...gatewayArgv(runtime), "serve", "--config", configFile]);
  const child: ChildProcess = spawn(cmd!, args, {
    stdio: ["ignore", "ignore", "pipe"],
    cwd: root,
    env: { ...process.env, TOLLGATE_CONFIG: "" },
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const port = await new Promise<number>((resolve, reject) => {
    let err = "";
    const t = setTimeout(() => reject(new Error(`gateway (${runtime}) did not start:\n${err}`)), 30_000);
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (d: string) => {
      err += d;
      const m = /explicit=\S*:(\d+)/.exec(err);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    });
    void exited.then(() => reject(new Error(`gateway (${runtime}) exited:\n${err}`)));
  });
  return {
    pid: child.pid!, // bash exec'd the gateway: same pid
    port,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 12_000);
      await exited;
      clearTimeout(t);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Echo servers on 127.0.0.2, 127.0.0.3, … (one each), counting open sockets. Several
 * destination addresses keep the gateway's outgoing connects from running short of
 * ephemeral ports while TIME_WAIT holds the ones just used (a 4-tuple per destination).
 */
async function startEcho(count: number): Promise<{ targets: string[]; open: () => number; close: () => void }> {
  let open = 0;
  const servers: net.Server[] = [];
  const targets: string[] = [];
  for (let i = 0; i < count; i++) {
    const host = `127.0.0.${i + 2}`;
    const s = net.createServer((c) => {
      open++;
      c.on("error", () => {});
      c.on("close", () => open--);
      c.pipe(c);
    });
    await new Promise<void>((r) => s.listen({ port: 0, host, backlog: 1024 }, () => r()));
    targets.push(`${host}:${(s.address() as net.AddressInfo).port}`);
    servers.push(s);
  }
  return { targets, open: () => open, close: () => servers.forEach((s) => s.close()) };
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

/** One CONNECT + echo + close; resolves true when the echo came back intact. */
function oneConnect(gwPort: number, target: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port: gwPort, host: "127.0.0.1" });
    let buf = "";
    let established = false;
    const payload = "ping-" + Math.random().toString(36).slice(2);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    s.setEncoding("latin1");
    s.on("error", () => done(false));
    s.on("data", (d: string) => {
      buf += d;
      if (!established) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        if (!buf.startsWith("HTTP/1.1 200 ")) return done(false);
        established = true;
        buf = buf.slice(end + 4);
        s.write(payload);
      }
      if (established && buf === payload) {
        s.end();
        s.once("close", () => done(true));
      }
    });
    s.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  });
}

/** One plain-HTTP request with Connection: close; resolves true on a 200 with the body. */
function oneHttp(gwPort: number, target: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port: gwPort, host: "127.0.0.1" });
    let buf = "";
    const timer = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, timeoutMs);
    s.setEncoding("latin1");
    s.on("error", () => {});
    s.on("data", (d: string) => (buf += d));
    s.on("close", () => {
      clearTimeout(timer);
      resolve(buf.startsWith("HTTP/1.1 200 ") && buf.endsWith("\r\n\r\nok"));
    });
    s.write(`GET http://${target}/ HTTP/1.1\r\nHost: ${target}\r\nConnection: close\r\n\r\n`);
  });
}

const mib = (kib: number): string => (kib / 1024).toFixed(1);

async function main(): Promise<number> {
  const runtime = arg("--runtime", "bun") as "bun" | "deno";
  if (runtime !== "bun" && runtime !== "deno") throw new RangeError(`Unknown runtime "${runtime}"`);
  const count = Number(arg("--count", "100000"));
  const concurrency = Number(arg("--concurrency", "50"));
  const mode = arg("--mode", "connect");
  const pauseMs = Number(arg("--pause-ms", "40000"));
  const deadline = Date.now() + Number(arg("--max-seconds", "600")) * 1000;
  const echo = await startEcho(32);
  const web = http.createServer({ keepAlive: false }, (_req, res) => {
    res.writeHead(200, { "content-length": "2" });
    res.end("ok");
  });
  await new Promise<void>((r) => web.listen(0, "127.0.0.1", () => r()));
  const webPort = (web.address() as net.AddressInfo).port;
  const gw = await startLoadGateway(runtime);
  // No explicit source address: bind() picking a port among tens of thousands in TIME_WAIT is
  // slow (measured: 100,000 direct connections take 63 s bound, 5 s unbound); connect() reuses
  // loopback TIME_WAIT ports (net.ipv4.tcp_tw_reuse = 2, the default).
  const one = (i: number) => mode === "http"
    ? oneHttp(gw.port, `127.0.0.1:${webPort}`, 10_000)
    : oneConnect(gw.port, echo.targets[i % echo.targets.length]!, 10_000);
  let failures = 0;
  let next = 0;
  const run = async (n: number) => {
    next = 0;
    const lane = async () => {
      while (next < n && Date.now() < deadline) {
        const i = next++;
        if (!(await one(i))) failures++;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, lane));
  };
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const fresh = procStats(gw.pid);
    await run(1000); // warm-up: JIT, pools, buffers
    failures = 0;
    await new Promise((r) => setTimeout(r, 1000));
    const start = procStats(gw.pid);
    console.log(`gateway on ${runtime} (pid ${gw.pid}, open-file limit ${openFileLimit(gw.pid)}): ${count.toLocaleString("en-US")} short ${mode === "http" ? "HTTP requests (Connection: close)" : "CONNECT tunnels (CONNECT, ~17 bytes echoed, close)"}, ${concurrency} at a time`);
    console.log(`fresh: ${fresh.fds} fds, ${mib(fresh.rssKiB)} MiB; after a 1,000-connection warm-up: ${start.fds} fds, ${mib(start.rssKiB)} MiB`);
    let maxFds = start.fds;
    let maxRss = start.rssKiB;
    const t0 = performance.now();
    let lastReport = 0;
    const sampler = setInterval(() => {
      const s = procStats(gw.pid);
      maxFds = Math.max(maxFds, s.fds);
      maxRss = Math.max(maxRss, s.rssKiB);
      if (next - lastReport >= 20_000) {
        lastReport = next;
        console.log(`  ${next.toLocaleString("en-US").padStart(7)} done, ${s.fds} fds, ${mib(s.rssKiB)} MiB, ${failures} failed, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
      }
    }, 500);
    await run(count);
    clearInterval(sampler);
    const seconds = (performance.now() - t0) / 1000;
    const done = Math.min(next, count);
    const end0 = procStats(gw.pid);
    const shortPauseMs = Math.min(5000, pauseMs);
    await new Promise((r) => setTimeout(r, shortPauseMs));
    const end5 = procStats(gw.pid);
    await new Promise((r) => setTimeout(r, pauseMs - shortPauseMs));
    const end = procStats(gw.pid);
    console.log(`${done.toLocaleString("en-US")} connections in ${seconds.toFixed(1)} s (${(done / seconds).toFixed(0)}/s), ${failures} failed${done < count ? " — STOPPED AT --max-seconds" : ""}`);
    console.log("                 fds   RSS MiB");
    console.log(`start        ${String(start.fds).padStart(7)} ${mib(start.rssKiB).padStart(9)}`);
    console.log(`during (max) ${String(maxFds).padStart(7)} ${mib(maxRss).padStart(9)}`);
    console.log(`end          ${String(end0.fds).padStart(7)} ${mib(end0.rssKiB).padStart(9)}`);
    const after = (ms: number, p: ProcStats) => console.log(`${`end + ${(ms / 1000).toFixed(0)} s`.padEnd(12)} ${String(p.fds).padStart(7)} ${mib(p.rssKiB).padStart(9)}`);
    if (pauseMs > shortPauseMs) after(shortPauseMs, end5);
    after(pauseMs, end);
    console.log(`echo sockets still open: ${echo.open()}`);
    console.log(JSON.stringify({ runtime, mode, count: done, concurrency, seconds: Number(seconds.toFixed(1)), failures, fresh, start, maxFds, maxRssKiB: maxRss, end: end0, endAfter5s: end5, endAfterPause: end }));
    const leaked = end.fds - start.fds;
    return failures === 0 && done === count && leaked <= 2 ? 0 : 1;
  } finally {
    await gw.stop();
    echo.close();
    web.close();
  }
}

if (import.meta.main) process.exitCode = await main();
