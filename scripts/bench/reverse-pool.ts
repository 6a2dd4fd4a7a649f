/**
 * Reverse proxy: what sharing idle backend connections across clients buys
 * (`reverse.pools.<name>.keepAlive`). One gateway on Bun and one on Deno (in turn), each with
 * two TLS reverse listeners that differ only in their pool: `shared` (the default keep-alive
 * settings) and `own` (`maxIdlePerBackend: 0`, each client connection dials its own backend
 * connection, as before). The backend is the bench's Node HTTPS origin, so a backend
 * connection costs a TCP and a TLS handshake, as with `https://` backends.
 *
 * Workloads, the two listeners alternating, `--rounds` rounds; medians, and the ratio
 * shared ÷ own measured in the same run; gateway CPU per request from /proc:
 * - `load.mjs newconn`: 50 concurrent clients, each request a fresh TCP + TLS connection to
 *   the gateway, `GET /1k` with `Connection: close`, for `--seconds`. Also the origin
 *   directly, as a reference.
 * - `load.mjs keepalive`: 50 clients on persistent connections, `GET /1k` back to back: with
 *   `shared` each response gives the backend connection back to the pool and the next
 *   request takes one, with `own` it stays with its client: the price of that hand-over.
 * - idle clients: `--idle` clients each make one request and then keep their connection open
 *   and silent; the backend connections open 1.5 s later (after `clientHoldMs`), counted at
 *   the origin (/proc/net/tcp).
 *
 *   bun scripts/bench/reverse-pool.ts [--runtimes bun,deno] [--rounds 5] [--seconds 5] [--idle 200]
 *
 * Only 127.0.0.1; every process is stopped at the end, on Ctrl-C and on error. Linux only.
 *
 * @module
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { makeTestPki } from "../../test/e2e/support/certs.ts";
import { type BenchGateway, BIN, type GatewayRuntime, ROOT, startBenchGateway } from "./_gateway.ts";
import { socketsOnLocalPort } from "./_proc-net.ts";
import { endInputAndWait, firstLine, installCleanup, runBounded, runScript, sleep, spawnTracked, stopProcess, TICKS_PER_SECOND } from "./_procs.ts";
import { machineFacts } from "./_report.ts";

const argValue = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const runtimes = (argValue("--runtimes") ?? "bun,deno").split(",") as GatewayRuntime[];
const rounds = Number(argValue("--rounds") ?? 5);
const seconds = Number(argValue("--seconds") ?? 5);
const idleClients = Number(argValue("--idle") ?? 200);
const LOAD = join(ROOT, "scripts/bench/load.mjs");

interface Run {
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Gateway CPU µs per request (NaN direct). */
  readonly cpuUs: number;
  readonly errors: number;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** `load.mjs newconn` (or `keepalive`) against `port` with SNI and Host origin.test. */
async function newconn(port: number, ca: string, gw: BenchGateway | undefined, kind: "newconn" | "keepalive" = "newconn"): Promise<Run> {
  const cpu = gw ? ["--cpu-pid", String(gw.pid)] : [];
  const out = await runBounded("node", [
    LOAD, kind, ...target(port, ca), "--seconds", String(seconds), "--concurrency", "50", ...cpu,
  ], seconds * 1000 + 90_000);
  if (out.code !== 0) throw new Error(`load.mjs ${kind} failed (exit ${out.code}): ${out.stderr.trim()}`);
  const r = JSON.parse(out.stdout) as { requests: number; errors: number; firstError?: string; seconds: number; p50Ms: number; p99Ms: number; cpuTicks: number };
  if (r.errors > 0) process.stderr.write(`  ${r.errors} errors, first: ${r.firstError}\n`);
  return {
    rps: r.requests / r.seconds,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    cpuUs: gw && r.requests > 0 ? (r.cpuTicks / TICKS_PER_SECOND) * 1e6 / r.requests : NaN,
    errors: r.errors,
  };
}

/** load.mjs arguments for TLS with SNI origin.test to the gateway's `port`. */
function target(port: number, ca: string): string[] {
  return ["--via", "transparent", "--port", String(port), "--authority", `origin.test:${port}`, "--servername", "origin.test", "--ca", ca];
}

/** Established TCP connections whose local port is `port` (the origin's side of its connections). */
function established(port: number): number {
  return socketsOnLocalPort(port).filter((s) => s.state === "01").length;
}

/**
 * Backend connections open while `idleClients` clients of the listener on `port` sit idle
 * after one request each (opened 20 at a time): connections at the origin then, less before.
 */
async function idleBackendConnections(port: number, ca: string, originPort: number): Promise<{ ready: number; backend: number }> {
  const before = established(originPort);
  const child = spawnTracked("node", [LOAD, "idle", ...target(port, ca), "--count", String(idleClients), "--concurrency", "20"], { stdin: "pipe" });
  try {
    const r = JSON.parse(await firstLine(child, 180_000, "load.mjs idle")) as { ready: number; errors: number };
    await sleep(1500); // past the pool's clientHoldMs (1 s)
    return { ready: r.ready, backend: established(originPort) - before };
  } finally {
    await endInputAndWait(child);
  }
}

/** The pool's series of metric `name` (undefined when /metrics cannot be read). */
async function metric(gw: BenchGateway, name: string, pool: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${gw.port("admin")}/metrics`)).text();
    const m = new RegExp(`^${name}\\{pool="${pool}"\\} (\\d+)$`, "m").exec(text);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function config(work: string, originPort: number, caFile: string): unknown {
  const backend = { backends: [`https://127.0.0.1:${originPort}`], tls: { caFile, serverName: "origin.test" } };
  const tls = { certificates: [{ cert: join(work, "server.pem"), key: join(work, "server.key") }] };
  return {
    listeners: [
      { name: "shared", mode: "reverse", listen: "127.0.0.1:0", tls },
      { name: "own", mode: "reverse", listen: "127.0.0.1:0", tls },
    ],
    reverse: {
      pools: { shared: backend, own: { ...backend, keepAlive: { maxIdlePerBackend: 0 } } },
      routes: [
        { id: "shared", hosts: ["origin.test"], listeners: ["shared"], pool: "shared", log: false },
        { id: "own", hosts: ["origin.test"], listeners: ["own"], pool: "own", log: false },
      ],
    },
    limits: { maxConnections: 100_000, maxConnectionsPerClient: 100_000 },
    log: { flows: "off" },
    admin: { listen: "127.0.0.1:0" },
  };
}

const fmt = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "–");

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), "tollgate-bench-reverse-"));
  installCleanup(() => rmSync(work, { recursive: true, force: true }));
  const pki = makeTestPki(["origin.test"]);
  writeFileSync(join(work, "server.pem"), pki.certPem);
  writeFileSync(join(work, "server.key"), pki.keyPem);
  const origin = spawnTracked("node", [join(ROOT, "scripts/bench/origin.mjs"), "--cert", join(work, "server.pem"), "--key", join(work, "server.key")], { stdin: "pipe" });
  const originPort = (JSON.parse(await firstLine(origin, 30_000, "bench origin")) as { port: number }).port;
  console.log("# Reverse proxy: shared backend connections\n");
  for (const line of machineFacts(BIN)) console.log(`${line}  `);
  console.log(`\nnewconn and keepalive, 50 clients, ${seconds} s per run, ${rounds} rounds, medians; backend https (Node), client TLS to the gateway\n`);
  const direct: Run[] = [];
  for (let i = 0; i < Math.min(3, rounds); i++) direct.push(await newconn(originPort, pki.caFile, undefined));
  console.log(`direct to the origin: ${fmt(median(direct.map((r) => r.rps)))} req/s, p50 ${fmt(median(direct.map((r) => r.p50Ms)), 1)} ms\n`);
  const summary: string[] = [];
  const rows: string[] = [];
  for (const rt of runtimes) {
    const gw = await startBenchGateway(rt, config(work, originPort, pki.caFile), work);
    try {
      // first, on fresh pools: backend connections held for idle clients
      for (const which of ["shared", "own"] as const) {
        const idle = await idleBackendConnections(gw.port(which), pki.caFile, originPort);
        summary.push(`${rt}: ${idle.ready} clients idle on keep-alive connections after one request each (${which}): ${idle.backend} backend connections open`);
        await sleep(5000); // the shared pool's idle connections expire (4 s) before the next count
      }
      for (const kind of ["newconn", "keepalive"] as const) {
        const runs: Record<"shared" | "own", Run[]> = { shared: [], own: [] };
        await newconn(gw.port("shared"), pki.caFile, gw, kind); // warm-up: JIT, TLS contexts
        await newconn(gw.port("own"), pki.caFile, gw, kind);
        for (let i = 0; i < rounds; i++) {
          const order: ("shared" | "own")[] = i % 2 ? ["own", "shared"] : ["shared", "own"];
          for (const which of order) runs[which].push(await newconn(gw.port(which), pki.caFile, gw, kind));
        }
        for (const which of ["shared", "own"] as const) {
          const r = runs[which];
          const reused = await metric(gw, "tollgate_backend_reused_total", which);
          const latency = kind === "newconn" ? `${fmt(median(r.map((x) => x.p50Ms)), 1)} | ${fmt(median(r.map((x) => x.p99Ms)), 1)}` : "– | –";
          rows.push(`| ${rt} | ${kind} | ${which} | ${fmt(median(r.map((x) => x.rps)))} | ${latency} | ${fmt(median(r.map((x) => x.cpuUs)))} | ${reused ?? "?"} |`);
        }
        const ratio = (f: (x: Run) => number) => median(runs.shared.map(f)) / median(runs.own.map(f));
        const latency = kind === "newconn" ? `, ${fmt(ratio((x) => x.p50Ms), 2)}× the median latency` : "";
        summary.push(`${rt} ${kind}: shared ÷ own: ${fmt(ratio((x) => x.rps), 2)}× the request rate, ${fmt(ratio((x) => x.cpuUs), 2)}× the gateway CPU per request${latency}`);
      }
    } finally {
      await gw.stop();
    }
  }
  console.log("| runtime | workload | pool | req/s | p50 ms | p99 ms | gateway CPU µs/req | backend connections reused (cumulative) |");
  console.log("|---|---|---|---:|---:|---:|---:|---:|");
  for (const row of rows) console.log(row);
  console.log("");
  for (const line of summary) console.log(line);
  origin.stdin!.end();
  await stopProcess(origin);
  rmSync(work, { recursive: true, force: true });
}

await runScript("bench:reverse", main);
