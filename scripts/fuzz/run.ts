/**
 * `npm run fuzz`: property-based fuzzing of every parser (HTTP request heads, response heads,
 * chunked framing, TLS ClientHello, the SOCKS5 exchange on both sides, PROXY protocol
 * headers) with fast-check — generated valid inputs, mutated seeds
 * and random bytes, each delivered whole, split at random points and byte by byte (see
 * `property.ts` for the oracle). One worker per parser, `--jobs` at a time; a watchdog
 * stops a worker whose current input has not finished within `--hang-ms` and prints that input.
 *
 *   bun scripts/fuzz/run.ts [--inputs 1000000] [--parsers request,response,chunked,hello,socks,proxy]
 *                           [--seed N] [--jobs 2] [--guard-ms 1000] [--hang-ms 15000]
 *   deno run -A scripts/fuzz/run.ts [same options]
 *
 * `--inputs` is the total, shared equally by the parsers. A failure prints fast-check's
 * counterexample with the seed and path to replay it, and the exit code is 1.
 *
 * The normal test suite runs the parsers' own property tests (test/protocol/*-property and
 * split tests, a few hundred runs each); this is the long run.
 *
 * @module
 */
import process from "node:process";
import { newStats, PARSER_NAMES, type ParserName, type Stats } from "./property.ts";
import type { Job, Report } from "./worker.ts";

const SHARED_BYTES = 8 + (1 << 20);

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function hexPreview(bytes: Uint8Array, length: number): string {
  const shown = bytes.subarray(0, Math.min(length, 2048));
  const text = Array.from(shown, (b) => (b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, "0")}`)).join("");
  return `${length} bytes: "${text}"${length > shown.length ? "…" : ""}`;
}

/** Runs one parser in a worker; rejects with a description when it hangs. */
function runWorker(parser: ParserName, runs: number, seed: number, guardMs: number, hangMs: number): Promise<Report> {
  const shared = new SharedArrayBuffer(SHARED_BYTES);
  const header = new Int32Array(shared, 0, 2);
  const worker = new Worker(new URL("./worker.ts", import.meta.url).href, { type: "module" });
  return new Promise<Report>((resolve, reject) => {
    let last = -1;
    let since = Date.now();
    const watchdog = setInterval(() => {
      const count = Atomics.load(header, 0);
      if (count !== last) {
        last = count;
        since = Date.now();
        return;
      }
      if (Date.now() - since < hangMs) return;
      clearInterval(watchdog);
      worker.terminate();
      const length = Atomics.load(header, 1);
      reject(new Error(`${parser}: input #${count} did not finish within ${hangMs} ms (hang); seed ${seed}\n  ${hexPreview(new Uint8Array(shared, 8), length)}`));
    }, 250);
    worker.onmessage = (e: MessageEvent<Report>) => {
      clearInterval(watchdog);
      worker.terminate();
      resolve(e.data);
    };
    worker.onerror = (e: ErrorEvent) => {
      clearInterval(watchdog);
      worker.terminate();
      reject(new Error(`${parser}: worker error: ${e.message}`));
    };
    const job: Job = { parser, runs, seed, guardMs, shared };
    worker.postMessage(job);
  });
}

const fmt = (n: number): string => n.toLocaleString("en-US");
const pct = (n: number, of: number): string => `${((100 * n) / Math.max(1, of)).toFixed(1)}%`;

function line(name: string, s: Stats, ms: number): string {
  return `${name.padEnd(9)} ${fmt(s.inputs).padStart(10)} ${fmt(s.parses).padStart(10)} ${(s.bytes / 1e6).toFixed(1).padStart(8)} ${pct(s.accepted, s.inputs).padStart(9)} ${pct(s.rejected, s.inputs).padStart(9)} ${pct(s.incomplete, s.inputs).padStart(11)} ${s.maxMs.toFixed(1).padStart(7)} ${(ms / 1000).toFixed(1).padStart(8)}`;
}

async function main(): Promise<number> {
  const total = Number(arg("--inputs") ?? 1_000_000);
  const parsers = (arg("--parsers")?.split(",") ?? [...PARSER_NAMES]) as ParserName[];
  for (const p of parsers) if (!PARSER_NAMES.includes(p)) throw new RangeError(`Unknown parser "${p}"; expected ${PARSER_NAMES.join(", ")}`);
  const seed = Number(arg("--seed") ?? Date.now() % 2 ** 31);
  const jobs = Math.max(1, Number(arg("--jobs") ?? Math.min(parsers.length, navigator.hardwareConcurrency || 2)));
  const guardMs = Number(arg("--guard-ms") ?? 1000);
  const hangMs = Number(arg("--hang-ms") ?? 15_000);
  const per = Math.ceil(total / parsers.length);
  const runtime = "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : "node";
  console.log(`fuzzing ${parsers.join(", ")}: ${fmt(per)} inputs each, seed ${seed}, ${jobs} worker(s), ${runtime}, per-input guard ${guardMs} ms, hang watchdog ${hangMs} ms`);
  const t0 = performance.now();
  const reports: Report[] = [];
  const failures: string[] = [];
  const queue = [...parsers];
  const lane = async () => {
    for (let p = queue.shift(); p !== undefined; p = queue.shift()) {
      try {
        const r = await runWorker(p, per, seed, guardMs, hangMs);
        reports.push(r);
        console.log(`  ${p}: ${fmt(r.stats.inputs)} inputs in ${(r.ms / 1000).toFixed(1)} s${r.failure ? " — FAILED" : ""}`);
        if (r.failure) failures.push(`${p}: ${r.failure}`);
      } catch (e) {
        failures.push(e instanceof Error ? e.message : String(e));
      }
    }
  };
  await Promise.all(Array.from({ length: jobs }, lane));
  const wall = performance.now() - t0;
  console.log("\nparser        inputs     parses       MB  accepted  rejected  incomplete  max ms  seconds");
  const sum: Stats = newStats();
  for (const name of parsers) {
    const r = reports.find((x) => x.parser === name);
    if (!r) continue;
    console.log(line(name, r.stats, r.ms));
    for (const k of ["inputs", "parses", "bytes", "accepted", "rejected", "incomplete"] as const) sum[k] += r.stats[k];
    if (r.stats.maxMs > sum.maxMs) {
      sum.maxMs = r.stats.maxMs;
      sum.maxMsBytes = r.stats.maxMsBytes;
    }
  }
  console.log(line("total", sum, wall));
  console.log(`slowest input: ${sum.maxMs.toFixed(1)} ms for ${fmt(sum.maxMsBytes)} bytes (whole + split${sum.maxMsBytes <= 4096 ? " + maybe byte-at-a-time" : ""})`);
  console.log(`\n${fmt(sum.inputs)} inputs (${fmt(sum.parses)} parser runs) in ${(wall / 1000).toFixed(1)} s wall clock, seed ${seed}: ${failures.length === 0 ? "no failures" : `${failures.length} FAILURE(S)`}`);
  for (const f of failures) console.log(`\n${f}`);
  return failures.length === 0 ? 0 : 1;
}

process.exitCode = await main();
