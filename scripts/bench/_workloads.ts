/**
 * The measured workloads of the benchmark suite. Each call is one measurement by a client
 * in its own process (curl, or `load.mjs` under Node) against the bench origin, directly or
 * through the gateway, with the gateway's CPU time over the measured window from /proc.
 *
 * @module
 */
import { join } from "node:path";
import type { BenchGateway } from "./_gateway.ts";
import { ROOT } from "./_gateway.ts";
import { rssKiB } from "./decrypt-memory.ts";
import { cpuTicks, endInputAndWait, firstLine, runBounded, sleep, spawnTracked, TICKS_PER_SECOND } from "./_procs.ts";

const LOAD = join(ROOT, "scripts/bench/load.mjs");

/** What the suite set up once: origin port, trust anchors. */
export interface BenchEnv {
  readonly originPort: number;
  /** CA of the origin's certificate (trusted by clients of the tunnel and the direct runs). */
  readonly originCa: string;
  /** The gateway's interception CA (trusted by clients of decrypted paths). */
  readonly gatewayCa: string;
  /** curl is present (else downloads use load.mjs). */
  readonly curl: boolean;
}

/** The four download paths, and the direct baseline. */
export type Path = "direct" | "tunnel" | "decrypt" | "splice" | "tdecrypt";

/** Host names the gateway's policy maps to "exception" (tunnel) and "decrypt". */
const TUNNEL_HOST = "origin.test";
const DECRYPT_HOST = "inspect.test";

/** How a client reaches the origin on `path`: the load.mjs arguments (curl's are derived). */
function route(env: BenchEnv, path: Path, gw: BenchGateway | undefined): { via: string; port: number; host: string; ca: string } {
  const need = (): BenchGateway => {
    if (gw === undefined) throw new Error(`path ${path} needs a gateway`);
    return gw;
  };
  switch (path) {
    case "direct":
      return { via: "direct", port: env.originPort, host: TUNNEL_HOST, ca: env.originCa };
    case "tunnel":
      return { via: "connect", port: need().port("explicit"), host: TUNNEL_HOST, ca: env.originCa };
    case "decrypt":
      return { via: "connect", port: need().port("explicit"), host: DECRYPT_HOST, ca: env.gatewayCa };
    case "splice":
      return { via: "transparent", port: need().port("transparent"), host: TUNNEL_HOST, ca: env.originCa };
    case "tdecrypt":
      return { via: "transparent", port: need().port("transparent"), host: DECRYPT_HOST, ca: env.gatewayCa };
  }
}

function loadArgs(env: BenchEnv, path: Path, gw: BenchGateway | undefined): string[] {
  const r = route(env, path, gw);
  return ["--via", r.via, "--port", String(r.port), "--authority", `${r.host}:${env.originPort}`, "--servername", r.host, "--ca", r.ca];
}

export interface Download {
  readonly mbps: number;
  /** Gateway CPU seconds per GiB moved (NaN when direct). */
  readonly cpuPerGiB: number;
}

/** One download of `size` bytes on `path`. */
export async function download(env: BenchEnv, path: Path, gw: BenchGateway | undefined, size: number): Promise<Download> {
  const r = route(env, path, gw);
  const timeout = 30_000 + size / 5e6; // ≥ 5 MB/s or it counts as hung
  const cpu0 = gw ? cpuTicks(gw.pid) : 0;
  let bytes: number;
  let seconds: number;
  if (env.curl) {
    const where = r.via === "connect"
      ? ["-x", `http://127.0.0.1:${r.port}`, `https://${r.host}:${env.originPort}/bytes?size=${size}`]
      : ["--resolve", `${r.host}:${r.port}:127.0.0.1`, `https://${r.host}:${r.port}/bytes?size=${size}`];
    const out = await runBounded("curl", ["-sS", "-f", "--max-time", String(Math.ceil(timeout / 1000)), "--cacert", r.ca, "-o", "/dev/null", "-w", "%{size_download} %{time_total}", ...where], timeout + 5000);
    if (out.code !== 0) throw new Error(`curl ${path} failed (${out.code}): ${out.stderr.trim()}`);
    [bytes, seconds] = out.stdout.trim().split(" ").map(Number) as [number, number];
  } else {
    const out = await runBounded("node", [LOAD, "download", ...loadArgs(env, path, gw), "--size", String(size)], timeout + 5000);
    if (out.code !== 0) throw new Error(`load.mjs download ${path} failed: ${out.stderr.trim()}`);
    ({ bytes, seconds } = JSON.parse(out.stdout) as { bytes: number; seconds: number });
  }
  const cpu1 = gw ? cpuTicks(gw.pid) : 0;
  if (bytes !== size) throw new Error(`download ${path}: ${bytes} of ${size} bytes`);
  return { mbps: bytes / 1e6 / seconds, cpuPerGiB: gw ? (cpu1 - cpu0) / TICKS_PER_SECOND / (bytes / 2 ** 30) : NaN };
}

export interface RequestRate {
  readonly rps: number;
  /** Requests completed in the window. */
  readonly requests: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Gateway CPU µs per request (NaN when direct). */
  readonly cpuUs: number;
  readonly errors: number;
  readonly firstError?: string;
}

/** `load.mjs newconn` or `keepalive` on `path` for `seconds` with `concurrency` clients (`postBytes`: keep-alive POSTs of that size). */
export async function requestRate(
  env: BenchEnv,
  kind: "newconn" | "keepalive",
  path: Path,
  gw: BenchGateway | undefined,
  seconds: number,
  concurrency: number,
  postBytes = 0,
): Promise<RequestRate> {
  const cpu = gw ? ["--cpu-pid", String(gw.pid)] : [];
  const post = postBytes > 0 ? ["--post-bytes", String(postBytes)] : [];
  const out = await runBounded("node", [LOAD, kind, ...loadArgs(env, path, gw), "--seconds", String(seconds), "--concurrency", String(concurrency), ...cpu, ...post], seconds * 1000 + 90_000);
  if (out.code !== 0) throw new Error(`load.mjs ${kind} ${path} failed (exit ${out.code}): ${out.stderr.trim()}`);
  const r = JSON.parse(out.stdout) as { requests: number; errors: number; firstError?: string; seconds: number; p50Ms?: number; p99Ms?: number; cpuTicks: number };
  const result = {
    rps: r.requests / r.seconds,
    requests: r.requests,
    p50Ms: r.p50Ms ?? NaN,
    p99Ms: r.p99Ms ?? NaN,
    cpuUs: gw && r.requests > 0 ? (r.cpuTicks / TICKS_PER_SECOND) * 1e6 / r.requests : NaN,
    errors: r.errors,
  };
  return r.firstError ? { ...result, firstError: r.firstError } : result;
}

/** Opens `count` idle connections on `path` (load.mjs idle); they stay open until `close()`. */
async function openIdle(env: BenchEnv, path: Path, gw: BenchGateway, count: number): Promise<{ ready: number; errors: number; firstError?: string; close(): Promise<void> }> {
  const child = spawnTracked("node", [LOAD, "idle", ...loadArgs(env, path, gw), "--count", String(count), "--concurrency", "50"], { stdin: "pipe" });
  try {
    const line = await firstLine(child, 180_000, `load.mjs idle ${path}`);
    const r = JSON.parse(line) as { ready: number; errors: number; firstError?: string };
    return { ...r, close: () => endInputAndWait(child) };
  } catch (e) {
    await endInputAndWait(child);
    throw e;
  }
}

export interface IdleRss {
  /** (RSS with the idle connections − RSS before) ÷ connections, KiB. */
  readonly kibPerConn: number;
  /**
   * The same for a second batch of as many, opened while the first stays open: the cost of
   * one more connection, without what the first batch paid once (heap and allocator sizing).
   */
  readonly kibPerConnNext: number;
  readonly beforeKiB: number;
  readonly afterKiB: number;
  readonly afterNextKiB: number;
  readonly ready: number;
  readonly readyNext: number;
  readonly errors: number;
  readonly firstError?: string;
}

/**
 * RSS per idle connection on `path` (a fresh gateway is best): a warm-up of 50 connections
 * (code paths, leaf) opened and closed, then `count` connections opened, each one TLS
 * handshake plus one request, then left idle; RSS sampled 2 s later. Then a second batch
 * of `count`, with the first still open, sampled the same way.
 */
export async function idleRss(env: BenchEnv, path: Path, gw: BenchGateway, count: number): Promise<IdleRss> {
  const warm = await openIdle(env, path, gw, 50);
  await warm.close();
  await sleep(1500);
  const beforeKiB = rssKiB(gw.pid) ?? NaN;
  const first = await openIdle(env, path, gw, count);
  try {
    if (first.ready === 0) throw new Error(`idle ${path}: no connection opened (${first.firstError ?? "?"})`);
    await sleep(2000);
    const afterKiB = rssKiB(gw.pid) ?? NaN;
    const next = await openIdle(env, path, gw, count);
    try {
      await sleep(2000);
      const afterNextKiB = rssKiB(gw.pid) ?? NaN;
      const result = {
        kibPerConn: (afterKiB - beforeKiB) / first.ready,
        kibPerConnNext: next.ready > 0 ? (afterNextKiB - afterKiB) / next.ready : NaN,
        beforeKiB,
        afterKiB,
        afterNextKiB,
        ready: first.ready,
        readyNext: next.ready,
        errors: first.errors + next.errors,
      };
      const firstError = first.firstError ?? next.firstError;
      return firstError ? { ...result, firstError } : result;
    } finally {
      await next.close();
    }
  } finally {
    await first.close();
  }
}
