/**
 * Load: hold 10,000 concurrent idle CONNECT tunnels through a gateway process on loopback and
 * report its RSS per tunnel and its descriptors; then check a sample of the tunnels still
 * carries bytes, close them all, and check the gateway gives the memory and descriptors back.
 *
 *   bun scripts/load/idle-tunnels.ts --runtime bun|deno [--tunnels 10000] [--workers N] [--hold-seconds 10] [--max-seconds 300]
 *
 * Three processes besides this one, each started through `bash -c 'ulimit -n …; exec …'`:
 * the gateway, the client (this script with `--role client`) and the echo server (`--role
 * echo`). Each tunnel costs the gateway two descriptors (client side and upstream side).
 * When 2 × tunnels + a reserve do not fit under the open-file limit (hard limits are often
 * 20,000 in containers and cannot be raised there), the gateway runs as several processes
 * sharing the port (config `workers`), each holding its share: `--workers` defaults to the
 * fewest that fit. Figures are summed over the gateway's processes. The client spreads its
 * connections over source addresses 127.0.0.1–127.0.0.8 so ephemeral ports never run out.
 * Stops by itself.
 *
 * @module
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import net from "node:net";
import process from "node:process";
import { createInterface } from "node:readline";
import { gatewayStats, openFileLimit, type ProcStats, startLoadGateway, withUlimit } from "./short-connections.ts";

const self = new URL(import.meta.url).pathname;
/** Descriptors a gateway process keeps for itself (listener, stdio, runtime internals) and a margin. */
const RESERVE_FDS = 100;
/** Room for the kernel's uneven spread of connections between processes sharing a port. */
const SPREAD_MARGIN = 1.1;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const emit = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);

/** `--role echo`: echo server on 127.0.0.1; prints its port, answers "count" with open sockets. */
async function echoRole(): Promise<void> {
  let open = 0;
  const server = net.createServer((c) => {
    open++;
    c.on("error", () => {});
    c.on("close", () => open--);
    c.pipe(c);
  });
  await new Promise<void>((r) => server.listen({ port: 0, host: "127.0.0.1", backlog: 4096 }, () => r()));
  emit({ port: (server.address() as net.AddressInfo).port });
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === "count") emit({ open });
    if (line === "exit") break;
  }
  server.close();
  process.exit(0);
}

/** `--role client`: opens the tunnels and keeps them; "verify" pings a sample, "close" ends all. */
async function clientRole(): Promise<void> {
  const gwPort = Number(arg("--gw-port", "0"));
  const target = arg("--target", "");
  const count = Number(arg("--count", "0"));
  const sources = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 1}`);
  const tunnels: net.Socket[] = [];
  let failed = 0;
  let firstError = "";
  const open = (i: number) =>
    new Promise<void>((resolve) => {
      const s = net.connect({ port: gwPort, host: "127.0.0.1", localAddress: sources[i % sources.length] });
      let buf = "";
      const fail = (why: string) => {
        failed++;
        firstError ||= why;
        s.destroy();
        resolve();
      };
      const timer = setTimeout(() => fail("timeout"), 20_000);
      s.setEncoding("latin1");
      s.on("error", (e) => fail(e.message));
      const onData = (d: string) => {
        buf += d;
        if (!buf.includes("\r\n\r\n")) return;
        clearTimeout(timer);
        s.off("data", onData);
        s.removeAllListeners("error");
        s.on("error", () => {});
        if (!buf.startsWith("HTTP/1.1 200 ")) return fail(buf.split("\r\n")[0] ?? "?");
        tunnels.push(s);
        resolve();
      };
      s.on("data", onData);
      s.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
    });
  const t0 = performance.now();
  let next = 0;
  let reported = 0;
  const lane = async () => {
    while (next < count) {
      await open(next++);
      if (tunnels.length - reported >= 2000) {
        reported = tunnels.length;
        emit({ event: "progress", open: tunnels.length, failed });
      }
    }
  };
  await Promise.all(Array.from({ length: 200 }, lane));
  emit({ event: "established", open: tunnels.length, failed, firstError, seconds: (performance.now() - t0) / 1000 });
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === "verify") {
      const sample = tunnels.filter((_, i) => i % 100 === 0);
      const results = await Promise.all(sample.map((s, i) =>
        new Promise<boolean>((resolve) => {
          const payload = `ping-${i}`;
          let got = "";
          const timer = setTimeout(() => resolve(false), 10_000);
          const onData = (d: string) => {
            got += d;
            if (got.length >= payload.length) {
              clearTimeout(timer);
              s.off("data", onData);
              resolve(got === payload);
            }
          };
          s.on("data", onData);
          s.write(payload);
        })));
      emit({ event: "verified", checked: sample.length, ok: results.filter(Boolean).length });
    }
    if (line === "close") {
      for (const s of tunnels) s.end();
      await new Promise((r) => setTimeout(r, 1000));
      for (const s of tunnels) s.destroy();
      emit({ event: "closed" });
      break;
    }
  }
  process.exit(0);
}

interface Child {
  readonly proc: ChildProcess;
  send(line: string): void;
  next(pred: (o: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** This script in another role, with a raised descriptor limit; talks JSON lines. */
function startRole(role: string, extra: readonly string[]): Child {
  const runner = "Deno" in globalThis ? [process.execPath, "run", "-A", self] : [process.execPath, self];
  const [cmd, ...args] = withUlimit([...runner, "--role", role, ...extra]);
  const proc = spawn(cmd!, args, { stdio: ["pipe", "pipe", "inherit"] });
  const lines: Record<string, unknown>[] = [];
  const exited = new Promise<void>((r) => proc.once("exit", () => r()));
  createInterface({ input: proc.stdout! }).on("line", (l) => {
    try {
      lines.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      // not ours
    }
  });
  return {
    proc,
    send: (line) => void proc.stdin!.write(`${line}\n`),
    async next(pred, timeoutMs) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const i = lines.findIndex(pred);
        if (i >= 0) return lines.splice(0, i + 1)[i]!;
        if (Date.now() > end || proc.exitCode !== null) throw new Error(`${role}: no expected line within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      if (proc.exitCode === null) proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

const mib = (kib: number): string => (kib / 1024).toFixed(1);

async function main(): Promise<number> {
  const runtime = arg("--runtime", "bun") as "bun" | "deno";
  if (runtime !== "bun" && runtime !== "deno") throw new RangeError(`Unknown runtime "${runtime}"`);
  const wanted = Number(arg("--tunnels", "10000"));
  const holdMs = Number(arg("--hold-seconds", "10")) * 1000;
  const deadline = Date.now() + Number(arg("--max-seconds", "300")) * 1000;
  const left = () => Math.max(1000, deadline - Date.now());
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  // the limit gateway processes get: this shell's, raised as far as the hard limit allows
  const limit = Number(execFileSync("bash", ["-c", "ulimit -n 65536 2>/dev/null || ulimit -n \"$(ulimit -Hn)\"; ulimit -n"], { encoding: "utf8" }).trim());
  const perProcess = (limit - RESERVE_FDS) / 2;
  const workers = Number(arg("--workers", String(wanted <= perProcess ? 1 : Math.ceil((wanted * SPREAD_MARGIN) / perProcess))));
  const echo = startRole("echo", []);
  const gw = await startLoadGateway(runtime, {}, workers);
  const children: Child[] = [echo];
  try {
    const { port: echoPort } = (await echo.next((o) => "port" in o, 20_000)) as { port: number };
    if (openFileLimit(gw.pid) !== limit) throw new Error(`gateway open-file limit ${openFileLimit(gw.pid)}, expected ${limit}`);
    const fits = workers === 1 ? Math.floor(perProcess) : Math.floor((workers * perProcess) / SPREAD_MARGIN);
    const tunnels = Math.min(wanted, fits);
    // warm-up: 200 tunnels opened and closed, so the baseline has the code paths loaded
    const warm = startRole("client", ["--gw-port", String(gw.port), "--target", `127.0.0.1:${echoPort}`, "--count", "200"]);
    children.push(warm);
    await warm.next((o) => o.event === "established", left());
    warm.send("close");
    await warm.next((o) => o.event === "closed", 20_000);
    await warm.stop();
    await sleep(2000);
    const base: ProcStats = gatewayStats(gw.pid);
    const fitNote = tunnels < wanted ? ` (asked for ${wanted.toLocaleString("en-US")}; 2 descriptors per tunnel + ${RESERVE_FDS} reserved per process do not fit in ${limit} × ${workers})` : "";
    console.log(`gateway on ${runtime} (pid ${gw.pid}, ${workers} process${workers > 1 ? "es sharing the port" : ""}); open-file limit ${limit} per process → ${tunnels.toLocaleString("en-US")} tunnels${fitNote}`);
    console.log(`baseline (after a 200-tunnel warm-up): ${base.fds} fds, ${mib(base.rssKiB)} MiB RSS`);
    const client = startRole("client", ["--gw-port", String(gw.port), "--target", `127.0.0.1:${echoPort}`, "--count", String(tunnels)]);
    children.push(client);
    let peak = base.rssKiB;
    const sampler = setInterval(() => (peak = Math.max(peak, gatewayStats(gw.pid).rssKiB)), 250);
    const est = await client.next((o) => o.event === "established", left());
    console.log(`established ${String(est.open)} tunnels in ${Number(est.seconds).toFixed(1)} s, ${String(est.failed)} failed${est.firstError ? ` (first: ${String(est.firstError)})` : ""}`);
    await sleep(Math.min(holdMs, left()));
    const held = gatewayStats(gw.pid);
    echo.send("count");
    const upstreams = await echo.next((o) => "open" in o, 10_000);
    client.send("verify");
    const v = await client.next((o) => o.event === "verified", 30_000);
    clearInterval(sampler);
    const open = Number(est.open);
    const perTunnelKiB = (held.rssKiB - base.rssKiB) / Math.max(1, open);
    console.log(`held ${(holdMs / 1000).toFixed(0)} s: ${held.fds} fds (${((held.fds - base.fds) / Math.max(1, open)).toFixed(2)} per tunnel), ${mib(held.rssKiB)} MiB RSS (peak ${mib(peak)}), upstream sockets at the echo server: ${String(upstreams.open)}`);
    if (workers > 1) console.log(`per process: ${held.processes.map((p, i) => `${i === 0 ? "primary" : `worker ${i}`} ${p.fds} fds, ${mib(p.rssKiB)} MiB`).join("; ")}`);
    console.log(`RSS per idle tunnel: ${perTunnelKiB.toFixed(1)} KiB  ((held − baseline) / ${open.toLocaleString("en-US")})`);
    console.log(`sample of ${String(v.checked)} tunnels still echo: ${String(v.ok)}/${String(v.checked)}`);
    client.send("close");
    await client.next((o) => o.event === "closed", 30_000);
    await sleep(5000);
    const after = gatewayStats(gw.pid);
    echo.send("count");
    const echoAfter = await echo.next((o) => "open" in o, 10_000);
    console.log(`5 s after closing: ${after.fds} fds, ${mib(after.rssKiB)} MiB RSS, echo sockets open ${String(echoAfter.open)}`);
    console.log(JSON.stringify({ runtime, limit, workers, tunnels: open, failed: est.failed, establishSeconds: est.seconds, base, held, peakKiB: peak, perTunnelKiB: Number(perTunnelKiB.toFixed(1)), verified: `${String(v.ok)}/${String(v.checked)}`, after, echoOpenAfter: echoAfter.open }));
    const ok = open === tunnels && v.ok === v.checked && after.fds <= base.fds + 2 * workers && echoAfter.open === 0;
    return ok ? 0 : 1;
  } finally {
    for (const c of children) await c.stop();
    await gw.stop();
  }
}

const role = arg("--role", "main");
if (import.meta.main) {
  if (role === "echo") await echoRole();
  else if (role === "client") await clientRole();
  else process.exitCode = await main();
}
