/**
 * HTTPS proxy listeners: what TLS between client and gateway costs. One gateway on Bun and
 * one on Deno (in turn), each with two explicit listeners that differ only in `tls`:
 * `plain` and `secure` (an HTTPS proxy with the test PKI's certificate). The origin is the
 * bench's Node HTTPS origin; `origin.test` is relayed blind, `inspect.test` decrypted.
 *
 * Workloads, the two listeners alternating, `--rounds` rounds; medians, and the ratio
 * secure ÷ plain measured in the same run; gateway CPU from /proc:
 * - download: curl fetches `--size-mib` MiB through a CONNECT tunnel (TLS inside TLS for
 *   `secure`); MB/s and gateway CPU-s per GiB.
 * - newconn: `load.mjs newconn`, 50 concurrent clients, each request a new connection to
 *   the proxy (with `secure` a TLS handshake with the gateway first), CONNECT, TLS with the
 *   origin (or the gateway's minted certificate, decrypted), `GET /1k`; req/s and gateway
 *   CPU µs per request.
 *
 *   bun scripts/bench/https-proxy.ts [--runtimes bun,deno] [--rounds 3] [--seconds 5] [--size-mib 256]
 *
 * Only 127.0.0.1; every process is stopped at the end, on Ctrl-C and on error. Linux only.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { makeTestPki } from "../../test/e2e/support/certs.ts";
import { type BenchGateway, BIN, type GatewayRuntime, ROOT, startBenchGateway, tollgateCommand } from "./_gateway.ts";
import { cpuTicks, firstLine, installCleanup, runBounded, runScript, spawnTracked, stopProcess, TICKS_PER_SECOND } from "./_procs.ts";
import { fmt, machineFacts, median } from "./_report.ts";

const argValue = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const runtimes = (argValue("--runtimes") ?? "bun,deno").split(",") as GatewayRuntime[];
const rounds = Number(argValue("--rounds") ?? 3);
const seconds = Number(argValue("--seconds") ?? 5);
const sizeMiB = Number(argValue("--size-mib") ?? 256);
const LOAD = join(ROOT, "scripts/bench/load.mjs");
const LISTENERS = ["plain", "secure"] as const;
type Listener = (typeof LISTENERS)[number];


interface Setup {
  readonly originPort: number;
  /** The origin's CA (also the secure listener's certificate's). */
  readonly pkiCa: string;
  /** The gateway's interception CA. */
  readonly gatewayCa: string;
}

/** One download through `listener`: MB/s and gateway CPU-s per GiB. */
async function download(s: Setup, gw: BenchGateway, listener: Listener): Promise<{ mbps: number; cpuPerGiB: number }> {
  const size = sizeMiB * 1024 * 1024;
  const proxy = listener === "secure"
    ? ["--proxy", `https://127.0.0.1:${gw.port("secure")}`, "--proxy-cacert", s.pkiCa]
    : ["--proxy", `http://127.0.0.1:${gw.port("plain")}`];
  const cpu0 = cpuTicks(gw.pid);
  const out = await runBounded("curl", ["-sS", "-f", "--noproxy", "", ...proxy, "--cacert", s.pkiCa, "-o", "/dev/null", "-w", "%{size_download} %{time_total}", `https://origin.test:${s.originPort}/bytes?size=${size}`], 300_000);
  const cpu1 = cpuTicks(gw.pid);
  if (out.code !== 0) throw new Error(`curl through ${listener} failed (${out.code}): ${out.stderr.trim()}`);
  const [bytes, time] = out.stdout.trim().split(" ").map(Number) as [number, number];
  if (bytes !== size) throw new Error(`download through ${listener}: ${bytes} of ${size} bytes`);
  return { mbps: bytes / 1e6 / time, cpuPerGiB: (cpu1 - cpu0) / TICKS_PER_SECOND / (bytes / 2 ** 30) };
}

/** `load.mjs newconn` through `listener` to `host`: req/s and gateway CPU µs per request. */
async function newconn(s: Setup, gw: BenchGateway, listener: Listener, host: "origin.test" | "inspect.test"): Promise<{ rps: number; cpuUs: number }> {
  const via = listener === "secure" ? ["--via", "sconnect", "--proxy-ca", s.pkiCa] : ["--via", "connect"];
  const out = await runBounded("node", [
    LOAD, "newconn", ...via, "--port", String(gw.port(listener)), "--authority", `${host}:${s.originPort}`, "--servername", host,
    "--ca", host === "inspect.test" ? s.gatewayCa : s.pkiCa, "--seconds", String(seconds), "--concurrency", "50", "--cpu-pid", String(gw.pid),
  ], seconds * 1000 + 90_000);
  if (out.code !== 0) throw new Error(`load.mjs newconn through ${listener} failed (exit ${out.code}): ${out.stderr.trim()}`);
  const r = JSON.parse(out.stdout) as { requests: number; errors: number; firstError?: string; seconds: number; cpuTicks: number };
  if (r.errors > 0) process.stderr.write(`  ${r.errors} errors through ${listener}, first: ${r.firstError}\n`);
  return { rps: r.requests / r.seconds, cpuUs: r.requests > 0 ? (r.cpuTicks / TICKS_PER_SECOND) * 1e6 / r.requests : NaN };
}

function config(work: string, s: Setup): unknown {
  return {
    listeners: [
      { name: "plain", mode: "explicit", listen: "127.0.0.1:0" },
      { name: "secure", mode: "explicit", listen: "127.0.0.1:0", tls: { certificates: [{ cert: join(work, "server.pem"), key: join(work, "server.key") }] } },
    ],
    ca: { cert: join(work, "ca", "ca.pem"), key: join(work, "ca", "ca.key") },
    interception: { upstreamCaFiles: [s.pkiCa] },
    policy: {
      defaultAction: "deny",
      rules: [
        { id: "tunnel", hosts: ["origin.test"], action: "allow", log: false },
        { id: "inspect", hosts: ["inspect.test"], action: "allow", decryption: "decrypt", log: false },
      ],
    },
    dns: { hosts: { "origin.test": ["127.0.0.1"], "inspect.test": ["127.0.0.1"] } },
    addressGuard: { allow: ["127.0.0.0/8"] },
    limits: { maxConnections: 100_000, maxConnectionsPerClient: 100_000, maxTunnels: 100_000 },
    log: { flows: "off" },
    admin: { listen: "127.0.0.1:0" },
  };
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), "tollgate-bench-https-proxy-"));
  installCleanup(() => rmSync(work, { recursive: true, force: true }));
  const pki = makeTestPki(["origin.test", "inspect.test", "127.0.0.1"]);
  writeFileSync(join(work, "server.pem"), pki.certPem);
  writeFileSync(join(work, "server.key"), pki.keyPem);
  const [cmd, ...args] = tollgateCommand("bun");
  execFileSync(cmd!, [...args, "ca", "init", "--out", join(work, "ca")], { stdio: "ignore" });
  const origin = spawnTracked("node", [join(ROOT, "scripts/bench/origin.mjs"), "--cert", join(work, "server.pem"), "--key", join(work, "server.key")], { stdin: "pipe" });
  const originPort = (JSON.parse(await firstLine(origin, 30_000, "bench origin")) as { port: number }).port;
  const s: Setup = { originPort, pkiCa: pki.caFile, gatewayCa: join(work, "ca", "ca.pem") };
  console.log("# HTTPS proxy listener: TLS between client and gateway\n");
  for (const line of machineFacts(BIN)) console.log(`${line}  `);
  console.log(`\n${rounds} rounds, listeners alternating, medians; downloads ${sizeMiB} MiB (curl); newconn 50 clients for ${seconds} s\n`);
  const rows: string[] = [];
  const summary: string[] = [];
  for (const rt of runtimes) {
    const gw = await startBenchGateway(rt, config(work, s), work);
    try {
      const dl: Record<Listener, { mbps: number; cpuPerGiB: number }[]> = { plain: [], secure: [] };
      const nc: Record<string, { rps: number; cpuUs: number }[]> = {};
      // warm-up: JIT, TLS contexts, the minted leaf
      for (const l of LISTENERS) {
        await download(s, gw, l);
        await newconn(s, gw, l, "inspect.test");
      }
      for (let i = 0; i < rounds; i++) {
        const order: Listener[] = i % 2 ? ["secure", "plain"] : ["plain", "secure"];
        for (const l of order) dl[l].push(await download(s, gw, l));
        for (const host of ["origin.test", "inspect.test"] as const) {
          for (const l of order) (nc[`${host} ${l}`] ??= []).push(await newconn(s, gw, l, host));
        }
      }
      for (const l of LISTENERS) {
        rows.push(`| ${rt} | download, tunnel | ${l} | ${fmt(median(dl[l].map((x) => x.mbps)))} MB/s | ${fmt(median(dl[l].map((x) => x.cpuPerGiB)), 2)} CPU-s/GiB |`);
      }
      for (const host of ["origin.test", "inspect.test"] as const) {
        for (const l of LISTENERS) {
          const r = nc[`${host} ${l}`]!;
          rows.push(`| ${rt} | new connection, ${host === "origin.test" ? "tunnel" : "decrypted"} | ${l} | ${fmt(median(r.map((x) => x.rps)))} req/s | ${fmt(median(r.map((x) => x.cpuUs)))} µs CPU/req |`);
        }
      }
      const ratio = (a: number[], b: number[]) => fmt(median(a) / median(b), 2);
      summary.push(`${rt}: secure ÷ plain: download ${ratio(dl.secure.map((x) => x.mbps), dl.plain.map((x) => x.mbps))}× the rate, ${ratio(dl.secure.map((x) => x.cpuPerGiB), dl.plain.map((x) => x.cpuPerGiB))}× the CPU per GiB`);
      for (const host of ["origin.test", "inspect.test"] as const) {
        const sec = nc[`${host} secure`]!;
        const pl = nc[`${host} plain`]!;
        summary.push(`${rt}: secure ÷ plain: new ${host === "origin.test" ? "tunnel" : "decrypted"} connections ${ratio(sec.map((x) => x.rps), pl.map((x) => x.rps))}× the rate, ${ratio(sec.map((x) => x.cpuUs), pl.map((x) => x.cpuUs))}× the CPU per request`);
      }
    } finally {
      await gw.stop();
    }
  }
  console.log("| runtime | workload | listener | rate | gateway CPU |");
  console.log("|---|---|---|---:|---:|");
  for (const row of rows) console.log(row);
  console.log("");
  for (const line of summary) console.log(line);
  origin.stdin!.end();
  await stopProcess(origin);
  rmSync(work, { recursive: true, force: true });
}

await runScript("bench:https-proxy", main);
