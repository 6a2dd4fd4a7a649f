/**
 * The raw per-round results of the suite and the report rows built from them, with the
 * issue's targets (Bun; Deno within 1.5× of Bun) and what established proxies reach.
 *
 * @module
 */
import type { GatewayRuntime } from "./_gateway.ts";
import { fmt, median, type Row, type Target } from "./_report.ts";
import type { RequestRate } from "./_workloads.ts";

interface Throughput {
  readonly direct: number[];
  readonly gw: number[];
  readonly cpuPerGiB: number[];
}

type Rates = Record<"direct" | "tunnel" | "decrypt", RequestRate[]>;

/** Everything measured for one runtime, per round. */
export interface RuntimeResults {
  readonly throughput: Record<"a" | "b" | "c" | "d", Throughput>;
  readonly newconn: Rates;
  readonly keepalive: Rates;
  readonly idle: Record<"tunnel" | "decrypt", number[]>;
  /** KiB per connection of a second batch as large, opened with the first still open. */
  readonly idleNext: Record<"tunnel" | "decrypt", number[]>;
  readonly mint: { coldMs: number; issueMs: number; warmUs: number };
  readonly policy: { compileMs: number; lookupNs: number };
}

export function emptyResults(): RuntimeResults {
  const tp = (): Throughput => ({ direct: [], gw: [], cpuPerGiB: [] });
  return {
    throughput: { a: tp(), b: tp(), c: tp(), d: tp() },
    newconn: { direct: [], tunnel: [], decrypt: [] },
    keepalive: { direct: [], tunnel: [], decrypt: [] },
    idle: { tunnel: [], decrypt: [] },
    idleNext: { tunnel: [], decrypt: [] },
    mint: { coldMs: NaN, issueMs: NaN, warmUs: NaN },
    policy: { compileMs: NaN, lookupNs: NaN },
  };
}

const ge = (value: number, text: string): Target => ({ op: ">=", value, text });
const le = (value: number, text: string): Target => ({ op: "<=", value, text });

const RUNTIMES: readonly GatewayRuntime[] = ["bun", "deno"];

/** `pick` applied to each runtime's results (absent runtimes stay absent). */
function per(results: ReadonlyMap<GatewayRuntime, RuntimeResults>, pick: (r: RuntimeResults) => number): Partial<Record<GatewayRuntime, number>> {
  const out: Partial<Record<GatewayRuntime, number>> = {};
  for (const rt of RUNTIMES) {
    const r = results.get(rt);
    if (r) out[rt] = pick(r);
  }
  return out;
}

function perText(results: ReadonlyMap<GatewayRuntime, RuntimeResults>, show: (r: RuntimeResults) => string): Partial<Record<GatewayRuntime, string>> {
  const out: Partial<Record<GatewayRuntime, string>> = {};
  for (const rt of RUNTIMES) {
    const r = results.get(rt);
    if (r) out[rt] = show(r);
  }
  return out;
}

/** All direct medians across runtimes (the direct baseline is runtime-independent). */
function directText(results: ReadonlyMap<GatewayRuntime, RuntimeResults>, pick: (r: RuntimeResults) => number, unit: string, digits = 0): string {
  return [...results.values()].map((r) => fmt(pick(r), digits)).join(" / ") + ` ${unit}`;
}

const THROUGHPUT: readonly { key: "a" | "b" | "c" | "d"; workload: string; target: Target; others: string; tunnel: boolean }[] = [
  { key: "a", workload: "(a) CONNECT tunnel", target: ge(90, "≥ 90%"), others: "52–82%", tunnel: true },
  { key: "b", workload: "(b) explicit decryption", target: ge(56, "≥ 56%"), others: "14–30%", tunnel: false },
  { key: "c", workload: "(c) transparent splice", target: ge(90, "≥ 90%"), others: "52–82% (tunnel)", tunnel: true },
  { key: "d", workload: "(d) transparent decryption", target: ge(56, "≥ 56%"), others: "14–30% (decryption)", tunnel: false },
];

/** The report rows (both runtimes side by side); `sizeMiB` and `idle` name the download size and idle count. */
export function buildRows(results: ReadonlyMap<GatewayRuntime, RuntimeResults>, sizeMiB: number, idle: number): Row[] {
  const rows: Row[] = [];
  const size = sizeMiB >= 1024 ? `${sizeMiB / 1024} GiB` : `${sizeMiB} MiB`;
  for (const t of THROUGHPUT) {
    if (![...results.values()].some((r) => r.throughput[t.key].gw.length > 0)) continue;
    const pct = (r: RuntimeResults) => (median(r.throughput[t.key].gw) / median(r.throughput[t.key].direct)) * 100;
    rows.push({
      workload: `${t.workload}, ${size} download`,
      metric: "throughput, % of direct",
      direct: directText(results, (r) => median(r.throughput[t.key].direct), "MB/s"),
      values: per(results, pct),
      shown: perText(results, (r) => `${fmt(median(r.throughput[t.key].gw))} MB/s · ${fmt(pct(r))}%`),
      target: t.target,
      lowerIsBetter: false,
      others: t.others,
    });
    rows.push({
      workload: "",
      metric: "gateway CPU-s per GiB",
      values: per(results, (r) => median(r.throughput[t.key].cpuPerGiB)),
      digits: 2,
      lowerIsBetter: true,
    });
  }
  for (const kind of ["newconn", "keepalive"] as const) {
    for (const path of ["tunnel", "decrypt"] as const) {
      const rates = (r: RuntimeResults) => r[kind][path];
      if (![...results.values()].some((r) => rates(r).length > 0)) continue;
      const direct = (r: RuntimeResults) => r[kind].direct;
      const m = (list: readonly RequestRate[], f: (x: RequestRate) => number) => median(list.map(f));
      const workload = kind === "newconn"
        ? `(e) new connection per request, ${path === "tunnel" ? "tunnel" : "decryption"} (50 concurrent)`
        : `(f) keep-alive, ${path === "tunnel" ? "tunnel" : "decryption"} (50 connections)`;
      const errors = (r: RuntimeResults) => rates(r).reduce((n, x) => n + x.errors, 0);
      rows.push({
        workload,
        metric: "requests/s, % of direct",
        direct: directText(results, (r) => m(direct(r), (x) => x.rps), "req/s"),
        values: per(results, (r) => (m(rates(r), (x) => x.rps) / m(direct(r), (x) => x.rps)) * 100),
        shown: perText(results, (r) => `${fmt(m(rates(r), (x) => x.rps))} · ${fmt((m(rates(r), (x) => x.rps) / m(direct(r), (x) => x.rps)) * 100)}%${errors(r) ? ` (${errors(r)} errors)` : ""}`),
        lowerIsBetter: false,
      });
      if (kind === "newconn") {
        rows.push({
          workload: "",
          metric: "latency p50 / p99, ms",
          direct: [...results.values()].map((r) => `${fmt(m(direct(r), (x) => x.p50Ms), 1)} / ${fmt(m(direct(r), (x) => x.p99Ms), 1)}`).join("; "),
          values: per(results, (r) => m(rates(r), (x) => x.p50Ms)),
          shown: perText(results, (r) => `${fmt(m(rates(r), (x) => x.p50Ms), 1)} / ${fmt(m(rates(r), (x) => x.p99Ms), 1)}`),
          lowerIsBetter: true,
          compare: false,
        });
      }
      const target = kind === "newconn" ? (path === "tunnel" ? le(300, "≤ 300") : le(800, "≤ 800")) : (path === "tunnel" ? le(40, "≤ 40") : le(90, "≤ 90"));
      rows.push({
        workload: "",
        metric: "gateway µs CPU per request",
        values: per(results, (r) => m(rates(r), (x) => x.cpuUs)),
        target,
        lowerIsBetter: true,
        others: path === "decrypt" ? (kind === "newconn" ? "1,500–7,500" : "170–1,400") : "",
      });
    }
  }
  for (const path of ["tunnel", "decrypt"] as const) {
    if (![...results.values()].some((r) => r.idle[path].length > 0)) continue;
    rows.push({
      workload: `(g) idle ${path === "tunnel" ? "tunnels" : "intercepted connections"} (${fmt(idle)})`,
      metric: "gateway RSS KiB per connection",
      values: per(results, (r) => median(r.idle[path])),
      digits: 1,
      target: path === "tunnel" ? le(16, "≤ 16") : le(40, "≤ 40"),
      lowerIsBetter: true,
      others: path === "tunnel" ? "20–45" : "70–150",
    });
    rows.push({
      workload: "",
      metric: `the next ${fmt(idle)}, KiB per connection (first still open)`,
      values: per(results, (r) => median(r.idleNext[path])),
      digits: 1,
      lowerIsBetter: true,
    });
  }
  if ([...results.values()].some((r) => Number.isFinite(r.mint.coldMs))) {
    rows.push({ workload: "(h) leaf mint (ECDSA P-256)", metric: "cold mint p50, ms (cache miss)", values: per(results, (r) => r.mint.coldMs), digits: 3, target: le(1, "≤ 1 ms"), lowerIsBetter: true });
    rows.push({ workload: "", metric: "warm p50, µs (cache hit)", values: per(results, (r) => r.mint.warmUs), digits: 2, lowerIsBetter: true });
  }
  if ([...results.values()].some((r) => Number.isFinite(r.policy.compileMs))) {
    rows.push({ workload: "(i) policy, 1,000,000 FQDN rules", metric: "compile, ms", values: per(results, (r) => r.policy.compileMs), target: le(2000, "< 2,000"), lowerIsBetter: true });
    rows.push({ workload: "", metric: "lookup, ns", values: per(results, (r) => r.policy.lookupNs), target: le(1000, "≤ 1,000"), lowerIsBetter: true });
  }
  return rows;
}
