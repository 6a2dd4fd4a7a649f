/**
 * The performance benchmark suite (`npm run bench`): the gateway on Bun and on Deno against
 * a local Node TLS origin, every workload run directly and through the gateway in the same
 * run, alternating, several rounds; medians, ratios to direct, and the gateway's CPU time
 * per unit of work from /proc, beside the issue's targets. Prints a Markdown table and (full
 * runs) writes it to docs/performance.md between the bench markers.
 *
 *   bun scripts/bench/run.ts [--quick] [--runtimes bun,deno] [--only a,b,c,d,e,f,g,h,i]
 *       [--rounds N] [--size-mib N] [--seconds N] [--ka-seconds N] [--ka-post-bytes N] [--idle N]
 *       [--url-rules] [--own-tls] [--out FILE | --no-write]
 *
 * Workloads: (a)–(d) one download each of 1 GiB through a CONNECT tunnel, explicit
 * decryption, transparent splice, transparent decryption; (e) new-connection request rate
 * (fresh TCP + CONNECT + TLS per request, 50 concurrent); (f) keep-alive request rate over
 * 50 persistent connections (GET /1k; `--ka-post-bytes N`: POSTs with an N-byte body instead,
 * not written to the docs); (g) RSS per idle tunnel / intercepted connection (1,000, then
 * the next 1,000 with the first still open: one more connection's cost without the one-time part);
 * (h) leaf mint cold/warm (scripts/bench/mint.ts); (i) 1,000,000-rule policy (policy.ts).
 * `--url-rules`: the decrypted paths go through url rules a gateway in use has: rules on the
 * response's type (that do not match the workloads' octet-stream) and body limits above the
 * workloads' sizes, to compare with a run without them. `--own-tls`: the gateways run with
 * `deno: { ownTls: true }` (Deno's own TLS behind loopback hops; Bun ignores it). Only 127.0.0.1; all processes are killed at the end, on Ctrl-C and on error. Linux only.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { makeTestPki } from "../../test/e2e/support/certs.ts";
import { BIN, type BenchGateway, type GatewayRuntime, ROOT, startBenchGateway, tollgateCommand } from "./_gateway.ts";
import { firstLine, installCleanup, killAll, runBounded, runScript, spawnTracked, stopProcess } from "./_procs.ts";
import { machineFacts, markdownTable, writeReport } from "./_report.ts";
import { buildRows, type RuntimeResults, emptyResults } from "./_rows.ts";
import { type BenchEnv, download, idleRss, type Path, requestRate } from "./_workloads.ts";

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const num = (name: string, fallback: number): number => {
  const v = Number(argValue(name));
  return Number.isFinite(v) && v > 0 ? v : fallback;
};

const quick = process.argv.includes("--quick");
const opts = {
  quick,
  runtimes: (argValue("--runtimes") ?? "bun,deno").split(",") as GatewayRuntime[],
  only: new Set((argValue("--only") ?? "a,b,c,d,e,f,g,h,i").split(",")),
  rounds: num("--rounds", quick ? 1 : 3),
  sizeMiB: num("--size-mib", quick ? 256 : 1024),
  seconds: num("--seconds", quick ? 3 : 10),
  kaSeconds: num("--ka-seconds", quick ? 3 : 5),
  kaPostBytes: num("--ka-post-bytes", 0),
  idle: num("--idle", 1000),
  mintHosts: num("--mint-hosts", quick ? 100 : 500),
  // the docs' table is the standard workloads; a POST variant is written only where --out says
  out: process.argv.includes("--no-write") ? undefined : argValue("--out") ?? (quick || num("--ka-post-bytes", 0) > 0 || process.argv.includes("--url-rules") || process.argv.includes("--own-tls") ? undefined : join(ROOT, "docs/performance.md")),
};

const started = performance.now();
const elapsed = (): string => `${((performance.now() - started) / 1000).toFixed(0)} s`;
const log = (msg: string): void => void process.stderr.write(`[${elapsed().padStart(5)}] ${msg}\n`);

/** Rotates `items` by `round` so no workload always runs first (or right after another). */
const rotate = <T>(items: readonly T[], round: number): T[] => items.map((_, i) => items[(i + round) % items.length]!);

/** With `--url-rules`: every decrypted request meets rules on its response's type and a rule's body limits. */
const URL_RULES = [
  { id: "no-video", responseTypes: ["video/*", "application/vnd.apple.mpegurl"], action: "deny" },
  { id: "no-exe", responseTypes: ["application/x-msdownload", "application/vnd.microsoft.portable-executable"], action: "deny" },
  { id: "limits", action: "allow", maxRequestBytes: 2 ** 40, maxResponseBytes: 2 ** 40 },
];

function gatewayConfig(work: string, env: BenchEnv, pkiCa: string): unknown {
  return {
    listeners: [
      { name: "explicit", mode: "explicit", listen: "127.0.0.1:0" },
      { name: "transparent", mode: "transparent", listen: "127.0.0.1:0", upstreamPort: env.originPort },
    ],
    ca: { cert: join(work, "ca", "ca.pem"), key: join(work, "ca", "ca.key") },
    interception: { upstreamCaFiles: [pkiCa] },
    policy: {
      defaultAction: "deny",
      rules: [
        { id: "tunnel", hosts: ["origin.test"], action: "allow", decryption: "exception" },
        { id: "inspect", hosts: ["inspect.test"], action: "allow", decryption: "decrypt" },
      ],
      ...(process.argv.includes("--url-rules") ? { urlRules: URL_RULES } : {}),
    },
    dns: { hosts: { "origin.test": ["127.0.0.1"], "inspect.test": ["127.0.0.1"] } },
    // the origin is on loopback, which the SSRF address guard denies by default
    addressGuard: { allow: ["127.0.0.1/32"] },
    limits: { maxConnections: 100_000, maxConnectionsPerClient: 100_000 },
    log: { flows: "off" },
    // on loopback without a token: the runs read the upstream-reuse counter from /metrics
    admin: { listen: "127.0.0.1:0" },
    ...(process.argv.includes("--own-tls") ? { deno: { ownTls: true } } : {}),
  };
}

/** A counter's value from the gateway's /metrics (undefined when it cannot be read). */
async function counter(gw: BenchGateway, name: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${gw.port("admin")}/metrics`)).text();
    const m = new RegExp(`^${name} (\\d+)$`, "m").exec(text);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

const PATHS: readonly { key: "a" | "b" | "c" | "d"; path: Path }[] = [
  { key: "a", path: "tunnel" },
  { key: "b", path: "decrypt" },
  { key: "c", path: "splice" },
  { key: "d", path: "tdecrypt" },
];

/** Failures of whole sections (the report is still written, the exit code is 1). */
const failures: string[] = [];

/** Runs one section; a failure is logged and noted, and the suite goes on. */
async function section(what: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    failures.push(`${what}: ${message.split("\n")[0]}`);
    log(`${what} FAILED: ${message}`);
  }
}

async function throughputRounds(rt: GatewayRuntime, env: BenchEnv, gw: BenchGateway, res: RuntimeResults): Promise<void> {
  const size = opts.sizeMiB * 1024 * 1024;
  const tps = PATHS.filter((p) => opts.only.has(p.key));
  for (let round = 0; round < opts.rounds; round++) {
    for (const { key, path } of rotate(tps, round)) {
      const order = round % 2 === 0 ? ["direct", "gw"] : ["gw", "direct"];
      const got: Record<string, number> = {};
      let cpu = NaN;
      for (const which of order) {
        const d = await download(env, which === "direct" ? "direct" : path, which === "direct" ? undefined : gw, size);
        got[which] = d.mbps;
        if (which === "gw") cpu = d.cpuPerGiB;
      }
      const t = res.throughput[key];
      t.direct.push(got["direct"]!);
      t.gw.push(got["gw"]!);
      t.cpuPerGiB.push(cpu);
      log(`${rt} (${key}) ${path} round ${round + 1}: direct ${got["direct"]!.toFixed(0)} MB/s, gateway ${got["gw"]!.toFixed(0)} MB/s (${((got["gw"]! / got["direct"]!) * 100).toFixed(0)}%), ${cpu.toFixed(2)} CPU-s/GiB`);
    }
  }
}

async function rateRounds(rt: GatewayRuntime, env: BenchEnv, gw: BenchGateway, res: RuntimeResults, kind: "newconn" | "keepalive"): Promise<void> {
  const key = kind === "newconn" ? "e" : "f";
  const seconds = kind === "newconn" ? opts.seconds : opts.kaSeconds;
  const target = kind === "newconn" ? res.newconn : res.keepalive;
  for (let round = 0; round < opts.rounds; round++) {
    for (const path of rotate(["direct", "tunnel", "decrypt"] as const, round)) {
      const reusedBefore = path === "decrypt" && kind === "newconn" ? await counter(gw, "tollgate_upstream_reused_total") : undefined;
      const r = await requestRate(env, kind, path, path === "direct" ? undefined : gw, seconds, 50, kind === "keepalive" ? opts.kaPostBytes : 0);
      target[path].push(r);
      const lat = kind === "newconn" ? `, p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms` : "";
      const err = r.errors ? `, ${r.errors} errors (${r.firstError})` : "";
      const reusedAfter = reusedBefore === undefined ? undefined : await counter(gw, "tollgate_upstream_reused_total");
      // sessions that started on a pooled upstream connection instead of a new handshake
      const reuse = reusedBefore !== undefined && reusedAfter !== undefined && r.requests > 0
        ? `, upstream reused ${((100 * (reusedAfter - reusedBefore)) / r.requests).toFixed(0)}%`
        : "";
      log(`${rt} (${key}) ${kind} ${path} round ${round + 1}: ${r.rps.toFixed(0)} req/s${lat}${path === "direct" ? "" : `, ${r.cpuUs.toFixed(0)} µs CPU/req`}${reuse}${err}`);
    }
  }
}

async function idleRounds(rt: GatewayRuntime, env: BenchEnv, work: string, pkiCa: string, res: RuntimeResults): Promise<void> {
  for (let round = 0; round < opts.rounds; round++) {
    for (const path of rotate(["tunnel", "decrypt"] as const, round)) {
      // a fresh gateway each time: the "before" RSS is not inflated by earlier workloads
      const gw = await startBenchGateway(rt, gatewayConfig(work, env, pkiCa), work);
      try {
        const r = await idleRss(env, path, gw, opts.idle);
        res.idle[path].push(r.kibPerConn);
        res.idleNext[path].push(r.kibPerConnNext);
        if (r.errors > 0) failures.push(`${rt} (g) idle ${path}: ${r.errors} of ${2 * opts.idle} connections failed (${r.firstError ?? "?"})`);
        log(`${rt} (g) idle ${path} round ${round + 1}: ${r.ready} + ${r.readyNext} connections (${r.errors} errors), RSS ${(r.beforeKiB / 1024).toFixed(1)} → ${(r.afterKiB / 1024).toFixed(1)} → ${(r.afterNextKiB / 1024).toFixed(1)} MiB, ${r.kibPerConn.toFixed(1)} KiB each, the next ${r.kibPerConnNext.toFixed(1)}`);
      } finally {
        await gw.stop();
      }
    }
  }
}

async function benchGatewayWorkloads(rt: GatewayRuntime, env: BenchEnv, work: string, pkiCa: string, res: RuntimeResults): Promise<void> {
  if (["a", "b", "c", "d", "e", "f"].some((k) => opts.only.has(k))) {
    await section(`${rt} gateway`, async () => {
      const gw = await startBenchGateway(rt, gatewayConfig(work, env, pkiCa), work);
      log(`${rt}: gateway pid ${gw.pid}, ports ${JSON.stringify(Object.fromEntries(gw.ports))}`);
      try {
        // warm-up: code paths, JIT, the minted leaf, upstream TLS
        for (const { path } of PATHS) await download(env, path, gw, 16 << 20);
        for (const path of ["tunnel", "decrypt"] as const) await requestRate(env, "newconn", path, gw, 1, 10);
        if (PATHS.some((p) => opts.only.has(p.key))) await section(`${rt} (a-d) downloads`, () => throughputRounds(rt, env, gw, res));
        if (opts.only.has("e")) await section(`${rt} (e) new connections`, () => rateRounds(rt, env, gw, res, "newconn"));
        if (opts.only.has("f")) await section(`${rt} (f) keep-alive`, () => rateRounds(rt, env, gw, res, "keepalive"));
      } finally {
        await gw.stop();
      }
    });
  }
  if (opts.only.has("g")) await section(`${rt} (g) idle connections`, () => idleRounds(rt, env, work, pkiCa, res));
}

/** (h) and (i): the existing single-runtime benchmarks, run on `rt` and parsed. */
async function benchOffline(rt: GatewayRuntime, res: RuntimeResults): Promise<void> {
  const cmd = (script: string): string[] => rt === "bun" ? [join(BIN, "bun"), join(ROOT, script)] : [join(BIN, "deno"), "run", "-A", join(ROOT, script)];
  if (opts.only.has("h")) {
    const [c, ...a] = cmd("scripts/bench/mint.ts");
    const out = await runBounded(c!, [...a, "--hosts", String(opts.mintHosts)], 180_000, { cwd: ROOT });
    const cell = (label: RegExp): number => Number(label.exec(out.stdout)?.[1]);
    // columns: what, n, p50, p99, mean, unit
    res.mint.coldMs = cell(/ECDSA P-256 CA: cold mint, cache\.get\s+\d+\s+([\d.]+)/);
    res.mint.issueMs = cell(/ECDSA P-256 CA: cold mint, issuer\.issue\s+\d+\s+([\d.]+)/);
    res.mint.warmUs = cell(/ECDSA P-256 CA: cached hit, cache\.get\s+\d+\s+([\d.]+)/);
    if (out.code !== 0 || !Number.isFinite(res.mint.coldMs)) {
      failures.push(`${rt} (h) mint.ts (exit ${out.code})`);
      log(`${rt} (h) mint.ts failed: ${out.stderr.trim()}`);
    }
    log(`${rt} (h) leaf mint: cold p50 ${res.mint.coldMs} ms (issuer.issue ${res.mint.issueMs} ms), cached hit p50 ${res.mint.warmUs} µs`);
  }
  if (opts.only.has("i")) {
    const [c, ...a] = cmd("scripts/bench/policy.ts");
    const out = await runBounded(c!, a, 180_000, { cwd: ROOT });
    res.policy.compileMs = Number(/rules compiled in (\d+) ms/.exec(out.stdout)?.[1]);
    res.policy.lookupNs = Number(/decide\(\) (\d+) ns per lookup/.exec(out.stdout)?.[1]);
    if (out.code !== 0 || !Number.isFinite(res.policy.compileMs)) {
      failures.push(`${rt} (i) policy.ts (exit ${out.code})`);
      log(`${rt} (i) policy.ts failed: ${out.stderr.trim()}`);
    }
    log(`${rt} (i) policy: 1,000,000 rules compiled in ${res.policy.compileMs} ms, ${res.policy.lookupNs} ns per lookup`);
  }
}

function hasCurl(): boolean {
  try {
    execFileSync("curl", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** /proc/loadavg's 1-minute figure: other work on the machine skews every figure but CPU per unit. */
function loadAverage(): string {
  try {
    return readFileSync("/proc/loadavg", "utf8").split(" ")[0] ?? "?";
  } catch {
    return "?";
  }
}

/** A hard bound on the whole suite: kill everything after this long, whatever hangs. */
const WATCHDOG_MS = 25 * 60_000;

/** Temporary directories to remove, also on Ctrl-C. */
const tempDirs: string[] = [];
const removeTempDirs = (): void => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
};

async function main(): Promise<void> {
  installCleanup(removeTempDirs);
  const watchdog = setTimeout(() => {
    process.stderr.write(`bench: still running after ${WATCHDOG_MS / 60_000} min; killing everything\n`);
    killAll();
    process.exit(1);
  }, WATCHDOG_MS);
  (watchdog as { unref?: () => void }).unref?.();
  const loadBefore = loadAverage();
  const work = mkdtempSync(join(tmpdir(), "tollgate-bench-"));
  tempDirs.push(work);
  const pki = makeTestPki(["origin.test", "inspect.test"]);
  tempDirs.push(pki.dir);
  const results = new Map<GatewayRuntime, RuntimeResults>();
  try {
    const [tg, ...tgArgs] = tollgateCommand("bun");
    execFileSync(tg!, [...tgArgs, "ca", "init", "--out", join(work, "ca")], { stdio: ["ignore", "ignore", "pipe"], cwd: ROOT });
    writeFileSync(join(work, "server.pem"), pki.certPem);
    writeFileSync(join(work, "server.key"), pki.keyPem);
    const origin = spawnTracked("node", [join(ROOT, "scripts/bench/origin.mjs"), "--cert", join(work, "server.pem"), "--key", join(work, "server.key")], { stdin: "pipe" });
    try {
      const { port } = JSON.parse(await firstLine(origin, 15_000, "origin")) as { port: number };
      const env: BenchEnv = { originPort: port, originCa: pki.caFile, gatewayCa: join(work, "ca", "ca.pem"), curl: hasCurl() };
      log(`origin on 127.0.0.1:${port}; ${opts.quick ? "quick" : "full"} run: ${opts.rounds} round(s), ${opts.sizeMiB} MiB downloads, ${opts.seconds} s new-connection / ${opts.kaSeconds} s keep-alive rounds, ${opts.idle} idle connections; downloads by ${env.curl ? "curl" : "load.mjs"}`);
      for (const rt of opts.runtimes) {
        const res = emptyResults();
        results.set(rt, res);
        await benchGatewayWorkloads(rt, env, work, pki.caFile, res);
        await benchOffline(rt, res);
      }
    } finally {
      origin.stdin!.end();
      await stopProcess(origin, 2000);
    }
  } finally {
    removeTempDirs();
  }

  const took = (performance.now() - started) / 1000;
  const table = markdownTable(buildRows(results, opts.sizeMiB, opts.idle));
  const mode = opts.quick ? "quick run (`--quick`)" : "full run";
  const generated = [
    `## Latest results`,
    ``,
    `${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC — ${mode}, ${took < 90 ? `${took.toFixed(0)} s` : `${(took / 60).toFixed(1)} min`} end to end.`,
    ``,
    ...machineFacts(BIN).map((l) => `- ${l}`),
    `- Settings: ${opts.rounds} round(s) per workload, alternating direct and gateway; ${opts.sizeMiB} MiB per download; ` +
    `${opts.seconds} s per new-connection round, ${opts.kaSeconds} s per keep-alive round, 50 concurrent clients; ${opts.idle} idle connections; flow logs off.` +
    (opts.kaPostBytes > 0 ? ` **Keep-alive requests are POST /1k with a ${opts.kaPostBytes}-byte body**, not GET: rows (f) do not compare with the standard table.` : ""),
    `- Client, gateway and origin share the ${execFileSync("nproc", { encoding: "utf8" }).trim()} cores, so throughput is noisy; the gateway's CPU time per unit of work (from /proc/PID/stat) is the steadiest figure. ` +
    `Load average (1 min) before / after the run: ${loadBefore} / ${loadAverage()} (anything above ~2 means other work competed for the cores).`,
    `- "direct" is the same client talking to the origin without the gateway, measured alternately with the gateway runs (Bun run / Deno run).`,
    ``,
    table,
    ...(failures.length ? [``, `Failed sections (their figures are missing): ${failures.join("; ")}.`] : []),
    ``,
    `Figures are medians over the rounds; a throughput percentage is the median gateway rate ÷ the median direct rate of the same workload. ` +
    `"vs target" shows the issue's target, ✓/✗ and the factor achieved ÷ needed (≥ 1.00× meets it). ` +
    `"Deno cost ÷ Bun" is how many times Deno's cost (or Bun's rate ÷ Deno's) is Bun's; the issue asks ≤ 1.5×. ` +
    `Transparent splice and transparent decryption are held to the tunnel and decryption targets.`,
    ``,
    `Reproduce: \`npm install && npm run bench\` (full, writes this file; about 8–10 minutes on 2 cores) or \`bun scripts/bench/run.ts --quick\` (about 2 minutes, prints only); ` +
    `\`bun scripts/bench/profile.ts --runtime bun|deno --workload newconn-decrypt [--perf]\` profiles one workload. ` +
    `Options: \`--runtimes bun,deno\`, \`--only a,b,c,d,e,f,g,h,i\`, \`--rounds N\`, \`--size-mib N\`, \`--seconds N\`, \`--ka-seconds N\`, \`--ka-post-bytes N\`, \`--url-rules\`, \`--idle N\`, \`--out FILE\`, \`--no-write\`.`,
  ].join("\n");
  process.stdout.write(`\n${generated}\n`);
  if (opts.out) {
    writeReport(opts.out, generated);
    log(`wrote ${opts.out}`);
    // a full run to the default file also refreshes the README's Performance section
    if (opts.out === join(ROOT, "docs/performance.md")) {
      writeReport(join(ROOT, "README.md"), generated);
      log("wrote README.md (Performance section)");
    }
  }
}

// figures never fail the run (the table says which targets are missed); broken sections do
await runScript("bench", async () => {
  await main();
  return failures.length ? 1 : 0;
});
