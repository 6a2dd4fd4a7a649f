/**
 * Memory of the decrypted (TLS-intercepted) path under large bodies: the issue asks that
 * bodies are streamed, never buffered whole — "a 1 GiB body must not raise memory by more
 * than a few MiB".
 *
 * For each runtime (the gateway as a child process: Bun, then Deno) and each direction, a
 * real curl moves `--size-mib` MiB through a decrypting gateway to a local TLS origin (run
 * by Node, so the origin is the same whatever runtime runs this script), while the gateway's
 * VmRSS (/proc/PID/status) is sampled every 100 ms. Prints baseline (just before the
 * transfer, after a warm-up request), peak, growth, and throughput. Linux only (/proc).
 *
 *   bun scripts/bench/decrypt-memory.ts [--size-mib 1024] [--runtimes bun,deno] [--directions download,upload,upload-chunked] [--limit-rate 50M] [--deno-v8-flags --max-old-space-size=64] [--path decrypt|tunnel]
 *   deno run -A scripts/bench/decrypt-memory.ts [same options]
 *
 * Directions: `download` (GET, Content-Length response), `upload` (curl -T of a sparse file:
 * a Content-Length request body), `upload-chunked` (curl -T - from a pipe: a chunked body).
 *
 * `--limit-rate` slows curl (the reader on download, the sender on upload): with a slow
 * client reader, a gateway without backpressure would buffer what the origin sends faster.
 *
 * `--path tunnel` measures the same through a blind CONNECT tunnel (decryption exception),
 * to tell what the decrypted path adds.
 *
 * Also exports the pieces the e2e memory test uses (TLS origin, RSS sampler, PID lookup).
 *
 * @module
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { closeSync, ftruncateSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { socketsOnLocalPort } from "./_proc-net.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

const root = new URL("../../", import.meta.url).pathname;
const bin = join(root, "node_modules/.bin");

/**
 * The origin, a Node program (ESM, run with `node --input-type=module -e`). Reads
 * `ORIGIN_CONFIG` = {certPem, keyPem, servers: [{name, minVersion?, maxVersion?, plain?}]}, listens
 * on 127.0.0.1 (one port per server) and prints `{"<name>": port, …}` as one line. Routes:
 * `/version` → the negotiated TLS version; `/bytes?size=N` → N bytes (Content-Length,
 * streamed with backpressure); any request with a body → `{"bytes": N}` after consuming it.
 */
export const ORIGIN_PROGRAM = `
import https from "node:https";
import http from "node:http";
const cfg = JSON.parse(process.env.ORIGIN_CONFIG);
const block = Buffer.alloc(1 << 20);
for (let i = 0; i < block.length; i++) block[i] = (i * 131 + (i >>> 8)) & 0xff;
const handler = (req, res) => {
  const url = new URL(req.url, "https://origin");
  if (req.method === "PUT" || req.method === "POST") {
    let n = 0;
    req.on("data", (c) => (n += c.length));
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ bytes: n }));
    });
    return;
  }
  if (url.pathname === "/version") {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(String(req.socket.getProtocol()));
    return;
  }
  if (url.pathname === "/bytes") {
    const size = Number(url.searchParams.get("size") ?? "0");
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(size) });
    let sent = 0;
    const pump = () => {
      while (sent < size) {
        const n = Math.min(block.length, size - sent);
        sent += n;
        if (!res.write(n === block.length ? block : block.subarray(0, n))) return void res.once("drain", pump);
      }
      res.end();
    };
    return pump();
  }
  res.writeHead(404);
  res.end("not found");
};
const ports = {};
for (const s of cfg.servers) {
  const opts = { cert: cfg.certPem, key: cfg.keyPem };
  if (s.minVersion) opts.minVersion = s.minVersion;
  if (s.maxVersion) opts.maxVersion = s.maxVersion;
  const server = s.plain ? http.createServer(handler) : https.createServer(opts, handler);
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  ports[s.name] = server.address().port;
}
console.log(JSON.stringify(ports));
`;

/** One TLS server of the origin process. */
export interface OriginServer {
  readonly name: string;
  readonly minVersion?: "TLSv1.2" | "TLSv1.3";
  readonly maxVersion?: "TLSv1.2" | "TLSv1.3";
  /** Plain HTTP instead of TLS (for measuring plain-HTTP forwarding). */
  readonly plain?: boolean;
}

export interface TlsOrigins {
  /** Port of each server, by name. */
  readonly ports: Readonly<Record<string, number>>;
  close(): Promise<void>;
}

/** Starts {@link ORIGIN_PROGRAM} under Node with a certificate and the given servers. */
export async function startTlsOrigins(certPem: string, keyPem: string, servers: readonly OriginServer[]): Promise<TlsOrigins> {
  const child = spawn("node", ["--input-type=module", "-e", ORIGIN_PROGRAM], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, ORIGIN_CONFIG: JSON.stringify({ certPem, keyPem, servers }) },
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const ports = await new Promise<Record<string, number>>((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(() => reject(new Error("TLS origin did not start in time")), 15_000);
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (d: string) => {
      buf += d;
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      clearTimeout(timer);
      resolve(JSON.parse(buf.slice(0, nl)) as Record<string, number>);
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error("TLS origin exited before listening"));
    });
  });
  return {
    ports,
    close: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

/** Resident set size of `pid` in KiB (VmRSS), or undefined when the process is gone. */
export function rssKiB(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Samples a process's RSS on an interval and keeps the peak. */
export class RssSampler {
  readonly #pid: number;
  readonly #timer: ReturnType<typeof setInterval>;
  #peak = 0;
  #samples = 0;

  constructor(pid: number, intervalMs = 100) {
    this.#pid = pid;
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), intervalMs);
  }

  #sample(): void {
    const v = rssKiB(this.#pid);
    if (v === undefined) return;
    this.#samples += 1;
    if (v > this.#peak) this.#peak = v;
  }

  /** Stops sampling (taking one last sample); the peak in KiB and how many samples were taken. */
  stop(): { readonly peakKiB: number; readonly samples: number } {
    clearInterval(this.#timer);
    this.#sample();
    return { peakKiB: this.#peak, samples: this.#samples };
  }
}

/**
 * The PID of the process holding the TCP socket listening on 127.0.0.1:`port` (via
 * /proc/net/tcp and /proc/PID/fd), for a gateway started by a helper that does not expose it.
 */
export function pidListeningOn(port: number): number | undefined {
  const inodes = new Set(socketsOnLocalPort(port).filter((s) => s.state === "0A" && s.inode !== "").map((s) => s.inode));
  if (inodes.size === 0) return undefined;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${entry}/fd/${fd}`));
        if (m && inodes.has(m[1]!)) return Number(entry);
      } catch {
        // fd closed meanwhile
      }
    }
  }
  return undefined;
}

/** The `tollgate` command line for `runtime`. */
function cliFor(runtime: "bun" | "deno"): string[] {
  if (runtime === "deno") {
    const v8 = argValue("--deno-v8-flags");
    return [join(bin, "deno"), "run", ...(v8 ? [`--v8-flags=${v8}`] : []), "--allow-net", "--allow-read", "--allow-write", "--allow-env", "--allow-sys", join(root, "src/bin/deno.ts")];
  }
  return [join(bin, "bun"), join(root, "src/bin/bun.ts")];
}

interface Gateway {
  readonly pid: number;
  readonly port: number;
  stop(): Promise<void>;
}

async function startGatewayOn(runtime: "bun" | "deno", configFile: string): Promise<Gateway> {
  const [cmd, ...args] = cliFor(runtime);
  const child: ChildProcess = spawn(cmd!, [...args, "serve", "--config", configFile], { stdio: ["ignore", "ignore", "pipe"], cwd: root, env: { ...process.env, TOLLGATE_CONFIG: "" } });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let err = "";
    const timer = setTimeout(() => reject(new Error(`gateway (${runtime}) did not start:\n${err}`)), 30_000);
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (d: string) => {
      err += d;
      const m = /explicit=[^ ]*:(\d+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`gateway (${runtime}) exited:\n${err}`));
    });
  });
  return {
    pid: child.pid!,
    port,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Runs a shell-free command, resolving with its exit code and output. */
function run(cmd: string, args: readonly string[], stdinFrom?: { cmd: string; args: readonly string[] }): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const feeder = stdinFrom ? spawn(stdinFrom.cmd, [...stdinFrom.args], { stdio: ["ignore", "pipe", "inherit"] }) : undefined;
    const c = spawn(cmd, [...args], { stdio: [feeder ? "pipe" : "ignore", "pipe", "pipe"] });
    if (feeder) feeder.stdout!.pipe(c.stdin!);
    let stdout = "";
    let stderr = "";
    c.stdout!.on("data", (d) => (stdout += d));
    c.stderr!.on("data", (d) => (stderr += d));
    c.on("exit", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

export type Direction = "download" | "upload" | "upload-chunked";

export interface MemoryResult {
  readonly runtime: string;
  readonly direction: Direction;
  readonly bytes: number;
  readonly baselineKiB: number;
  readonly peakKiB: number;
  readonly seconds: number;
  readonly samples: number;
}

async function measure(
  runtime: "bun" | "deno",
  direction: Direction,
  size: number,
  env: { configFile: string; gwCa: string; originPort: number; sparseFile: string; limitRate: string | undefined },
): Promise<MemoryResult> {
  const gw = await startGatewayOn(runtime, env.configFile);
  try {
    const proxy = ["-x", `http://127.0.0.1:${gw.port}`, "--noproxy", "", "--cacert", env.gwCa, "-sS", "-f"];
    const limit = env.limitRate ? ["--limit-rate", env.limitRate] : [];
    const base = `https://origin.test:${env.originPort}`;
    // warm-up: mint the leaf, load the TLS code paths, one small body each way
    for (const args of [[`${base}/bytes?size=1048576`, "-o", "/dev/null"], ["-T", "-", `${base}/upload`]]) {
      const w = await run("curl", [...proxy, ...args], args[0] === "-T" ? { cmd: "head", args: ["-c", "1048576", "/dev/zero"] } : undefined);
      if (w.code !== 0) throw new Error(`warm-up failed (${runtime}): ${w.stderr}`);
    }
    await new Promise((r) => setTimeout(r, 500));
    const baselineKiB = rssKiB(gw.pid) ?? NaN;
    const sampler = new RssSampler(gw.pid, 100);
    const started = performance.now();
    let r: { code: number; stdout: string; stderr: string };
    if (direction === "download") {
      r = await run("curl", [...proxy, ...limit, "-o", "/dev/null", "-w", "%{size_download}", `${base}/bytes?size=${size}`]);
      if (r.code === 0 && Number(r.stdout) !== size) throw new Error(`downloaded ${r.stdout} of ${size} bytes`);
    } else if (direction === "upload") {
      r = await run("curl", [...proxy, ...limit, "-T", env.sparseFile, `${base}/upload`]);
    } else {
      r = await run("curl", [...proxy, ...limit, "-T", "-", `${base}/upload`], { cmd: "head", args: ["-c", String(size), "/dev/zero"] });
    }
    const seconds = (performance.now() - started) / 1000;
    const { peakKiB, samples } = sampler.stop();
    if (r.code !== 0) throw new Error(`curl failed (${runtime} ${direction}): ${r.stderr}`);
    if (direction !== "download") {
      const got = (JSON.parse(r.stdout) as { bytes: number }).bytes;
      if (got !== size) throw new Error(`origin received ${got} of ${size} bytes`);
    }
    return { runtime, direction, bytes: size, baselineKiB, peakKiB, seconds, samples };
  } finally {
    await gw.stop();
  }
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const sizeMiB = Number(argValue("--size-mib") ?? "1024");
  const size = sizeMiB * 1024 * 1024;
  const runtimes = (argValue("--runtimes") ?? "bun,deno").split(",") as ("bun" | "deno")[];
  const tunnel = argValue("--path") === "tunnel";
  const directions = (argValue("--directions") ?? "download,upload,upload-chunked").split(",") as Direction[];
  const { makeTestPki } = await import("../../test/e2e/support/certs.ts");
  const work = mkdtempSync(join(tmpdir(), "tollgate-decrypt-mem-"));
  const pki = makeTestPki(["origin.test"]);
  const origins = await startTlsOrigins(pki.certPem, pki.keyPem, [{ name: "origin" }]);
  try {
    const [cmd, ...args] = cliFor("bun");
    execFileSync(cmd!, [...args, "ca", "init", "--out", join(work, "ca")], { stdio: "ignore" });
    const configFile = join(work, "config.json");
    writeFileSync(configFile, JSON.stringify({
      listeners: [{ name: "explicit", mode: "explicit", listen: "127.0.0.1:0" }],
      ca: { cert: join(work, "ca", "ca.pem"), key: join(work, "ca", "ca.key") },
      interception: { upstreamCaFiles: [pki.caFile] },
      policy: { defaultAction: "deny", rules: [{ id: "inspect", hosts: ["origin.test"], action: "allow", decryption: tunnel ? "exception" : "decrypt" }] },
      dns: { hosts: { "origin.test": ["127.0.0.1"] } },
      addressGuard: { allow: ["127.0.0.1/32"] }, // the origin is on loopback, refused by default
      log: { flows: "off" },
    }));
    const sparseFile = join(work, "upload.bin");
    const fd = openSync(sparseFile, "w");
    ftruncateSync(fd, size); // reads as zeros, takes no disk
    closeSync(fd);
    const limitRate = argValue("--limit-rate");
    // through a blind tunnel curl talks TLS with the origin itself
    const env = { configFile, gwCa: tunnel ? pki.caFile : join(work, "ca", "ca.pem"), originPort: origins.ports["origin"]!, sparseFile, limitRate };
    console.log(`${tunnel ? "blind tunnel (for comparison)" : "decrypted path"}, ${sizeMiB} MiB per transfer${limitRate ? `, curl --limit-rate ${limitRate}` : ""}, gateway RSS sampled every 100 ms`);
    console.log("runtime  direction        baseline MiB  peak MiB  growth MiB   MB/s  samples");
    for (const runtime of runtimes) {
      for (const direction of directions) {
        const m = await measure(runtime, direction, size, env);
        const mib = (k: number) => (k / 1024).toFixed(1);
        console.log(
          `${runtime.padEnd(8)} ${direction.padEnd(16)} ${mib(m.baselineKiB).padStart(12)} ${mib(m.peakKiB).padStart(9)} ${mib(m.peakKiB - m.baselineKiB).padStart(11)} ${(m.bytes / 1e6 / m.seconds).toFixed(0).padStart(6)} ${String(m.samples).padStart(8)}`,
        );
      }
    }
  } finally {
    await origins.close();
    rmSync(work, { recursive: true, force: true });
    rmSync(pki.dir, { recursive: true, force: true });
  }
}

if (import.meta.main) await main();
