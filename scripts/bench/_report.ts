/**
 * The benchmark report: one row per figure, the issue's target beside it with ✓/✗ and the
 * factor (achieved ÷ needed, so ≥ 1.00× meets the target), per runtime, as a Markdown
 * table (also printed), plus the machine facts and the docs/performance.md update.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { GatewayRuntime } from "./_gateway.ts";

/** A target from the issue: the value must be ≥ or ≤ `value` (in the row's unit). */
export interface Target {
  readonly op: ">=" | "<=";
  readonly value: number;
  readonly text: string;
}

/** One figure of the report. */
export interface Row {
  readonly workload: string;
  readonly metric: string;
  readonly direct?: string;
  /** The figure compared with the target and between runtimes. */
  readonly values: Partial<Record<GatewayRuntime, number>>;
  /** How the figure is shown (defaults to `values` formatted with `digits`). */
  readonly shown?: Partial<Record<GatewayRuntime, string>>;
  readonly digits?: number;
  readonly target?: Target;
  /** Lower is better (costs); false for throughput-like figures. */
  readonly lowerIsBetter: boolean;
  /** Compare Deno with Bun on this row (the issue: Deno within 1.5× of Bun). */
  readonly compare?: boolean;
  /** What the established proxies reach, from the issue. */
  readonly others?: string;
}

/** Median of the finite values (NaN when there are none). */
export function median(values: readonly number[]): number {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** A number with `digits` decimals and thousands separators ("—" when unknown). */
export function fmt(v: number | undefined, digits = 0): string {
  if (v === undefined || !Number.isFinite(v)) return "—";
  return v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function verdict(v: number | undefined, t: Target | undefined): string {
  if (t === undefined || v === undefined) return "";
  if (!Number.isFinite(v)) return `${t.text} ?`;
  const factor = t.op === ">=" ? v / t.value : t.value / v;
  const ok = t.op === ">=" ? v >= t.value : v <= t.value;
  return `${t.text} ${ok ? "✓" : "✗"} ${factor.toFixed(2)}×`;
}

function versusBun(row: Row): string {
  const bun = row.values.bun;
  const deno = row.values.deno;
  if (row.compare === false || bun === undefined || deno === undefined || !Number.isFinite(bun) || !Number.isFinite(deno)) return "";
  if (bun <= 0 || deno <= 0) return "";
  const cost = row.lowerIsBetter ? deno / bun : bun / deno;
  return `${cost.toFixed(2)}× ${cost <= 1.5 ? "✓" : "✗"}`;
}

const HEADER = ["workload", "metric", "direct", "Bun", "Bun vs target", "Deno", "Deno vs target", "Deno cost ÷ Bun (≤ 1.5×)", "established proxies"];

/** The report rows as a Markdown table, columns padded so it also reads as plain text. */
export function markdownTable(rows: readonly Row[]): string {
  const cells = rows.map((r) => [
    r.workload,
    r.metric,
    r.direct ?? "",
    r.shown?.bun ?? fmt(r.values.bun, r.digits),
    verdict(r.values.bun, r.target),
    r.shown?.deno ?? fmt(r.values.deno, r.digits),
    verdict(r.values.deno, r.target),
    versusBun(r),
    r.others ?? "",
  ]);
  const widths = HEADER.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[]) => `| ${c.map((x, i) => x.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(HEADER), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...cells.map(line)].join("\n");
}

function tryRun(cmd: string, args: readonly string[]): string {
  try {
    return execFileSync(cmd, [...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "?";
  }
}

/** Machine and software facts for the report header. */
export function machineFacts(bin: string): string[] {
  let cpu = "?";
  let mhz = "";
  try {
    const info = readFileSync("/proc/cpuinfo", "utf8");
    cpu = /^model name\s*:\s*(.*)$/m.exec(info)?.[1] ?? "?";
    const m = /^cpu MHz\s*:\s*([\d.]+)$/m.exec(info);
    if (m) mhz = `, ${Math.round(Number(m[1]))} MHz`;
  } catch {
    // not Linux
  }
  const mem = /^Mem:\s+(\d+)/m.exec(tryRun("free", ["-m"]))?.[1];
  return [
    `CPU: ${cpu}${mhz}, nproc ${tryRun("nproc", [])}; memory ${mem ? `${(Number(mem) / 1024).toFixed(1)} GiB` : "?"} (free -m); kernel ${tryRun("uname", ["-r"])}`,
    `Runtimes: Bun ${tryRun(`${bin}/bun`, ["--version"])}, Deno ${tryRun(`${bin}/deno`, ["--version"]).split("\n")[0]?.replace(/^deno /, "").replace(/ \(.*\)$/, "")}` +
    `; origin and load generator: Node ${tryRun("node", ["--version"])}, ${tryRun("curl", ["--version"]).split("\n")[0]?.split(" ").slice(0, 2).join(" ")}`,
  ];
}

const BEGIN = "<!-- bench:begin (generated by scripts/bench/run.ts; edit outside these markers) -->";
const END = "<!-- bench:end -->";

/**
 * Writes `generated` into `file` between the bench markers, keeping everything outside
 * them (the hand-written analysis); creates the file with a title when it does not exist.
 */
export function writeReport(file: string, generated: string): void {
  const block = `${BEGIN}\n${generated.trim()}\n${END}`;
  let text = existsSync(file) ? readFileSync(file, "utf8") : `# Performance\n\n${BEGIN}\n${END}\n`;
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  text = a >= 0 && b > a ? text.slice(0, a) + block + text.slice(b + END.length) : `${text.trimEnd()}\n\n${block}\n`;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
}
