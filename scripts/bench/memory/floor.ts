/**
 * Where does a big transfer's RSS growth come from? Moves `--size-mib` MiB (download) from
 * a local TLS origin through one of several relays and samples the relay's VmRSS, RssAnon
 * and RssFile (/proc/PID/status) every 50 ms; optionally (`--trace DIR`) also the relay's
 * own `process.memoryUsage()` / `bun:jsc` figures (trace.ts). Fresh relay process per run.
 *
 *   bun scripts/bench/memory/floor.ts --targets bun-relay,bun-tunnel,bun-decrypt,bun-plain,deno-relay,deno-relay-loop,deno-tls-native,deno-tls-loopback,deno-tls-node,deno-tunnel,deno-decrypt,deno-plain [--size-mib 1024] [--warm-mib 64] [--runs 3] [--trace DIR] [--direction download|upload|upload-chunked] [--parallel N] [--pieces N] [--warm-pieces N] [--settle-ms N] [--idle-ms N] [--deno-v8-flags F] [--own-tls] [--heap-profile FILE] [--malloc-census FILE] [--relay-stdout FILE]
 *
 * Relays: `bun-relay` / `deno-relay` / `deno-relay-loop` are minimal TCP relays with no
 * Tollgate code (the runtime's floor; curl reaches the origin through them with --connect-to);
 * `deno-tls-native` / `deno-tls-loopback` / `deno-tls-node` are minimal TLS-terminating relays
 * (deno-tls-relay.ts: Deno.listenTls + Deno.startTls, the same behind a loopback TCP hop, or
 * node:tls over node:net with pipe());
 * `*-tunnel` is a Tollgate blind CONNECT tunnel, `*-decrypt` Tollgate's decrypted path,
 * `*-plain` Tollgate forwarding plain HTTP (`curl -x … http://…`) to a plain origin.
 * `--warm-mib` moves that much once before the baseline, to separate warm-up (JIT, pools,
 * heap sizing) from growth with the body. `--parallel N` moves N bodies at once (MB/s is then
 * the total; the warm-up too is then N at once), to tell a per-process cost from a per-body
 * one; `--pieces N` (downloads) moves the same bytes as N sequential requests of 1/N each, to
 * tell growth with a body's size from growth with the bytes a process has moved;
 * `--warm-pieces N` does the same for the warm-up. `--idle-ms N` (default 500) is how long the
 * relay sits idle after its first 1 MiB request and any warm-up, before the baseline: after
 * ~10 s idle V8 shrinks its young generation at the transfer's first minor collection (the
 * allocation rate it measures is then low), and at ~30 s its memory reducer runs, as before
 * a long-running gateway's first large body. `--settle-ms N` leaves the relay idle after
 * the transfer for N ms and adds what it still holds above the baseline (V8 returns memory
 * only after ~30 s of low allocation). `--own-tls` runs the gateways with `deno: { ownTls: true }`
 * (Deno's own TLS behind loopback hops; Bun ignores it). `--heap-profile FILE` (Deno targets) samples
 * the measured transfer's allocations that outlive a minor collection (heap-sampler.ts), prints
 * the top sites and writes V8's profile to FILE (FILE-RUN.json with several runs); the
 * inspector costs some throughput and memory, so compare growth without it.
 * `--malloc-census FILE` (Deno targets; needs a C compiler) runs the relay with
 * malloc-census.c preloaded, which counts glibc heap blocks by size every 200 ms into FILE
 * (FILE-TARGET-RUN with several targets or runs): for memory outside V8's heap, such as
 * buffers the runtime's Rust code allocated that wait for a collection.
 * `--relay-stdout FILE` writes the relay's standard output to FILE (FILE-TARGET-RUN with several
 * targets or runs), e.g. V8's `--trace-gc` lines with `--deno-v8-flags --trace-gc`.
 *
 * @module
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { type AddressInfo, createServer } from "node:net";
import { dirname, join } from "node:path";
import process from "node:process";
import { startTlsOrigins } from "../decrypt-memory.ts";
import { type HeapSampler, startHeapSampling, topSites } from "./heap-sampler.ts";

const root = new URL("../../../", import.meta.url).pathname;
const here = new URL("./", import.meta.url).pathname;
const bin = join(root, "node_modules/.bin");
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};

interface Status {
  rss: number;
  anon: number;
  file: number;
}
function status(pid: number): Status | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB$`, "m").exec(s)?.[1] ?? NaN);
    return { rss: kb("VmRSS"), anon: kb("RssAnon"), file: kb("RssFile") };
  } catch {
    return undefined;
  }
}

/** A TCP port free on 127.0.0.1 right now (for the inspector, which cannot report the one it took). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

interface Relay {
  readonly pid: number;
  readonly port: number;
  stop(): Promise<void>;
}

function startRelay(cmd: string[], env: Record<string, string>, portPattern: RegExp, stdoutFile?: string): Promise<Relay> {
  if (stdoutFile !== undefined) mkdirSync(dirname(stdoutFile), { recursive: true });
  const out = stdoutFile === undefined ? "ignore" : openSync(stdoutFile, "w");
  let child: ChildProcess;
  try {
    child = spawn(cmd[0]!, cmd.slice(1), { stdio: ["ignore", out, "pipe"], cwd: root, env: { ...process.env, TOLLGATE_CONFIG: "", ...env } });
  } finally {
    if (typeof out === "number") closeSync(out);
  }
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return new Promise<Relay>((resolve, reject) => {
    let err = "";
    const timer = setTimeout(() => reject(new Error(`${cmd.join(" ")} did not start:\n${err}`)), 30_000);
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (d: string) => {
      err += d;
      const m = portPattern.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({
          pid: child.pid!,
          port: Number(m[1]),
          stop: async () => {
            if (child.exitCode === null) child.kill("SIGTERM");
            const t = setTimeout(() => child.kill("SIGKILL"), 5000);
            await exited;
            clearTimeout(t);
            const stats = /^events=.*$/m.exec(err);
            if (stats) console.log(`  (${stats[0]})`);
          },
        });
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${cmd.join(" ")} exited:\n${err}`));
    });
  });
}

/** Runs curl; with `stdinBytes`, pipes that many zero bytes into it (`-T -`: a chunked upload). */
function curl(args: string[], stdinBytes = 0): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn("curl", ["-sS", "-f", ...args], { stdio: [stdinBytes > 0 ? "pipe" : "ignore", "pipe", "pipe"] });
    if (stdinBytes > 0) {
      const head = spawn("head", ["-c", String(stdinBytes), "/dev/zero"], { stdio: ["ignore", "pipe", "ignore"] });
      head.stdout!.pipe(c.stdin!);
    }
    let out = "";
    let err = "";
    c.stdout!.on("data", (d) => (out += d));
    c.stderr!.on("data", (d) => (err += d));
    c.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`curl ${code}: ${err}`))));
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const size = Number(arg("--size-mib") ?? "1024") * 2 ** 20;
  const warm = Number(arg("--warm-mib") ?? "0") * 2 ** 20;
  const runs = Number(arg("--runs") ?? "3");
  const traceDir = arg("--trace");
  if (traceDir) mkdirSync(traceDir, { recursive: true });
  const targets = (arg("--targets") ?? "bun-relay,bun-tunnel,bun-decrypt").split(",");
  const direction = arg("--direction") ?? "download";
  const parallel = Number(arg("--parallel") ?? "1");
  const pieces = Number(arg("--pieces") ?? "1");
  const warmPieces = Number(arg("--warm-pieces") ?? "1");
  const settleMs = Number(arg("--settle-ms") ?? "0");
  const idleMs = Number(arg("--idle-ms") ?? "500");
  if (!Number.isFinite(idleMs) || idleMs < 0) throw new Error(`--idle-ms: expected milliseconds, got ${arg("--idle-ms")}`);
  const upload = direction.startsWith("upload");
  const { makeTestPki } = await import("../../../test/e2e/support/certs.ts");
  const work = mkdtempSync(join(tmpdir(), "tollgate-floor-"));
  const pki = makeTestPki(["origin.test"]);
  const origins = await startTlsOrigins(pki.certPem, pki.keyPem, [{ name: "origin" }, { name: "plain", plain: true }]);
  const oport = origins.ports["origin"]!;
  const pport = origins.ports["plain"]!;
  try {
    execFileSync(join(bin, "bun"), [join(root, "src/bin/bun.ts"), "ca", "init", "--out", join(work, "ca")], { stdio: "ignore" });
    const config = (decrypt: boolean) => {
      const f = join(work, decrypt ? "decrypt.json" : "tunnel.json");
      writeFileSync(f, JSON.stringify({
        listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:0" }],
        ca: { cert: join(work, "ca", "ca.pem"), key: join(work, "ca", "ca.key") },
        interception: { upstreamCaFiles: [pki.caFile] },
        policy: { defaultAction: "deny", rules: [{ id: "r", hosts: ["origin.test"], action: "allow", decryption: decrypt ? "decrypt" : "exception" }] },
        dns: { hosts: { "origin.test": ["127.0.0.1"] } },
        addressGuard: { allow: ["127.0.0.1/32"] },
        log: { flows: "off" },
        ...(process.argv.includes("--own-tls") ? { deno: { ownTls: true } } : {}),
      }));
      return f;
    };
    const v8Flags = arg("--deno-v8-flags");
    const relayStdout = arg("--relay-stdout");
    const heapProfile = arg("--heap-profile");
    const inspectPort = heapProfile ? await freePort() : 0;
    const census = arg("--malloc-census");
    const censusLib = join(work, "malloc-census.so");
    if (census) execFileSync("cc", ["-O2", "-shared", "-fPIC", "-o", censusLib, join(here, "malloc-census.c"), "-lpthread"], { stdio: "inherit" });
    const denoRun = [join(bin, "deno"), "run", "-A", ...(heapProfile ? [`--inspect=127.0.0.1:${inspectPort}`] : []), ...(v8Flags ? [`--v8-flags=${v8Flags}`] : [])];
    const gwPort = /explicit=[^ ]*:(\d+)/;
    const relayPort = /port=(\d+)/;
    const sparse = join(work, "upload.bin");
    if (upload) {
      writeFileSync(sparse, "");
      truncateSync(sparse, size);
    }
    console.log(`${direction} ${size / 2 ** 20} MiB${pieces > 1 ? ` in ${pieces} requests` : ""}${parallel > 1 ? ` × ${parallel} at once` : ""}, warm-up ${warm / 2 ** 20} MiB${warmPieces > 1 ? ` in ${warmPieces} requests` : ""}, idle ${idleMs} ms, ${runs} runs; MiB: growth = peak - baseline (median of runs) [each run]`);
    console.log(`target            base   rss-growth             anon-growth            file-growth   MB/s${settleMs > 0 ? `  rss-growth ${settleMs / 1000} s later` : ""}`);
    for (const target of targets) {
      const rows: { base: number; rss: number; anon: number; file: number; mbs: number; settled: number }[] = [];
      for (let run = 0; run < runs; run++) {
        const env: Record<string, string> = traceDir ? { MEMTRACE_FILE: join(traceDir, `${target}-${run}.jsonl`), MEMTRACE_MS: "100" } : {};
        if (traceDir) rmSync(env["MEMTRACE_FILE"]!, { force: true });
        if (census && target.startsWith("deno-")) {
          env["LD_PRELOAD"] = censusLib;
          env["MALLOC_CENSUS_FILE"] = runs > 1 || targets.length > 1 ? `${census}-${target}-${run}` : census;
          rmSync(env["MALLOC_CENSUS_FILE"], { force: true });
        }
        const relayOut = relayStdout === undefined ? undefined : runs > 1 || targets.length > 1 ? `${relayStdout}-${target}-${run}` : relayStdout;
        const trace = join(here, "trace.ts");
        let relay: Relay;
        const viaRelay = target.endsWith("relay") || target.endsWith("relay-loop") || target.startsWith("deno-tls-");
        if (target === "bun-relay") relay = await startRelay([join(bin, "bun"), "--preload", trace, join(here, "bun-relay.ts"), String(oport)], env, relayPort, relayOut);
        else if (target === "deno-relay") relay = await startRelay([...denoRun, join(here, "deno-relay.ts"), String(oport), "pipe"], env, relayPort, relayOut);
        else if (target === "deno-relay-loop") relay = await startRelay([...denoRun, join(here, "deno-relay.ts"), String(oport), "loop"], env, relayPort, relayOut);
        else if (target === "deno-tls-native" || target === "deno-tls-loopback" || target === "deno-tls-node") relay = await startRelay([...denoRun, join(here, "deno-tls-relay.ts"), String(oport), pki.dir, target.slice(9)], env, relayPort, relayOut);
        else {
          const [rt, path] = target.split("-") as ["bun" | "deno", "tunnel" | "decrypt" | "plain"];
          const cfg = ["serve", "--config", config(path === "decrypt")];
          const cmd = rt === "bun" ? [join(bin, "bun"), "--preload", trace, join(root, "src/bin/bun.ts"), ...cfg] : [...denoRun, join(here, "deno-gateway.ts"), ...cfg];
          relay = await startRelay(cmd, env, gwPort, relayOut);
        }
        try {
          const through = viaRelay
            ? ["--connect-to", `origin.test:${oport}:127.0.0.1:${relay.port}`, "--cacert", pki.caFile]
            : ["-x", `http://127.0.0.1:${relay.port}`, "--noproxy", "", "--cacert", target.endsWith("decrypt") ? join(work, "ca", "ca.pem") : pki.caFile];
          const plain = target.endsWith("-plain");
          const originUrl = plain ? `http://origin.test:${pport}` : `https://origin.test:${oport}`;
          const url = (n: number) => `${originUrl}/bytes?size=${n}`;
          await curl([...through, "-o", "/dev/null", url(2 ** 20)]);
          const warmUp = async () => {
            for (let i = 0; i < warmPieces; i++) await curl([...through, "-o", "/dev/null", url(warm / warmPieces)]);
          };
          if (warm > 0) await Promise.all(Array.from({ length: parallel }, warmUp));
          await new Promise((r) => setTimeout(r, idleMs));
          const base = status(relay.pid)!;
          const peak = { ...base };
          const sample = () => {
            const s = status(relay.pid);
            if (!s) return;
            peak.rss = Math.max(peak.rss, s.rss);
            peak.anon = Math.max(peak.anon, s.anon);
            peak.file = Math.max(peak.file, s.file);
          };
          const sampler: HeapSampler | undefined = heapProfile && target.startsWith("deno-") ? await startHeapSampling(inspectPort) : undefined;
          const timer = setInterval(sample, 50);
          const t0 = performance.now();
          const one = async () =>
            upload
              ? (JSON.parse(await curl([...through, "-T", direction === "upload" ? sparse : "-", `${originUrl}/upload`], direction === "upload" ? 0 : size)) as { bytes: number }).bytes
              : await curl([...through, "-o", "/dev/null", "-w", "%{size_download}", url(size)]);
          // --pieces: the same bytes as `pieces` sequential requests, each its own connection
          const inPieces = async () => {
            let moved = 0;
            for (let i = 0; i < pieces; i++) moved += Number(await curl([...through, "-o", "/dev/null", "-w", "%{size_download}", url(size / pieces)]));
            return moved;
          };
          const got = await Promise.all(Array.from({ length: parallel }, pieces > 1 ? inPieces : one));
          const secs = (performance.now() - t0) / 1000;
          clearInterval(timer);
          sample();
          if (sampler) {
            const profile = await sampler.stop();
            writeFileSync(runs > 1 ? heapProfile!.replace(/(\.json)?$/, `-${run}.json`) : heapProfile!, JSON.stringify(profile));
            const { total, sites } = topSites(profile);
            console.log(`${target} run ${run}: ${(total / 2 ** 20).toFixed(1)} MiB sampled that outlived a minor GC; top sites:`);
            for (const { bytes, site } of sites) console.log(`${(bytes / 1024).toFixed(0).padStart(8)} KiB  ${site}`);
          }
          for (const g of got) if (Number(g) !== size) throw new Error(`moved ${g} of ${size}`);
          if (settleMs > 0) await new Promise((r) => setTimeout(r, settleMs));
          const settled = settleMs > 0 ? (status(relay.pid)!.rss - base.rss) / 1024 : Number.NaN;
          rows.push({ base: base.rss / 1024, rss: (peak.rss - base.rss) / 1024, anon: (peak.anon - base.anon) / 1024, file: (peak.file - base.file) / 1024, mbs: (parallel * size) / 1e6 / secs, settled });
        } finally {
          await relay.stop();
        }
      }
      const col = (k: "rss" | "anon" | "file" | "settled") => `${median(rows.map((r) => r[k])).toFixed(1).padStart(5)} [${rows.map((r) => r[k].toFixed(0)).join(",")}]`.padEnd(22);
      console.log(`${target.padEnd(16)} ${median(rows.map((r) => r.base)).toFixed(1).padStart(5)}  ${col("rss")} ${col("anon")} ${col("file")} ${median(rows.map((r) => r.mbs)).toFixed(0).padStart(5)}${settleMs > 0 ? `  ${col("settled")}` : ""}`);
    }
  } finally {
    await origins.close();
    rmSync(work, { recursive: true, force: true });
    rmSync(pki.dir, { recursive: true, force: true });
  }
}

if (import.meta.main) await main();
