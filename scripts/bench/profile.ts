/**
 * Where the gateway spends CPU on one benchmark workload: starts the bench origin and a
 * gateway under a sampling profiler, drives the workload with `load.mjs` (or curl), and
 * prints the top frames by self time, grouped by function and by source file.
 *
 *   bun scripts/bench/profile.ts --runtime bun|deno --workload W [--seconds 10]
 *       [--concurrency 50] [--size-mib 1024] [--top 30] [--perf] [--keep DIR]
 *
 * Workloads: download-tunnel, download-decrypt, download-splice, download-tdecrypt,
 * newconn-tunnel, newconn-decrypt, keepalive-tunnel, keepalive-decrypt.
 *
 * Bun: `bun --cpu-prof` (written when the gateway exits on SIGTERM). Deno: the V8 inspector
 * (`--inspect=127.0.0.1:0`) driven over its WebSocket with Profiler.start/stop. `--perf`
 * also samples the process with Linux `perf record -g` and prints `perf report` by shared
 * object and by symbol (native time: kernel, TLS library, JIT code). Linux only.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { makeTestPki } from "../../test/e2e/support/certs.ts";
import { type BenchGateway, type GatewayRuntime, ROOT, startBenchGateway, tollgateCommand } from "./_gateway.ts";
import { cpuTicks, firstLine, installCleanup, runScript, sleep, spawnTracked, stopProcess, TICKS_PER_SECOND } from "./_procs.ts";
import { type BenchEnv, download, type Path, requestRate } from "./_workloads.ts";

function argValue(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

const runtime = argValue("--runtime", "bun") as GatewayRuntime;
const workload = argValue("--workload", "keepalive-decrypt");
const seconds = Number(argValue("--seconds", "10"));
const concurrency = Number(argValue("--concurrency", "50"));
const sizeMiB = Number(argValue("--size-mib", "1024"));
const top = Number(argValue("--top", "30"));
const withPerf = process.argv.includes("--perf");

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** A V8 inspector session over WebSocket (Deno). */
async function inspector(url: string): Promise<{ call(method: string, params?: unknown): Promise<Record<string, unknown>>; close(): void }> {
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error(`inspector: cannot connect to ${url}`));
  });
  let id = 0;
  const waiting = new Map<number, (r: Record<string, unknown>) => void>();
  ws.onmessage = (ev) => {
    const msg = JSON.parse(String(ev.data)) as { id?: number; result?: Record<string, unknown> };
    if (msg.id !== undefined) waiting.get(msg.id)?.(msg.result ?? {});
  };
  return {
    call: (method, params) =>
      new Promise((resolve) => {
        const n = ++id;
        waiting.set(n, resolve);
        ws.send(JSON.stringify({ id: n, method, params: params ?? {} }));
      }),
    close: () => ws.close(),
  };
}

/**
 * Samples per frame and per file from a .cpuprofile, printed as tables. Samples are counted
 * (not weighted by time delta): JSC only samples while JavaScript runs, so its deltas fold
 * idle time into the next sample. "(idle)" and "(root)" samples are left out.
 */
function summarise(profile: CpuProfile): void {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (const id of profile.samples) {
    const name = byId.get(id)?.callFrame.functionName;
    if (name === "(idle)" || name === "(root)") continue;
    self.set(id, (self.get(id) ?? 0) + 1);
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const short = (url: string): string => url.replace(/^file:\/\//, "").replace(ROOT, "").replace(/^.*node_modules\//, "node_modules/") || "(native/builtin)";
  const frames = new Map<string, number>();
  const files = new Map<string, number>();
  for (const [id, n] of self) {
    const f = byId.get(id)!.callFrame;
    const key = `${f.functionName || "(anonymous)"}  ${short(f.url)}${f.url ? `:${f.lineNumber + 1}` : ""}`;
    frames.set(key, (frames.get(key) ?? 0) + n);
    const file = f.url ? short(f.url) : f.functionName.startsWith("(") ? f.functionName : "(native/builtin)";
    files.set(file, (files.get(file) ?? 0) + n);
  }
  const print = (title: string, m: Map<string, number>) => {
    console.log(`\n${title} (share of ${total} non-idle samples)`);
    for (const [k, n] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${((n / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
  };
  print("top frames", frames);
  print("by file", files);
  // self samples with the calling chain (3 frames up), to tell which caller a native frame serves
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const chains = new Map<string, number>();
  for (const [id, n] of self) {
    const parts: string[] = [];
    for (let cur: number | undefined = id, k = 0; cur !== undefined && k < 4; cur = parent.get(cur), k++) {
      const f = byId.get(cur)!.callFrame;
      parts.push(`${f.functionName || "(anonymous)"}${f.url ? `@${short(f.url).split("/").pop()}:${f.lineNumber + 1}` : ""}`);
    }
    const key = parts.join(" ← ");
    chains.set(key, (chains.get(key) ?? 0) + n);
  }
  print("top frames with callers", chains);
}

function perfReport(data: string): void {
  for (const sort of ["dso", "dso,sym"]) {
    try {
      const out = execFileSync("perf", ["report", "-i", data, "--no-children", "-g", "none", "--sort", sort, "--stdio", "--percent-limit", "0.7"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], maxBuffer: 64 << 20 });
      console.log(`\nperf report --sort ${sort}`);
      console.log(out.split("\n").filter((l) => l.trim() && !l.startsWith("#")).slice(0, top).join("\n"));
    } catch (e) {
      console.log(`perf report failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

async function main(): Promise<void> {
  const keep = argValue("--keep", "");
  const work = keep || mkdtempSync(join(tmpdir(), "tollgate-profile-"));
  const pki = makeTestPki(["origin.test", "inspect.test"]);
  installCleanup(() => {
    if (!keep) rmSync(work, { recursive: true, force: true });
    rmSync(pki.dir, { recursive: true, force: true });
  });
  mkdirSync(work, { recursive: true });
  const profDir = join(work, "prof");
  mkdirSync(profDir, { recursive: true });
  const [tg, ...tgArgs] = tollgateCommand("bun");
  execFileSync(tg!, [...tgArgs, "ca", "init", "--out", join(work, "ca")], { stdio: ["ignore", "ignore", "pipe"], cwd: ROOT });
  writeFileSync(join(work, "server.pem"), pki.certPem);
  writeFileSync(join(work, "server.key"), pki.keyPem);
  const origin = spawnTracked("node", [join(ROOT, "scripts/bench/origin.mjs"), "--cert", join(work, "server.pem"), "--key", join(work, "server.key")], { stdin: "pipe" });
  const { port } = JSON.parse(await firstLine(origin, 15_000, "origin")) as { port: number };
  const env: BenchEnv = { originPort: port, originCa: pki.caFile, gatewayCa: join(work, "ca", "ca.pem"), curl: true };
  // with --perf, no JS profiler (its sampling signals would show up as native time); V8
  // writes a perf map so that perf can name JIT-compiled JavaScript frames
  const flags = withPerf
    ? (runtime === "deno" ? ["--v8-flags=--perf-basic-prof"] : [])
    : runtime === "bun" ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`, "--cpu-prof-interval=250"] : ["--inspect=127.0.0.1:0"];
  const config = {
    listeners: [
      { name: "explicit", mode: "explicit", listen: "127.0.0.1:0" },
      { name: "transparent", mode: "transparent", listen: "127.0.0.1:0", upstreamPort: port },
    ],
    ca: { cert: join(work, "ca", "ca.pem"), key: join(work, "ca", "ca.key") },
    interception: { upstreamCaFiles: [pki.caFile] },
    policy: { defaultAction: "deny", rules: [{ id: "tunnel", hosts: ["origin.test"], action: "allow" }, { id: "inspect", hosts: ["inspect.test"], action: "allow", decryption: "decrypt" }] },
    dns: { hosts: { "origin.test": ["127.0.0.1"], "inspect.test": ["127.0.0.1"] } },
    addressGuard: { allow: ["127.0.0.1/32"] },
    limits: { maxConnections: 100_000, maxConnectionsPerClient: 100_000 },
    log: { flows: "off" },
  };
  const gw: BenchGateway = await startBenchGateway(runtime, config, work, flags);
  let session: Awaited<ReturnType<typeof inspector>> | undefined;
  try {
    const [kind, pathName] = workload.split("-") as [string, string];
    const path = ({ tunnel: "tunnel", decrypt: "decrypt", splice: "splice", tdecrypt: "tdecrypt" } as Record<string, Path>)[pathName];
    if (!path || !["download", "newconn", "keepalive"].includes(kind)) throw new Error(`unknown workload ${JSON.stringify(workload)}`);
    // warm-up (not profiled on Deno; on Bun the profile covers the whole process life)
    await download(env, path, gw, 16 << 20);
    await requestRate(env, "newconn", path === "splice" || path === "tdecrypt" ? "tunnel" : path, gw, 1, 10);
    if (runtime === "deno" && !withPerf) {
      const ws = /ws:\/\/\S+/.exec(gw.startupLog)?.[0];
      if (!ws) throw new Error(`no inspector URL in the gateway's output:\n${gw.startupLog}`);
      session = await inspector(ws);
      await session.call("Profiler.enable");
      await session.call("Profiler.setSamplingInterval", { interval: 250 });
      await session.call("Profiler.start");
    }
    const perf = withPerf ? spawnTracked("perf", ["record", "-F", "999", "-g", "-o", join(work, "perf.data"), "-p", String(gw.pid)]) : undefined;
    const cpu0 = cpuTicks(gw.pid);
    const split0 = userSys(gw.pid);
    const threads0 = threadTicks(gw.pid);
    const t0 = performance.now();
    let units = "";
    if (kind === "download") {
      const d = await download(env, path, gw, sizeMiB << 20);
      units = `${d.mbps.toFixed(0)} MB/s, ${d.cpuPerGiB.toFixed(2)} CPU-s/GiB`;
    } else {
      const r = await requestRate(env, kind as "newconn" | "keepalive", path, gw, seconds, concurrency);
      units = `${r.rps.toFixed(0)} req/s, ${r.cpuUs.toFixed(0)} µs CPU/req, p50 ${r.p50Ms.toFixed(1)} ms${r.errors ? `, ${r.errors} errors: ${r.firstError}` : ""}`;
    }
    const cpu = (cpuTicks(gw.pid) - cpu0) / TICKS_PER_SECOND;
    const split1 = userSys(gw.pid);
    const user = (split1[0] - split0[0]) / TICKS_PER_SECOND;
    const sys = (split1[1] - split0[1]) / TICKS_PER_SECOND;
    const threads = [...threadTicks(gw.pid)]
      .map(([name, t]) => [name, (t - (threads0.get(name) ?? 0)) / TICKS_PER_SECOND] as const)
      .filter(([, s]) => s > 0)
      .sort((a, b) => b[1] - a[1]);
    const wall = (performance.now() - t0) / 1000;
    if (perf) {
      perf.kill("SIGINT");
      await stopProcess(perf, 10_000);
    }
    console.log(`${runtime} ${workload}: ${units}; gateway ${cpu.toFixed(2)} CPU-s over ${wall.toFixed(1)} s (${((cpu / wall) * 100).toFixed(0)}% of a core; user ${user.toFixed(2)} s, system ${sys.toFixed(2)} s)`);
    console.log(`threads (CPU-s): ${threads.map(([n, s]) => `${n} ${s.toFixed(2)}`).join(", ")}`);
    if (session) {
      const r = await session.call("Profiler.stop");
      session.close();
      writeFileSync(join(profDir, "deno.cpuprofile"), JSON.stringify(r["profile"]));
    }
  } finally {
    await gw.stop();
    origin.stdin!.end();
    await stopProcess(origin, 2000);
  }
  await sleep(200);
  const file = readdirSync(profDir).find((f) => f.endsWith(".cpuprofile"));
  if (withPerf) perfReport(join(work, "perf.data"));
  else if (file) summarise(JSON.parse(readFileSync(join(profDir, file), "utf8")) as CpuProfile);
  else console.log(`no .cpuprofile in ${profDir}`);
  if (!process.argv.includes("--keep")) rmSync(work, { recursive: true, force: true });
  else console.log(`\nkept ${work}`);
  rmSync(pki.dir, { recursive: true, force: true });
}

/** [utime, stime] of `pid` in clock ticks. */
function userSys(pid: number): [number, number] {
  const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return [Number(f[11]), Number(f[12])];
}

/** utime+stime per thread name (threads of the same name summed) of `pid`, in clock ticks. */
function threadTicks(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "latin1");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")).replace(/\d+$/, "#");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(name, (out.get(name) ?? 0) + Number(f[11]) + Number(f[12]));
    } catch {
      // thread ended
    }
  }
  return out;
}

await runScript("profile", main);
